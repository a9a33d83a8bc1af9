"""List pages from ``.values()`` rows, in the exact shape the view's serializer gives.

Measured on the cursor lists (bench/lists_bench.py): of a 100-row page's CPU, about half went into
building 100 model instances and running DRF's per-field machinery (``get_attribute``, the
serializer's field loop) for each — the SQL itself is well under a millisecond. For a list whose
serializer fields are plain columns (or a column of a related row, ``source="actor.username"``),
this reads only those columns as dictionaries and applies each field's own
``to_representation`` only where it changes the value (times, decimals); everything else is
copied. A field computed from columns (the jobs' ``percent``) is served from those columns when
the serializer names the function in ``values_computed`` (:class:`Computed`), the same function
the model's property calls. A serializer with any other kind of field (a method field, a property
not so named) is served the usual way. ``tests/tasktop_hub/test_fast_lists.py`` checks the output equals the serializer's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from rest_framework import fields as drf
from rest_framework import serializers
from rest_framework.relations import PrimaryKeyRelatedField
from rest_framework.request import Request
from rest_framework.response import Response

# Fields whose to_representation returns a column's value unchanged for the values a column holds.
_COPIED = (drf.CharField, drf.IntegerField, drf.BooleanField, drf.JSONField, drf.ChoiceField, drf.DictField,
           drf.ListField, drf.ReadOnlyField)
# Fields whose to_representation formats the value (kept, called per value).
_FORMATTED = (drf.DateTimeField, drf.DateField, drf.DecimalField, drf.FloatField, drf.UUIDField)


@dataclass(frozen=True)
class Computed:
    """A serializer field's value computed from columns: ``function(*columns' values)``."""

    columns: tuple[str, ...]
    function: Callable[..., Any]


@dataclass(frozen=True)
class Plan:
    columns: tuple[str, ...]  # for .values()
    # (name, column or Computed, formatter), in the serializer's field order
    output: tuple[tuple[str, str | Computed, Callable[[Any], Any] | None], ...]

    def row(self, values: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, source, fmt in self.output:
            value = values[source] if isinstance(source, str) else source.function(*[values[c] for c in source.columns])
            row[name] = value if fmt is None or value is None else fmt(value)
        return row


def plan_for(serializer: serializers.Serializer, model: Any) -> Plan | None:
    """How to build the serializer's output from columns, or None when it has a field that is
    neither a plain column nor named in the serializer's ``values_computed``."""
    output: list[tuple[str, str | Computed, Callable[[Any], Any] | None]] = []
    computed: dict[str, Computed] = getattr(serializer, "values_computed", {})
    for name, field in serializer.fields.items():
        source = field.source or name
        if field.write_only:
            continue
        if name in computed:
            if not all(_is_column(model, column) for column in computed[name].columns):
                return None
            output.append((name, computed[name], field.to_representation if isinstance(field, _FORMATTED) else None))
            continue
        if isinstance(field, PrimaryKeyRelatedField) and field.pk_field is None and "." not in source:
            try:
                column = model._meta.get_field(source).attname
            except FieldDoesNotExist:
                return None
            output.append((name, column, None))
            continue
        if isinstance(field, drf.SerializerMethodField) or not isinstance(field, _COPIED + _FORMATTED):
            return None
        column = source.replace(".", "__")
        if not _is_column(model, source):
            return None
        output.append((name, column, field.to_representation if isinstance(field, _FORMATTED) else None))
    columns = [column for _, source, _ in output
               for column in ((source,) if isinstance(source, str) else source.columns)]
    return Plan(tuple(dict.fromkeys(columns)), tuple(output))


def _is_column(model: Any, source: str) -> bool:
    """A concrete column of the model, or of a row reached by foreign keys (``actor.username``)."""
    *path, last = source.split(".")
    for step in path:
        try:
            relation = model._meta.get_field(step)
        except FieldDoesNotExist:
            return False
        if not (relation.many_to_one or relation.one_to_one) or relation.related_model is None:
            return False
        model = relation.related_model
    try:
        field = model._meta.get_field(last)
    except FieldDoesNotExist:
        return False
    # A plain column, or a foreign key's own column named by its attname ("actor_id").
    return bool(field.concrete) and (not field.is_relation or field.attname == last)


class ValuesListMixin:
    """``list`` from ``.values()`` rows when the serializer allows it (see the module's docstring)."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view: Any = self
        queryset = view.filter_queryset(view.get_queryset())
        plan = plan_for(view.get_serializer(), queryset.model)
        if plan is None:
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        ordering = [name.lstrip("-") for name in getattr(view, "keyset_ordering", ())]
        rows = view.paginate_queryset(queryset.values(*dict.fromkeys([*plan.columns, *ordering])))
        return view.get_paginated_response([plan.row(row) for row in rows])
