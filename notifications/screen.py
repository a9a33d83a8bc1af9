"""Data for the Activity screen in the admin."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from notifications.models import ActivityError, ActivityIssue, BackgroundJob

SHOWN = 50


def activity_context(request: HttpRequest) -> dict[str, Any]:
    tab = request.GET.get("tab", "errors")
    if tab not in ("errors", "issues", "jobs"):
        tab = "errors"
    return {
        "tab": tab,
        "errors": ActivityError.objects.exclude(status=ActivityError.Status.RESOLVED)[:SHOWN],
        "issues": ActivityIssue.objects.filter(status=ActivityIssue.Status.OPEN)[:SHOWN],
        "jobs": BackgroundJob.objects.all()[:SHOWN],
        "counts": {
            "errors": ActivityError.objects.filter(status=ActivityError.Status.OPEN).count(),
            "ignored": ActivityError.objects.filter(status=ActivityError.Status.IGNORED).count(),
            "issues": ActivityIssue.objects.filter(status=ActivityIssue.Status.OPEN).count(),
            "jobs_running": BackgroundJob.objects.filter(status=BackgroundJob.Status.RUNNING).count(),
        },
    }
