"""Thin django-q2 entry points of the engine. Arguments are ids only."""

from __future__ import annotations

from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.tasks import async_task

from integrations.engine import dispatch, runner
from notifications import jobs
from tasktop_hub import shutdown


def run_integration(integration_id: int) -> dict:
    return runner.run_integration(integration_id)


def _run_task_name(integration_id: int) -> str:
    return f"sync-{integration_id}"


def _enqueue_run(integration_id: int) -> None:
    async_task("integrations.tasks.run_integration", integration_id, task_name=_run_task_name(integration_id))


def run_waiting(integration_ids: list[int]) -> set[int]:
    """Of these integrations (each with an enqueued run that never started), those whose run
    task still waits in the queue, not yet claimed by a worker.

    A claimed copy (locked for the broker's ``retry``, an hour) belongs to a worker that died
    before the run took its lease — or, rarely, to a busy cluster's prefetch: it is dropped
    either way, since a live worker still runs the copy it holds and a dead one's would only
    replay an hour later.
    """
    broker = get_broker()
    if not isinstance(broker, ORM):
        return set()
    now, wanted, found = timezone.now(), {_run_task_name(i): i for i in integration_ids}, set()
    for message in broker.get_connection().filter(key=broker.list_key):
        integration_id = wanted.get(message.name())
        if integration_id is None:
            continue
        if message.lock is not None and message.lock > now:
            broker.get_connection().filter(pk=message.pk, lock=message.lock).delete()
        else:
            found.add(integration_id)
    return found


def _enqueue_scan(integration_id: int) -> None:
    from integrations.engine.jobs import SCAN_KIND

    jobs.enqueue(SCAN_KIND, {"integration_id": integration_id})


def dispatcher_tick() -> bool:
    """Loop as the dispatcher if nobody else does, then hand over to a successor task."""
    looped = dispatch.dispatcher_loop(_enqueue_run, _enqueue_scan, waiting=run_waiting)
    # No successor from a stopping cluster: the next start kicks a new dispatcher anyway.
    if looped and not Conf.SYNC and not shutdown.requested():
        async_task("integrations.tasks.dispatcher_tick", task_name="engine-dispatcher")
    return looped


def prune_gateway_deliveries() -> int:
    """Daily: processed gateway deliveries older than HUB_GATEWAY_KEEP_DAYS go."""
    from integrations.gateway import services as gateway

    started = timezone.now()
    removed = gateway.prune_deliveries()
    if removed:
        jobs.record_periodic_run("periodic.gateway_prune", "Prune gateway deliveries", started,
                                 [f"{removed} processed deliveries older than {gateway.keep_days()} days removed."],
                                 {"removed": removed})
    return removed
