"""The Activity screen in the admin (``/admin/activity/``): errors, issues and background jobs.

Each tab filters (integration, status, kind, dates) and pages by cursor on the same orderings
and indexes as the API (notifications/models.py, tasktop_hub/keyset.py), so a page costs the
same on the first day and at a million rows. Its actions (bulk retry/ignore, cancel) and the
jobs' live progress are views in notifications/views.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifications import jobs, screen_rows
from notifications.models import ActivityError, ActivityIssue, BackgroundJob
from tasktop_hub import keyset, roles

SHOWN = 50
TAB_COUNT_CAP = 1000

# The integrations' ids and names for the integration filter, from the app that owns them
# (integrations/apps.py): this app sits below it and may not import it.
_integration_names: list[Callable[[], list[tuple[int, str]]]] = []


def register_integration_names(provider: Callable[[], list[tuple[int, str]]]) -> None:
    _integration_names[:] = [provider]


def integration_names() -> list[tuple[int, str]]:
    return _integration_names[0]() if _integration_names else []


@dataclass(frozen=True)
class Tab:
    key: str
    model: type[Model]
    ordering: tuple[str, ...]
    time_field: str  # what the date filter and the "newest first" order use; never changes once written
    statuses: tuple[tuple[str, str], ...]
    default_status: str  # "" = any
    filters: tuple[str, ...] = field(default=())


TABS = {
    "errors": Tab("errors", ActivityError, ("-first_seen", "-id"), "first_seen",
                  tuple(ActivityError.Status.choices), ActivityError.Status.OPEN, ("integration",)),
    "issues": Tab("issues", ActivityIssue, ("-raised_at", "-id"), "raised_at",
                  tuple(ActivityIssue.Status.choices), ActivityIssue.Status.OPEN),
    "jobs": Tab("jobs", BackgroundJob, ("-created_at", "-id"), "created_at",
                tuple(BackgroundJob.Status.choices), "", ("kind",)),
}


def _capped_count(rows: QuerySet) -> str:
    """The tabs' counts: exact up to TAB_COUNT_CAP, then "1,000+" (four counts on every page; at a
    million errors an exact count of the open ones alone would read tens of thousands of entries)."""
    counted = rows.order_by().values("pk")[:TAB_COUNT_CAP].count()
    return f"{counted:,}+" if counted >= TAB_COUNT_CAP else f"{counted:,}"


def _day(raw: str, name: str, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name}: '{raw}' is not a date (YYYY-MM-DD); the filter was not applied.")
        return None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered(tab: Tab, params: Any, problems: list[str]) -> tuple[QuerySet, dict[str, str]]:
    """The tab's rows under the request's filters, and the filters as applied (for the form and links)."""
    rows = tab.model._default_manager.all()
    applied: dict[str, str] = {}
    status = params.get("status", tab.default_status)
    if status and status != "any":
        if status in dict(tab.statuses):
            rows = rows.filter(status=status)
        else:
            problems.append(f"Status: '{status}' is not one of this list's states; showing every state.")
            status = "any"
    applied["status"] = status or "any"
    if "integration" in tab.filters and params.get("integration"):
        raw = params["integration"]
        if raw.isdigit():
            rows = rows.filter(integration_id=int(raw))
            applied["integration"] = raw
        else:
            problems.append("Integration: choose one from the list.")
    if "kind" in tab.filters and params.get("kind"):
        rows = rows.filter(kind=params["kind"])
        applied["kind"] = params["kind"]
    since = _day(params.get("since", ""), "From", problems)
    until = _day(params.get("until", ""), "To", problems)
    if since:
        rows = rows.filter(**{f"{tab.time_field}__gte": _start_of(since)})
        applied["since"] = since.isoformat()
    if until:  # the whole day named
        rows = rows.filter(**{f"{tab.time_field}__lt": _start_of(until + timedelta(days=1))})
        applied["until"] = until.isoformat()
    return rows, applied


def activity_context(request: HttpRequest) -> dict[str, Any]:
    key = request.GET.get("tab", "errors")
    tab = TABS.get(key, TABS["errors"])
    problems: list[str] = []
    rows, applied = filtered(tab, request.GET, problems)
    try:
        page = keyset.page(rows, tab.ordering, SHOWN, request.GET.get("cursor"))
    except ValidationError:
        problems.append("That page link is not valid any more; showing the newest rows.")
        page = keyset.page(rows, tab.ordering, SHOWN, None)
    query = urlencode({"tab": tab.key, **applied})
    user = request.user
    context: dict[str, Any] = {
        "tab": tab.key,
        "rows": page.rows,
        "next_url": f"?{query}&{urlencode({'cursor': page.next})}" if page.next else "",
        "previous_url": f"?{query}&{urlencode({'cursor': page.previous})}" if page.previous else "",
        "first_url": f"?{query}" if page.previous else "",
        "current_url": request.get_full_path(),
        "applied": applied,
        "problems": problems,
        "statuses": tab.statuses,
        "integrations": integration_names() if "integration" in tab.filters else [],
        "kinds": sorted((cls.kind, cls.title) for cls in jobs.registered()) if tab.key == "jobs" else [],
        # Viewers look; integrators and administrators act (the services check no role: the views do).
        "can_act_on_errors": roles.has_role(user, roles.INTEGRATORS),
        "counts": {
            "errors": _capped_count(ActivityError.objects.filter(status=ActivityError.Status.OPEN)),
            "ignored": _capped_count(ActivityError.objects.filter(status=ActivityError.Status.IGNORED)),
            "issues": _capped_count(ActivityIssue.objects.filter(status=ActivityIssue.Status.OPEN)),
            "jobs_running": _capped_count(BackgroundJob.objects.filter(status=BackgroundJob.Status.RUNNING)),
        },
    }
    # The errors' and jobs' rows are built in Python (notifications/screen_rows.py: the same markup
    # as a template loop, for half the screen's CPU); the issues' rows in the template.
    if tab.key == "errors":
        context["row_html"] = screen_rows.error_rows(page.rows, context["can_act_on_errors"])
    elif tab.key == "jobs":
        context["cancellable"] = {job.pk for job in page.rows if jobs.may_cancel(job, user)}
        context["row_html"] = screen_rows.job_rows(request, page.rows, context["cancellable"], context["current_url"])
        # The newest job when the page was built: the screen's poll says when a newer one starts.
        context["newest_job"] = BackgroundJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return context
