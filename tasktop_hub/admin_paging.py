"""Admin lists of tables that grow without bound (artifact pairs, Activity, the audit trail).

Django's admin counts every matching row on every page (twice when filtered: the match count and
the table's full count). At 100,000 pairs that count is most of a page's time. These lists count
at most ``COUNT_CAP`` rows — a bounded query whatever the table's size — and do not show the
full count; past the cap, narrow the list with its filters or search. Their columns do not sort
on a click (a sort of every matching row): they list in the model's indexed order. A filter by a
column's values (``indexed_values_filter``) reads its choices with a skip over the column's
index — one lookup per distinct value — instead of Django's ``SELECT DISTINCT`` of every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

if TYPE_CHECKING:
    from django.template.response import _TemplateForResponseT  # django-stubs' type of the admin's templates

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
    # Rendering the rows is most of such a page's time (bench/lists_bench.py: ~1 ms of CPU per row).
    list_per_page = 50
    sortable_by: ClassVar[list[str] | tuple[str, ...] | None] = ()
    # Django's changelist with the rows built by tasktop_hub/admin_rows.py (same HTML, a fraction of the CPU).
    change_list_template: ClassVar[_TemplateForResponseT | None] = "admin/hub_large_change_list.html"


def distinct_values(model: type[Model], column: str, limit: int = 200) -> list[str]:
    """The column's distinct values, each found by one index lookup ("loose index scan": the
    smallest value, then the smallest one above it, …). Needs an index that starts with the column;
    costs distinct values × log(rows), where ``SELECT DISTINCT`` reads every row."""
    connection = connections[model._default_manager.db]
    table, col = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(column)
    sql = (f"WITH RECURSIVE v(x, n) AS (SELECT MIN({col}), 1 FROM {table} UNION ALL "
           f"SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > v.x), n + 1 FROM v WHERE v.x IS NOT NULL AND n < %s) "
           "SELECT x FROM v WHERE x IS NOT NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


def indexed_values_filter(column: str, label: str) -> type[admin.SimpleListFilter]:
    """A list filter on ``column`` whose choices come from :func:`distinct_values`."""

    class IndexedValues(admin.SimpleListFilter):
        title = label
        parameter_name = column

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(value, value) for value in distinct_values(model_admin.model, column)]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            return queryset.filter(**{column: value}) if value else queryset

    return IndexedValues

