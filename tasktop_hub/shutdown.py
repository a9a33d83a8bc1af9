"""A worker cluster's "stop now" flag, visible to its forked workers.

django-q2 stops a cluster by letting each worker finish its current task; the engine's
dispatcher loop is a task that lasts ~50 s, so without a flag a stopped hub would keep
dispatching (and enqueue a successor) long after Ctrl-C. The cluster's main process marks
itself stopping with a file under ``HUB_HOME/run/`` named after its pid; workers learn that
pid from the environment they inherit at fork and check the file between passes (a stat call).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

PID_ENV = "HUB_QCLUSTER_PID"


def _flag(pid: int | str) -> Path:
    return Path(settings.HUB_HOME) / "run" / f"qcluster-{pid}.stopping"


def mark_cluster_process() -> None:
    """Called in the cluster's main process before it forks: its workers inherit the pid."""
    os.environ[PID_ENV] = str(os.getpid())
    _flag(os.getpid()).unlink(missing_ok=True)  # a pid reused after a crash


def request_stop() -> None:
    path = _flag(os.environ.get(PID_ENV, os.getpid()))
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.touch()


def clear() -> None:
    _flag(os.environ.get(PID_ENV, os.getpid())).unlink(missing_ok=True)


def requested() -> bool:
    """True in a worker (or the main process) of a cluster that is stopping."""
    pid = os.environ.get(PID_ENV)
    return pid is not None and _flag(pid).exists()
