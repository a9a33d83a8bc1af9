"""Query-string filters of the API's lists, declared per view and documented in the OpenAPI schema.

A view lists its filters in ``list_filters`` and adds :class:`DeclaredFilters` to its
``filter_backends``. Each filter parses its parameter strictly (a whole number, one of the
choices, an ISO 8601 time): anything else is a 400 naming the parameter, never an ignored filter
that silently returns the whole list. The lists that grow without bound have a composite index
per filter that starts with the filtered column and ends with the list's cursor ordering, so a
filtered page is an index range too (their models' ``Meta.indexes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request


@dataclass(frozen=True)
class ListFilter:
    """``?param=value`` → ``queryset.filter(<lookup>=value)``.

    ``kind``: "int" (a whole number ≥ 1), "text" (exact match), "choice" (one of ``choices``),
    "time" (ISO 8601; a time without zone is taken as UTC).
    """

    param: str
    lookup: str
    kind: str
    description: str
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> Any:
        if self.kind == "int":
            if not raw.isdigit() or not 1 <= int(raw) <= 2**63 - 1:
                raise ValidationError({self.param: ["Must be a whole number (an id)."]})
            return int(raw)
        if self.kind == "choice":
            if raw not in self.choices:
                raise ValidationError({self.param: [f"Must be one of: {', '.join(self.choices)}."]})
            return raw
        if self.kind == "time":
            return _parse_time(self.param, raw)
        if not raw or len(raw) > 300:
            raise ValidationError({self.param: ["Must be 1 to 300 characters."]})
        return raw

    def schema(self) -> dict[str, Any]:
        types: dict[str, dict[str, Any]] = {
            "int": {"type": "integer", "minimum": 1},
            "choice": {"type": "string", "enum": list(self.choices)},
            "time": {"type": "string", "format": "date-time"},
            "text": {"type": "string", "minLength": 1, "maxLength": 300},
        }
        return {"name": self.param, "required": False, "in": "query", "description": self.description,
                "schema": types[self.kind]}


def _parse_time(param: str, raw: str) -> datetime:
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({param: ["Must be a time in ISO 8601, e.g. 2026-12-01T09:30:00Z."]})
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def since_until(field: str, what: str) -> tuple[ListFilter, ListFilter]:
    """The two ends of a date range on ``field``: ``since`` (inclusive) and ``until`` (exclusive)."""
    return (ListFilter("since", f"{field}__gte", "time", f"Only rows whose {what} is at or after this time."),
            ListFilter("until", f"{field}__lt", "time", f"Only rows whose {what} is before this time."))


class DeclaredFilters(BaseFilterBackend):
    """Applies the view's ``list_filters`` (only to lists, not to one object by id)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        for declared in getattr(view, "list_filters", ()):
            raw = request.query_params.get(declared.param)
            if raw is not None:
                queryset = queryset.filter(**{declared.lookup: declared.parse(raw)})
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [declared.schema() for declared in getattr(view, "list_filters", ())]
