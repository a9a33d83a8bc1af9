"""The runtime settings, each declared once.

A declaration names the setting, its type, default, bounds, help text and Settings section;
everything else is derived from :data:`SETTINGS`:

* the model column (``HubSettings``: ``model_field()``) and its validation (the bound);
* the admin form (``settings_app/admin.py``), the API serializer (``settings_app/api``);
* ``manage.py hub_settings show|set`` (its options and its output);
* the Settings screen's "Configuration" panel and the audit of each change
  (``settings_app/services.py``).

Adding a setting is one declaration here, one column in ``HubSettings`` from
``model_field()``, and a migration (``manage.py makemigrations settings_app``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

from settings_app import limits


@dataclass(frozen=True)
class RuntimeSetting:
    name: str
    type: type  # int, bool or str
    default: Any
    label: str  # as the Settings screen and the command show it
    help_text: str
    section: str  # a Settings panel key (tasktop_hub.panels.SECTIONS)
    bound: limits.Bound | None = None
    # The bound's validator function by name: migrations reference it, so it must stay importable.
    validator: Callable[[Any], None] | None = None
    max_length: int = 0  # text settings
    verbose_name: str | None = None  # the model field's, when it differs from the name
    # The command's switches for a boolean setting: (turn on, turn off).
    switches: tuple[str, str] | None = None
    display: Callable[[Any], str] = str

    @property
    def option(self) -> str:
        """The command's option, e.g. ``--change-detection-interval``."""
        return "--" + self.name.replace("_", "-")

    def model_field(self) -> models.Field[Any, Any]:
        validators = [self.validator] if self.validator else []
        help_text = self.help_text + (f"; {self.bound.allowed()}." if self.bound else "")
        if self.type is bool:
            return models.BooleanField(default=self.default, help_text=help_text)
        if self.type is int:
            return models.PositiveIntegerField(self.verbose_name, default=self.default, validators=validators,
                                               help_text=help_text)
        # No default: an empty text is the column's natural "unset" (blank=True).
        return models.CharField(self.verbose_name, max_length=self.max_length, blank=True, help_text=help_text)


def _seconds(value: int) -> str:
    return limits.describe_seconds(value)


SETTINGS: tuple[RuntimeSetting, ...] = (
    RuntimeSetting(
        "instance_label", str, "", "Instance label",
        "Shown in the admin header and in emails, e.g. 'Production' or 'Test'.", "polling", max_length=100,
        display=lambda v: v or "—",
    ),
    RuntimeSetting(
        "change_detection_interval", int, 60, "Change detection interval", "Seconds between change-detection polls",
        "polling", bound=limits.CHANGE_DETECTION, validator=limits.validate_change_detection, display=_seconds,
    ),
    RuntimeSetting(
        "full_scan_enabled", bool, True, "Full scans",
        "Turn full scans off everywhere unless an override turns them on.", "polling",
        switches=("--enable-full-scan", "--disable-full-scan"), display=lambda v: "Enabled" if v else "Disabled",
    ),
    RuntimeSetting(
        "full_scan_interval", int, 86_400, "Full scan interval", "Seconds between full scans", "polling",
        bound=limits.FULL_SCAN, validator=limits.validate_full_scan, display=_seconds,
    ),
    RuntimeSetting(
        "max_concurrency", int, 10, "Integration maximum concurrency", "Artifacts of one integration processed at once",
        "polling", bound=limits.CONCURRENCY, validator=limits.validate_concurrency,
        verbose_name="integration maximum concurrency",
    ),
)

BY_NAME = {s.name: s for s in SETTINGS}
NAMES = tuple(BY_NAME)


def in_section(section: str) -> list[RuntimeSetting]:
    return [s for s in SETTINGS if s.section == section]
