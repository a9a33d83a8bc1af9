"""A small hub database with awkward values in many tables, for transfer tests."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from notifications import services as activity
from notifications.models import BackgroundJob
from tests.factories import StaffFactory

AWKWARD = "tab\there, newline\nthere, CR\r, backslash \\ and \\N, quote ' \" €, emoji 🙂, empty next"


def fill() -> dict[str, int]:
    users = [StaffFactory(username=f"admin{i}") for i in range(3)]
    for i in range(40):
        activity.record_audit(users[i % 3], "sample.change", f"thing:{i}", text=AWKWARD, n=i, nested={"a": [1, None]})
    for i in range(25):
        BackgroundJob.objects.create(kind="sample", title=AWKWARD if i % 2 else "", params={"i": i, "s": AWKWARD},
                                     log=AWKWARD * 3, result=None if i % 3 else {"ok": True},
                                     started_at=timezone.now() - dt.timedelta(minutes=i))
    from django_q.models import Task

    from tests.factories import ConnectionFactory

    # A django-q2 result (pickled column) and a connection secret (sealed column) travel as stored.
    Task.objects.create(id="a" * 32, name="sample", func="x.y", args=(1, AWKWARD), kwargs={"k": [1]},
                        result={"ok": AWKWARD}, started=timezone.now(), stopped=timezone.now(), success=True)
    ConnectionFactory(name="with-secret", secrets={"token": "s3cret-token-value"})
    from django.core.cache import cache

    cache.set("sample-key", {"value": AWKWARD}, 3600)
    return {"users": 3, "audit": 40, "jobs": 25, "tasks": 1, "connections": 1}
