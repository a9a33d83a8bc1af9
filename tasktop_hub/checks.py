"""System checks for rules that span several settings (ids hub.E0xx / hub.W0xx).

They run at every management command and at server start, so a misconfiguration is named
before it can lose a task or a write.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register("hub")
def check_task_queue(app_configs: Any = None, **kwargs: Any) -> list:
    q = getattr(settings, "Q_CLUSTER", {})
    errors: list = []
    timeout, retry = q.get("timeout"), q.get("retry")
    if timeout is None or retry is None or retry <= timeout:
        errors.append(Error(
            f"Q_CLUSTER 'retry' ({retry}) must be larger than 'timeout' ({timeout}).",
            hint="Otherwise a task that runs longer than 'retry' is handed to a second worker and runs twice. "
                 "Set HUB_TASK_TIMEOUT; retry follows it.",
            id="hub.E001",
        ))
    if q.get("max_attempts") != 1:
        errors.append(Error(
            f"Q_CLUSTER 'max_attempts' is {q.get('max_attempts')!r}; it must be 1.",
            hint="The hub retries failed work itself; broker redelivery would repeat it without backoff.",
            id="hub.E002",
        ))
    if "ALT_CLUSTERS" not in q:
        errors.append(Error(
            "Q_CLUSTER has no 'ALT_CLUSTERS' key.",
            hint="django-q2 crashes at start when Q_CLUSTER_NAME is set and this key is missing; add 'ALT_CLUSTERS': {}.",
            id="hub.E003",
        ))
    cache_alias = q.get("cache", "default")
    backend = settings.CACHES.get(cache_alias, {}).get("BACKEND")
    if backend is None:
        errors.append(Error(f"Q_CLUSTER 'cache' names the cache '{cache_alias}', which CACHES lacks.", id="hub.E004"))
    elif backend in PER_PROCESS_CACHES:
        errors.append(Error(
            f"Q_CLUSTER 'cache' uses {backend.rsplit('.', 1)[-1]}, which each process keeps for itself.",
            hint="Worker status would never reach the web process, so /api/health would report no worker. "
                 "Use the database cache or Redis.",
            id="hub.E004",
        ))
    workers = q.get("workers")
    if isinstance(workers, int) and workers < 2:
        errors.append(Error(
            f"Q_CLUSTER 'workers' is {workers}; the hub needs at least 2.",
            hint="The engine's dispatcher loop holds one worker for as long as the cluster runs; with a single "
                 "worker no integration run or background job would ever start. Set HUB_WORKERS to 2 or more.",
            id="hub.E007",
        ))
    orm = q.get("orm")
    if orm is not None and orm not in settings.DATABASES:
        errors.append(Error(f"Q_CLUSTER 'orm' names the database '{orm}', which DATABASES lacks.", id="hub.E005"))
    return errors


@register("hub", "database")
def check_sqlite_options(app_configs: Any = None, **kwargs: Any) -> list:
    errors: list = []
    for alias, db in settings.DATABASES.items():
        if db.get("ENGINE") != "django.db.backends.sqlite3":
            continue
        options = db.get("OPTIONS", {})
        if options.get("transaction_mode") != "IMMEDIATE" or options.get("timeout", 5) < 20:
            errors.append(Error(
                f"SQLite database '{alias}' needs OPTIONS transaction_mode 'IMMEDIATE' and timeout >= 20.",
                hint="With SQLite's defaults the worker and the web process lose writes to 'database is locked'.",
                id="hub.E006",
            ))
    return errors


@register("hub", "security")
def check_hosts(app_configs: Any = None, **kwargs: Any) -> list:
    if "*" in settings.ALLOWED_HOSTS and not settings.DEBUG:
        return [Warning(
            "ALLOWED_HOSTS contains '*'.",
            hint="Any Host header is accepted, which enables host-header attacks on password-reset links. "
                 "List the names the hub is served under.",
            id="hub.W001",
        )]
    return []
