"""Thin django-q2 entry points of the engine. Arguments are ids only."""

from __future__ import annotations

from django_q.conf import Conf
from django_q.tasks import async_task

from integrations.engine import dispatch, runner
from notifications import jobs


def run_integration(integration_id: int) -> dict:
    return runner.run_integration(integration_id)


def _enqueue_run(integration_id: int) -> None:
    async_task("integrations.tasks.run_integration", integration_id, task_name=f"sync-{integration_id}")


def _enqueue_scan(integration_id: int) -> None:
    from integrations.engine.jobs import SCAN_KIND

    jobs.enqueue(SCAN_KIND, {"integration_id": integration_id})


def dispatcher_tick() -> bool:
    """Loop as the dispatcher if nobody else does, then hand over to a successor task."""
    looped = dispatch.dispatcher_loop(_enqueue_run, _enqueue_scan)
    if looped and not Conf.SYNC:
        async_task("integrations.tasks.dispatcher_tick", task_name="engine-dispatcher")
    return looped
