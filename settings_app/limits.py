"""Allowed ranges of the polling and concurrency settings, shared by every level.

The same bounds apply to the global value and to connection and integration overrides,
so an override can never reach a value the global setting would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError


def describe_seconds(seconds: int) -> str:
    # Whole days only from two days up: "24 hours" reads better than "1 day" for a scan interval.
    for unit, size, floor in (("day", 86400, 2 * 86400), ("hour", 3600, 3600), ("minute", 60, 60)):
        if seconds % size == 0 and seconds >= floor:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@dataclass(frozen=True)
class Bound:
    label: str
    minimum: int
    maximum: int
    unit: str = "seconds"

    def check(self, value: int | None) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{self.label} must be a whole number of {self.unit}.")
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(f"{self.label} must be {self.allowed()}; got {value}.")

    def allowed(self) -> str:
        if self.unit == "seconds":
            return (
                f"between {self.minimum} and {self.maximum} seconds "
                f"({describe_seconds(self.minimum)} to {describe_seconds(self.maximum)})"
            )
        return f"between {self.minimum} and {self.maximum} {self.unit}"


# Below 10 s a poll costs more than it buys and no tool we connect to updates faster;
# above a day change detection stops being "change detection".
CHANGE_DETECTION = Bound("Change detection interval", 10, 86_400)
# A full scan re-reads every pair; more often than every 5 minutes is a denial of service
# against the connected tools, less often than monthly leaves missed changes unrepaired.
FULL_SCAN = Bound("Full scan interval", 300, 30 * 86_400)
# Each unit is one artifact in flight; 100 is well past what any tool's rate limit allows.
CONCURRENCY = Bound("Integration maximum concurrency", 1, 100, unit="artifacts")


def validate_change_detection(value: int | None) -> None:
    CHANGE_DETECTION.check(value)


def validate_full_scan(value: int | None) -> None:
    FULL_SCAN.check(value)


def validate_concurrency(value: int | None) -> None:
    CONCURRENCY.check(value)


def bound_kwargs(bound: Bound) -> dict[str, Any]:
    """Serializer kwargs giving a field its bound, so the OpenAPI schema states it
    (minimum/maximum) and a request outside it is refused as the schema says."""
    message = f"{bound.label} must be {bound.allowed()}."
    # The model field's own bound validator is left out: it would report the same problem twice.
    return {"min_value": bound.minimum, "max_value": bound.maximum, "validators": [],
            "error_messages": {"min_value": message, "max_value": message}}


def api_bounds(*names: str) -> dict[str, dict[str, Any]]:
    """``extra_kwargs`` for the override fields of connections and integrations."""
    table = {"change_detection_interval": CHANGE_DETECTION, "full_scan_interval": FULL_SCAN,
             "max_concurrency": CONCURRENCY}
    return {name: bound_kwargs(table[name]) for name in names}
