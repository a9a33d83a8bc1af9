"""``/api/health``: one entry per check; 200 when all pass, 503 otherwise.

Checks register themselves with :func:`register`, so apps that own a condition (license,
master password, storage lease) add their own entry without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone


@dataclass
class CheckResult:
    ok: bool
    message: str


HealthCheck = Callable[[], CheckResult]
_CHECKS: dict[str, HealthCheck] = {}


def register(name: str) -> Callable[[HealthCheck], HealthCheck]:
    def decorator(func: HealthCheck) -> HealthCheck:
        _CHECKS[name] = func
        return func

    return decorator


@register("database")
def check_database() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means the database is unusable
        return CheckResult(False, f"Operational database unavailable: {exc.__class__.__name__}")
    return CheckResult(True, f"{connection.vendor} reachable")


@register("worker")
def check_worker() -> CheckResult:
    """A django-q2 cluster reported in the shared cache within HUB_WORKER_STALE_SECONDS."""
    from django_q.status import Stat

    try:
        stats = Stat.get_all()
    except Exception as exc:  # noqa: BLE001
        return CheckResult(False, f"Cannot read worker status: {exc.__class__.__name__}")
    limit = settings.HUB_WORKER_STALE_SECONDS
    now = timezone.now()
    fresh = [s for s in stats if (now - s.timestamp).total_seconds() <= limit]
    if not fresh:
        return CheckResult(False, f"No worker seen in the last {limit} s; start `manage.py qcluster`.")
    workers = sum(len(s.workers) for s in fresh)
    return CheckResult(True, f"{len(fresh)} cluster(s), {workers} worker process(es)")


def run_checks() -> dict[str, CheckResult]:
    return {name: check() for name, check in _CHECKS.items()}


def health_view(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    healthy = all(r.ok for r in results.values())
    body = {
        "status": "pass" if healthy else "fail",
        "checks": {name: {"ok": r.ok, "message": r.message} for name, r in results.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
