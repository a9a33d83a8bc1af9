"""Wiring: a dispatcher kick whenever a worker process starts, so a restarted cluster does not
wait for the ~30 s scheduler (the dispatcher's schedule is declared in integrations/apps.py)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

TICK_FUNC = "integrations.tasks.dispatcher_tick"


def kick_dispatcher(**kwargs: Any) -> None:
    from django.db import close_old_connections
    from django_q.conf import Conf
    from django_q.tasks import async_task

    if Conf.SYNC:
        return  # inline task execution (tests) also "spawns" a worker for every task

    try:
        close_old_connections()
        async_task(TICK_FUNC, task_name="engine-dispatcher")
    except Exception:
        log.exception("Could not kick the engine dispatcher")
