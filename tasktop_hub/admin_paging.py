"""Admin lists of tables that grow without bound (artifact pairs, Activity, the audit trail).

Django's admin counts every matching row on every page (twice when filtered: the match count and
the table's full count). At 100,000 pairs that count is most of a page's time. These lists count
at most ``COUNT_CAP`` rows — a bounded query whatever the table's size — and do not show the
full count; past the cap, narrow the list with its filters or search.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if hasattr(rows, "order_by") and hasattr(rows, "values"):
            # COUNT(*) over a LIMIT subquery: reads at most COUNT_CAP index entries.
            return rows.order_by().values("pk")[:COUNT_CAP].count()
        return min(len(rows), COUNT_CAP)


class LargeTableAdminMixin:
    """For a ModelAdmin whose table grows without bound: no full count, a capped page count."""

    show_full_result_count = False
    paginator: Any = CappedCountPaginator

