"""``{% hub_result_list cl %}``: Django's ``{% result_list cl %}`` with the rows built by
tasktop_hub/admin_rows.py (same HTML, a fraction of the CPU); used by the lists of unbounded
tables (templates/admin/hub_large_change_list.html)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.base import InclusionAdminNode

from tasktop_hub import admin_rows
from tasktop_hub.display import local_datetime

register = template.Library()


def hub_result_list(cl: Any) -> dict[str, Any]:
    fast = admin_rows.rows(cl)
    if fast is None:
        return admin_list.result_list(cl)
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],  # only a list_editable form has them, and then rows() is None
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        # Each row one item: the template joins a row's items inside its <tr>.
        "results": [admin_list.ResultList(None, [row]) for row in fast],
    }


@register.tag(name="hub_result_list")
def hub_result_list_tag(parser: Any, token: Any) -> InclusionAdminNode:
    # Called as Django's own result_list tag calls it (django-stubs list a 'name' argument it does not take).
    return InclusionAdminNode(parser, token, func=hub_result_list,  # type: ignore[call-arg]
                              template_name="change_list_results.html", takes_context=False)


@register.filter
def hub_datetime(value: Any) -> Any:
    """``{{ value|hub_datetime }}`` shows a datetime as ``{{ value }}`` does, formatted once per minute
    (tasktop_hub/display.py); anything else (None, "") passes through, for ``|default``."""
    return local_datetime(value) if isinstance(value, datetime) else value
