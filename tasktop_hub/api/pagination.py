"""List paging for the whole API: ``?limit=`` and ``?offset=``, validated against documented bounds;
and cursor paging (``?cursor=``) for the lists that grow without bound (:class:`KeysetPagination`).

DRF's LimitOffsetPagination passes any positive integer to the query — a number beyond the 64-bit
range made the database fail (PostgreSQL ``bigint out of range``, SQLite overflow): a 500 for a
request that was only odd — and silently ignores text or negative values. Here each parameter is
an integer within the range the schema states (``limit`` 1 to ``MAX_LIMIT``, ``offset`` 0 to
``MAX_OFFSET``), and anything else is a 400 naming the parameter and the range.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


def _bounded(request: Request, name: str, low: int, high: int, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationError({name: [f"Must be a whole number from {low} to {high}."]})
    return value


class HubPagination(LimitOffsetPagination):
    default_limit = 100
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int:
        return _bounded(request, self.limit_query_param, 1, MAX_LIMIT, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return _bounded(request, self.offset_query_param, 0, MAX_OFFSET, 0)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            low, high = (1, MAX_LIMIT) if parameter["name"] == self.limit_query_param else (0, MAX_OFFSET)
            parameter["schema"] = {**parameter["schema"], "minimum": low, "maximum": high}
            parameter["description"] += f" From {low} to {high}; anything else is refused (400)."
        return parameters


# --- cursor (keyset) paging for the lists that grow without bound -----------------------------


class KeysetPagination(BasePagination):
    """``?limit=`` and ``?cursor=``: each page starts where the last one ended, by value, not by count.

    An offset page costs the database every row before it (at offset 99,900 of 100,000 pairs,
    4× the first page) and shifts when rows are inserted between two requests (a row seen twice
    or never). Here the view names a unique ordering (``keyset_ordering``, e.g. ``("-first_seen",
    "-id")``, backed by an index that starts with the list's filters) and the cursor carries the
    last row's values: the next page is ``WHERE (first_seen, id) < (…)`` — an index range, the same
    cost at any depth — and rows inserted meanwhile are never repeated or skipped. The ordering
    fields must not change once written (creation times and ids), or a changed row could move
    across the cursor. There is no total count (counting is the expensive part of a page).
    """

    limit_query_param = "limit"
    cursor_query_param = "cursor"
    default_limit = 100

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        if "offset" in request.query_params:
            raise ValidationError({"offset": ["This list pages by cursor: follow the 'next' link (or pass its "
                                              "'cursor'); offset paging is not offered here."]})
        self.request = request
        self.ordering: tuple[str, ...] = tuple(view.keyset_ordering)
        self.limit = _bounded(request, self.limit_query_param, 1, MAX_LIMIT, self.default_limit)
        position, backwards = self._decode(request.query_params.get(self.cursor_query_param), queryset.model)
        order = _flipped(self.ordering) if backwards else self.ordering
        rows = queryset.order_by(*order)
        if position is not None:
            rows = rows.filter(_beyond(order, position))
        page = list(rows[: self.limit + 1])
        more = len(page) > self.limit
        page = page[: self.limit]
        if backwards:
            page.reverse()
        # Going forward, "more" is rows after this page; going backwards, rows before it.
        has_next = more if not backwards else True
        has_previous = more if backwards else position is not None
        self._next = self._link(page[-1], False) if page and has_next else None
        self._previous = self._link(page[0], True) if page and has_previous else None
        return page

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self._next, "previous": self._previous, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {"type": "object", "required": ["results"],
                "properties": {"next": link, "previous": link, "results": schema}}

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": "Where the page starts: the value given in the previous page's 'next' or "
                            "'previous' link. Leave it out for the first page.",
             "schema": {"type": "string"}},
            {"name": self.limit_query_param, "required": False, "in": "query",
             "description": f"Rows per page, from 1 to {MAX_LIMIT} (default {self.default_limit}); "
                            "anything else is refused (400).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
        ]

    # -- cursor encoding --

    def _link(self, row: Any, backwards: bool) -> str:
        values = [_jsonable(getattr(row, name.lstrip("-"))) for name in self.ordering]
        token = base64.urlsafe_b64encode(json.dumps({"p": values, "b": backwards}).encode()).decode().rstrip("=")
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, token)

    def _decode(self, token: str | None, model: Any) -> tuple[list[Any] | None, bool]:
        if token is None:
            return None, False
        refused = ValidationError({self.cursor_query_param: [
            "Not a cursor of this list: use the 'next' or 'previous' link of a page as given."]})
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            values, backwards = data["p"], data["b"]
            if not isinstance(values, list) or len(values) != len(self.ordering) or not isinstance(backwards, bool):
                raise refused
            fields = [model._meta.get_field(name.lstrip("-")) for name in self.ordering]
            position = [None if v is None else f.to_python(v) for f, v in zip(fields, values, strict=True)]
        except (ValueError, TypeError, KeyError, DjangoValidationError):
            raise refused from None
        return position, backwards


def _flipped(ordering: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)


def _beyond(ordering: tuple[str, ...], position: list[Any]) -> Q:
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


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
