"""List paging for the whole API: ``?limit=`` and ``?offset=``, validated against documented bounds;
and cursor paging (``?cursor=``) for the lists that grow without bound (:class:`KeysetPagination`).

DRF's LimitOffsetPagination passes any positive integer to the query — a number beyond the 64-bit
range made the database fail (PostgreSQL ``bigint out of range``, SQLite overflow): a 500 for a
request that was only odd — and silently ignores text or negative values. Here each parameter is
an integer within the range the schema states (``limit`` 1 to ``MAX_LIMIT``, ``offset`` 0 to
``MAX_OFFSET``), and anything else is a 400 naming the parameter and the range.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from tasktop_hub import keyset

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
    """``?limit=`` and ``?cursor=`` on the view's unique, never-changing ``keyset_ordering``
    (tasktop_hub/keyset.py says why: the same cost at any depth, stable while rows arrive)."""

    limit_query_param = "limit"
    cursor_query_param = "cursor"
    default_limit = 100

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        if "offset" in request.query_params:
            raise ValidationError({"offset": ["This list pages by cursor: follow the 'next' link (or pass its "
                                              "'cursor'); offset paging is not offered here."]})
        self.request = request
        limit = _bounded(request, self.limit_query_param, 1, MAX_LIMIT, self.default_limit)
        try:
            self._page = keyset.page(queryset, tuple(view.keyset_ordering), limit,
                                     request.query_params.get(self.cursor_query_param))
        except DjangoValidationError:
            raise ValidationError({self.cursor_query_param: [keyset.BAD_CURSOR]}) from None
        return self._page.rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self._link(self._page.next), "previous": self._link(self._page.previous),
                         "results": data})

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, cursor)

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
