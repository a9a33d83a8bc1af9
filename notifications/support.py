"""Activity's part of the support and usage report (registered from notifications/apps.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from notifications.models import ActivityError, ActivityIssue, BackgroundJob


def usage() -> dict[str, Any]:
    return {
        "open_errors": ActivityError.objects.filter(status=ActivityError.Status.OPEN).count(),
        "ignored_errors": ActivityError.objects.filter(status=ActivityError.Status.IGNORED).count(),
        "open_issues": ActivityIssue.objects.filter(status=ActivityIssue.Status.OPEN).count(),
        "jobs_by_state": dict(BackgroundJob.objects.values_list("status").annotate(n=Count("pk")).order_by()),
    }


def register() -> None:
    from tasktop_hub import support

    support.register_section("usage_activity", usage)
