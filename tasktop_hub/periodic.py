"""Periodic work, declared once where it belongs and scheduled by name after every migrate.

An app declares each periodic task from its ``AppConfig.ready``::

    periodic.register("engine-dispatcher", "integrations.tasks.dispatcher_tick", minutes=1)

After ``migrate`` (:func:`sync_schedules`) each declaration becomes one django-q2 schedule of
that name (created, or updated to the declared function and interval), and schedules of the
hub's own packages that nothing declares any more are removed, so a renamed or retired task
never fires a function that no longer exists.

A new schedule is given to this installation's cluster, never left without one (django-q2 would
let every installation's cluster on a shared database fire it); the instance lease holder then
keeps every hub schedule on its own cluster (storage/lease.py), so only the holder fires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Schedules whose function lives in one of these packages belong to the hub.
HUB_PACKAGES = ("tasktop_hub.", "settings_app.", "integrations.", "notifications.", "licensing.", "extensions.",
                "storage.")


@dataclass(frozen=True)
class Periodic:
    name: str
    func: str  # dotted path of the task function
    minutes: int


_periodic: dict[str, Periodic] = {}


def register(name: str, func: str, minutes: int) -> Periodic:
    if not func.startswith(HUB_PACKAGES):
        raise ValueError(f"Periodic task '{name}': {func} is not in one of the hub's packages.")
    task = Periodic(name, func, minutes)
    _periodic[name] = task
    return task


def declared() -> list[Periodic]:
    return list(_periodic.values())


def sync_schedules(**kwargs: Any) -> None:
    """Make django-q2's schedules match the declarations (post_migrate; idempotent)."""
    from django.conf import settings
    from django_q.models import Schedule

    for task in _periodic.values():
        # An existing schedule keeps its cluster: the lease holder's (storage/lease.py).
        defaults = {"func": task.func, "schedule_type": Schedule.MINUTES, "minutes": task.minutes, "repeats": -1}
        Schedule.objects.update_or_create(name=task.name, defaults=defaults,
                                          create_defaults={**defaults, "cluster": settings.Q_CLUSTER["name"]})
    stale = Schedule.objects.exclude(name__in=list(_periodic))
    for schedule in stale:
        if schedule.func.startswith(HUB_PACKAGES):
            schedule.delete()
