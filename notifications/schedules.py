"""Periodic housekeeping of the Activity app, scheduled through django-q2.

Schedules are created idempotently by name after every migrate, so upgrades and repeated
`make run`s never duplicate them.
"""

from __future__ import annotations

from typing import Any

SCHEDULES = {
    "notifications: fail abandoned jobs": {"func": "notifications.tasks.fail_abandoned_jobs", "minutes": 5},
}


def ensure_schedules(**kwargs: Any) -> None:
    from django_q.models import Schedule

    for name, spec in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": spec["func"], "schedule_type": Schedule.MINUTES, "minutes": spec["minutes"], "repeats": -1},
        )
