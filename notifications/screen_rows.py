"""The rows of the Activity screen's errors and jobs tables, built in Python.

In the template, a page of 50 rows was about 700 variable nodes (each resolved, localized and
escaped by the template engine): half of the screen's CPU (bench/lists_bench.py). These give the
same markup for the same rows (``tests/notifications/test_screen_rows.py`` renders the former
template rows and compares), with each value still localized and escaped Django's way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from notifications.models import ActivityError, BackgroundJob
from tasktop_hub.display import local_datetime

_PK = "98765432123456789"  # stands for a row's key in a URL reversed once per page


def _text(value: Any) -> str:
    """What ``{{ value }}`` writes: localized, then escaped."""
    return conditional_escape(localize(value))


def _moment(value: Any) -> str:
    """``{{ value|hub_datetime }}``: ``{{ value }}``'s text for a datetime, formatted once per minute."""
    return conditional_escape(local_datetime(value))


def _when(value: Any) -> str:
    """``{{ value|hub_datetime|default:"—" }}``."""
    return _moment(value) if value else "—"


def error_rows(errors: Iterable[ActivityError], can_act: bool) -> list[SafeString]:
    rows = []
    for e in errors:
        pk = _text(e.pk)
        select = (f'<td><input type="checkbox" name="ids" value="{pk}" aria-label="Select {_text(e.artifact)}"></td>'
                  if can_act else "")
        rows.append(mark_safe(
            f'<tr data-error="{pk}">\n  {select}\n'
            f"  <td>{_text(e.integration_name)}</td><td>{_text(e.artifact)}</td><td>{_text(e.message)}</td>"
            f'<td class="status">{_text(e.get_status_display())}</td>\n'
            f"  <td>{_text(e.occurrences)}×</td><td>{_moment(e.first_seen)}</td><td>{_moment(e.last_seen)}</td></tr>\n"))
    return rows


def job_rows(request: Any, jobs: Iterable[BackgroundJob], cancellable: set[int], current_url: str) \
        -> list[SafeString]:
    detail_url = reverse("admin:notifications_backgroundjob_change", args=[_PK])
    cancel_url = reverse("hub-activity-cancel", args=[_PK])
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{conditional_escape(get_token(request))}">'
    back = conditional_escape(current_url)
    rows = []
    for j in jobs:
        pk = _text(j.pk)
        cancel_requested = " (cancel requested)" if j.cancel_requested and not j.finished_at else ""
        total = j.progress_total
        figures = _text(j.progress_done) + (f" / {_text(total)}" if total is not None else "")
        percent = j.percent
        if percent is not None:
            figures += f" ({_text(percent)}%)"
        cancel = (f'<form method="post" action="{cancel_url.replace(_PK, str(j.pk))}">{csrf}'
                  f'<input type="hidden" name="next" value="{back}"><button type="submit">Cancel</button></form>'
                  if j.pk in cancellable else "")
        rows.append(mark_safe(
            f'<tr data-job="{pk}" data-finished="{"1" if j.finished_at else "0"}">\n'
            f'  <td><a href="{detail_url.replace(_PK, str(j.pk))}" title="Details and log">{_text(j.title)}</a></td>\n'
            f'  <td class="status">{_text(j.get_status_display())}{cancel_requested}</td>\n'
            f'  <td class="progress"><progress max="{_text(total or 1)}" '
            f'value="{_text(j.progress_done) if total else "0"}"></progress>\n'
            f'    <span class="figures">{figures}</span></td>\n'
            f'  <td>{_moment(j.created_at)}</td><td class="started">{_when(j.started_at)}</td>'
            f'<td class="finished">{_when(j.finished_at)}</td><td class="error">{_text(j.error)}</td>\n'
            f'  <td class="cancel">{cancel}</td></tr>\n'))
    return rows
