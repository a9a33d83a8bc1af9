"""List paging for the whole API: ``?limit=`` and ``?offset=``, validated against documented bounds.

DRF's LimitOffsetPagination passes any positive integer to the query — a number beyond the 64-bit
range made the database fail (PostgreSQL ``bigint out of range``, SQLite overflow): a 500 for a
request that was only odd — and silently ignores text or negative values. Here each parameter is
an integer within the range the schema states (``limit`` 1 to ``MAX_LIMIT``, ``offset`` 0 to
``MAX_OFFSET``), and anything else is a 400 naming the parameter and the range.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

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
