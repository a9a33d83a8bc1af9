"""Wiring: the dispatcher's django-q2 schedule (created idempotently by name after migrate)
and a dispatcher kick whenever a worker process starts (so a restarted cluster does not wait
for the ~30 s scheduler)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

SCHEDULE_NAME = "engine-dispatcher"
TICK_FUNC = "integrations.tasks.dispatcher_tick"


def ensure_schedule(**kwargs: Any) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": TICK_FUNC, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )


def kick_dispatcher(**kwargs: Any) -> None:
    from django.db import close_old_connections
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if Conf.SYNC:
        return  # inline task execution (tests) also "spawns" a worker for every task

    try:
        close_old_connections()
        async_task(TICK_FUNC, task_name="engine-dispatcher")
    except Exception:  # noqa: BLE001 — a worker must start even if the kick fails
        log.exception("Could not kick the engine dispatcher")
