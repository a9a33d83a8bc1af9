"""Periodic security check (django-q2 schedule, every 5 minutes; see licensing/apps.py).

Runs the master password and license blockers even when no integration is running, so an
expired license or a missing master password raises its Activity issue (and a renewed one
resolves it) without waiting for the engine.
"""

from __future__ import annotations

SCHEDULE_NAME = "security: master password and license"


def check_security_state() -> dict[str, str | None]:
    from licensing.services import license_blocker
    from settings_app.master_password import master_password_blocker

    return {"master_password": master_password_blocker(), "license": license_blocker()}


def ensure_schedule(**kwargs: object) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": "licensing.tasks.check_security_state", "schedule_type": Schedule.MINUTES, "minutes": 5,
                  "repeats": -1},
    )
