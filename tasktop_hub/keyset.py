"""Keyset ("cursor") pages of a query: each page starts where the last one ended, by value.

An offset page costs the database every row before it and shifts when rows are inserted between
two requests (a row seen twice, or never). A keyset page names a unique ordering — fields that
never change once written, e.g. ``("-first_seen", "-id")``, backed by an index that starts with
the list's filters — and the cursor carries the last row's values: the next page is
``WHERE (first_seen, id) < (…)``, an index range of the same cost at any depth, and rows inserted
meanwhile are neither repeated nor skipped. There is no total count (counting is the expensive
part of a page). Used by the API (``tasktop_hub.api.pagination.KeysetPagination``) and the admin's
Activity screen.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

BAD_CURSOR = "Not a cursor of this list: use the 'next' or 'previous' link of a page as given."


@dataclass
class Page:
    rows: list[Any]
    next: str | None  # the cursor of the following page, None at the end
    previous: str | None  # the cursor of the page before, None on the first page


def page(queryset: QuerySet, ordering: tuple[str, ...], limit: int, cursor: str | None) -> Page:
    """One page of ``queryset`` in ``ordering`` from ``cursor`` (None: the first page).

    Raises ``ValidationError`` (``BAD_CURSOR``) for a cursor this ordering did not give out.
    """
    position, backwards = _decode(cursor, ordering, queryset.model)
    order = _flipped(ordering) if backwards else ordering
    rows = queryset.order_by(*order)
    if position is not None:
        rows = rows.filter(beyond(order, position))
    found = list(rows[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    if backwards:
        found.reverse()
    # Going forward, "more" is rows after this page; going backwards, rows before it.
    has_next = more if not backwards else True
    has_previous = more if backwards else position is not None
    return Page(found,
                _encode(found[-1], ordering, False) if found and has_next else None,
                _encode(found[0], ordering, True) if found and has_previous else None)


def beyond(ordering: tuple[str, ...], position: list[Any]) -> Q:
    """Rows strictly after ``position`` in ``ordering`` (a lexicographic comparison, spelled so the
    database can use the ordering's index: a range on the first field, the rest as a tie-break)."""
    condition: Q | None = None
    for name, value in reversed(list(zip(ordering, position, strict=True))):
        field, op = (name[1:], "lt") if name.startswith("-") else (name, "gt")
        strict = Q(**{f"{field}__{op}": value})
        condition = strict if condition is None else strict | (Q(**{field: value}) & condition)
    first, first_value = ordering[0], position[0]
    field, op = (first[1:], "lte") if first.startswith("-") else (first, "gte")
    assert condition is not None
    return Q(**{f"{field}__{op}": first_value}) & condition


def _flipped(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)


def _encode(row: Any, ordering: tuple[str, ...], backwards: bool) -> str:
    # A model instance, or a dict from .values() (tasktop_hub/api/fast_lists.py).
    values = [row[name.lstrip("-")] if isinstance(row, dict) else getattr(row, name.lstrip("-")) for name in ordering]
    values = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps({"p": values, "b": backwards}).encode()).decode().rstrip("=")


def _decode(token: str | None, ordering: tuple[str, ...], model: Any) -> tuple[list[Any] | None, bool]:
    if token is None:
        return None, False
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values, backwards = data["p"], data["b"]
        if not isinstance(values, list) or len(values) != len(ordering) or not isinstance(backwards, bool):
            raise ValueError(token)
        fields = [model._meta.get_field(name.lstrip("-")) for name in ordering]
        return [None if v is None else f.to_python(v) for f, v in zip(fields, values, strict=True)], backwards
    except (ValueError, TypeError, KeyError, ValidationError):
        raise ValidationError(BAD_CURSOR) from None
