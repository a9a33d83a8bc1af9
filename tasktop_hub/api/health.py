"""``/api/health``: 200 when every check passes, 503 otherwise.

The checks are the database and the worker (here) plus every registered condition that stops
processing (``tasktop_hub.conditions``, ``health=True``), so an app adds its entry by
registering its condition. Anonymous callers (a load balancer) get the overall status only;
the per-check details are for signed-in staff.

``/api/health/live`` is the web process's liveness: it answers (200) when this process serves
requests and its database answers, whatever the workers and conditions say — so a supervisor
(systemd, Kubernetes, a load balancer) restarts or drops only a web process that is itself dead,
not every web server while, say, the worker is down or the license expired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from tasktop_hub import conditions

log = logging.getLogger(__name__)


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
    results = {name: check() for name, check in _CHECKS.items()}
    for condition in conditions.all_conditions():
        if condition.health:
            reason = condition.reason()
            results[condition.key] = CheckResult(reason is None, reason or condition.healthy_message())
    return results


@extend_schema(exclude=True)  # not a resource: documented in README.md
@api_view(["GET"])
@permission_classes([AllowAny])
def health_view(request: Request) -> Response:
    """Overall status for everyone; each check's verdict and message for signed-in staff."""
    return _answer(request, run_checks(), "Health check")


@extend_schema(exclude=True)  # as /api/health: a probe, documented in docs/operator-guide.md
@api_view(["GET"])
@permission_classes([AllowAny])
def liveness_view(request: Request) -> Response:
    """This web process serves and its database answers; no worker or condition is asked."""
    return _answer(request, {"database": check_database()}, "Liveness check")


def _answer(request: Request, results: dict[str, CheckResult], what: str) -> Response:
    healthy = all(r.ok for r in results.values())
    body: dict[str, object] = {"status": "pass" if healthy else "fail"}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        body["checks"] = {name: {"ok": r.ok, "message": r.message} for name, r in results.items()}
    response = Response(body, status=200 if healthy else 503)
    if not healthy:
        # A failing probe is the hub's state, reported here, not a server error: one WARNING line
        # naming the failed checks instead of Django's "ERROR Service Unavailable" on every poll.
        failed = ", ".join(f"{name}: {r.message}" for name, r in results.items() if not r.ok)
        log.warning("%s failed (%s)", what, failed)
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django's log_response skips it
    return response
