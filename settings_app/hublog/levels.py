"""Normal and Troubleshooting, followed by every hub process without a restart.

The level is one database row (:class:`~settings_app.hublog.models.LoggingLevel`), so every
process on every machine sharing the database sees the same value. Each process re-reads it
at most every :data:`REFRESH_SECONDS`, at the start of each web request (middleware) and each
django-q2 task (``pre_execute``), and sets the hub's own loggers to DEBUG while
Troubleshooting holds, back to inheriting ``HUB_LOG_LEVEL`` otherwise. The end time is also
known locally: :class:`TroubleshootingExpiry` on every handler drops the extra records from
that instant on, so the automatic revert does not wait for the next refresh.

The engine's dispatcher loop, one task that lives ~50 s, re-reads it at each pass. Any other
task already running when the level changes keeps its level until it ends (its process's next
task or request picks the change up).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

# The hub's own loggers (apps, the engine, connectors and their HTTP exchanges: integrations.http).
HUB_LOGGERS = ("tasktop_hub", "settings_app", "integrations", "notifications", "licensing", "extensions", "storage")
REFRESH_SECONDS = 2.0
MAX_TROUBLESHOOTING_SECONDS = 24 * 3600

log = logging.getLogger("settings_app.hublog")

_lock = threading.Lock()
_checked_at = 0.0
_until_ts = 0.0  # epoch seconds; Troubleshooting while time.time() < this


def troubleshooting_until() -> float:
    return _until_ts


def apply(until: datetime | None) -> None:
    """Set this process's hub loggers for ``until`` (None or past: Normal)."""
    global _until_ts
    ts = until.timestamp() if until is not None else 0.0
    active = ts > time.time()
    _until_ts = ts if active else 0.0
    for name in HUB_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if active else logging.NOTSET)


def refresh(force: bool = False) -> None:
    """Re-read the level from the database if the last read is older than REFRESH_SECONDS."""
    global _checked_at
    now = time.monotonic()
    if not force and now - _checked_at < REFRESH_SECONDS:
        return
    with _lock:
        if not force and now - _checked_at < REFRESH_SECONDS:
            return
        _checked_at = now
    from django.db import DatabaseError

    from settings_app.hublog.models import LoggingLevel

    try:
        until = LoggingLevel.objects.filter(pk=LoggingLevel.SINGLETON_PK).values_list("troubleshoot_until",
                                                                                     flat=True).first()
    except DatabaseError:
        return  # no table yet (before migrate) or a broken transaction: keep the current level
    was = _until_ts
    apply(until)
    if _until_ts != was:
        log.info("Logging level here is now %s", f"Troubleshooting until {until:%Y-%m-%d %H:%M:%S} UTC"
                 if _until_ts else "Normal")


class TroubleshootingExpiry(logging.Filter):
    """On every handler: once Troubleshooting has ended, a hub record below the Normal level
    is dropped, even before this process has re-read the level."""

    def __init__(self, normal_level: str | int = "INFO") -> None:
        super().__init__()
        self.normal = logging.getLevelName(normal_level) if isinstance(normal_level, str) else normal_level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.normal or time.time() < _until_ts:
            return True
        return not record.name.startswith(HUB_LOGGERS)


class RefreshMiddleware:
    """Each web request re-reads the level (throttled) and, while Troubleshooting, logs itself."""

    def __init__(self, get_response: object) -> None:
        self.get_response = get_response

    def __call__(self, request: object) -> object:
        refresh()
        log.debug("web request %s %s", getattr(request, "method", ""), getattr(request, "path", ""))
        return self.get_response(request)  # type: ignore[operator]


def before_task(sender: object = None, func: object = None, task: dict | None = None, **kwargs: object) -> None:
    """django-q2 ``pre_execute``: each task re-reads the level; while Troubleshooting, logs itself."""
    refresh()
    log.debug("worker task %s (%s)", (task or {}).get("name", ""), (task or {}).get("func", func))
