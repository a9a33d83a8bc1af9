"""Refuse writes while the hub's data is being moved, so that none is lost.

A database transfer copies a snapshot of the hub's database; a write that lands in the old
database after that snapshot would be gone once every process switches to the new one. So,
while a *freeze* holds (an app registers what makes it hold: the storage app, while a transfer
runs), every write that can come from outside is refused with a clear message instead:

* the web: every non-safe request (POST, PUT, PATCH, DELETE) to the admin or the API answers
  503 with ``Retry-After`` and "the hub's data is being moved; try again in a minute", except
  the paths an app declares it handles itself (the storage app's own: abort, status);
* commands: a management command that may write stops at its start with the same message
  (exit status 75, "try again later").

Closing the race between "checked, not frozen" and "wrote after the snapshot": each writing
request (and each guarded command, for its whole life) holds a *shared* ``flock`` on
``HUB_DB_DIR/writes.lock`` and checks the freeze only once it holds it. The mover first makes
the freeze hold, then takes the lock *exclusively* once (:func:`wait_for_writers`): that waits
for every writer that started before the freeze, and every later one sees the freeze. The lock
is per machine, like the freeze's own state file in ``HUB_HOME``.

Long-lived processes (the web server, django-q2's workers) are not guarded as a whole: their
web requests are, and their background work is drained by the mover (workers stop taking work
through the condition registry, ``tasktop_hub.conditions``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)
LOCK_FILE = "writes.lock"
RETRY_AFTER_SECONDS = 60
MESSAGE = "The hub's data is being moved to another database; try again in a minute."
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
# Commands that never need the guard: long-lived processes (their requests and work are guarded
# one by one), the mover's own command, and those that only print.
UNGUARDED_COMMANDS = frozenset({
    "serve", "qcluster", "runserver", "storage", "shell", "dbshell", "help", "check", "version",
    "showmigrations", "diffsettings", "collectstatic", "compilemessages", "makemigrations", "test",
})

_freezes: list[Callable[[], str | None]] = []
_exempt_prefixes: list[str] = []
_command_lock: IO[bytes] | None = None


def register_freeze(reason: Callable[[], str | None]) -> None:
    """An app's "writes must wait" state: returns why (shown after the standard message) or None."""
    if reason not in _freezes:
        _freezes.append(reason)


def exempt(*prefixes: str) -> None:
    """URL prefixes whose views check the freeze themselves (they must never write the moved data)."""
    for prefix in prefixes:
        if prefix not in _exempt_prefixes:
            _exempt_prefixes.append(prefix)


def frozen_reason() -> str | None:
    for reason in _freezes:
        why = reason()
        if why:
            return why
    return None


def _lock_path() -> Path:
    from django.conf import settings

    return Path(settings.HUB_DB_DIR) / LOCK_FILE


def _open_lock() -> IO[bytes]:
    path = _lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "ab")  # held across the request or the command's life


@contextmanager
def writing() -> Iterator[str | None]:
    """Hold the shared writers' lock; yields the freeze's reason (then the caller must not write)."""
    handle = _open_lock()
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield frozen_reason()
    finally:
        handle.close()  # releases the lock


class WritersStillRunning(Exception):
    pass


def wait_for_writers(timeout: float) -> None:
    """For the mover, once its freeze holds: wait until no writer that started before it is left.

    Raises :class:`WritersStillRunning` (saying what to do) after ``timeout`` seconds.
    """
    handle = _open_lock()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WritersStillRunning(
                        f"A web request or a command that writes to the hub's database was still running after "
                        f"{timeout:g} s (for example a long import). Wait for it to finish, then start again."
                    ) from None
                time.sleep(0.1)
    finally:
        handle.close()


def refusal(request: HttpRequest, reason: str) -> HttpResponse:
    detail = f"{MESSAGE} {reason}"
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": detail, "errors": [], "retry_after": RETRY_AFTER_SECONDS},
                                              status=503)
    else:
        from django.template.loader import render_to_string

        response = HttpResponse(render_to_string("admin/write_guard.html", {"detail": detail, "reason": reason,
                                                                             "message": MESSAGE}, request=request),
                                status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # An expected answer while data moves, not a server error: one WARNING line instead of
    # Django's "ERROR Service Unavailable" for every refused write (a client retrying every
    # second would fill the error log during a transfer).
    log.warning("Write refused while the hub's data is being moved: %s %s", request.method, request.path_info)
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's log_response skips it
    return response


class WriteGuardMiddleware:
    """Refuses the web's writes while a freeze holds (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in SAFE_METHODS or request.path_info.startswith(tuple(_exempt_prefixes)):
            return self.get_response(request)
        with writing() as reason:
            if reason:
                return refusal(request, reason)
            return self.get_response(request)


# -- commands ---------------------------------------------------------------------------------

def command_name(argv: list[str]) -> str | None:
    """The management command this process runs (``manage.py NAME …``), or None if it is no command."""
    program = os.path.basename(argv[0]) if argv else ""
    if program not in ("manage.py", "django-admin", "django-admin.py") or len(argv) < 2:
        return None
    return argv[1]


def guard_command(argv: list[str]) -> None:
    """At a command's start: hold the shared writers' lock for its life, or stop if frozen."""
    global _command_lock
    name = command_name(argv)
    if name is None or name.startswith("-") or name in UNGUARDED_COMMANDS or os.environ.get("HUB_DB_CONFIG_FD"):
        return
    handle = _open_lock()
    fcntl.flock(handle, fcntl.LOCK_SH)
    reason = frozen_reason()
    if reason:
        handle.close()
        sys.stderr.write(f"manage.py {name}: {MESSAGE} {reason}\n")
        sys.exit(75)  # EX_TEMPFAIL
    _command_lock = handle  # released when the process exits
