"""The "processing paused for a database transfer" state, kept outside every database.

A transfer writes ``HUB_HOME/db/transfer.json`` (its job, process and a heartbeat) before it
takes its snapshot and removes it when it ends. While its heartbeat is fresh

* the condition *storage-transfer* holds: no worker starts engine work;
* the write freeze holds (``tasktop_hub.write_guard``): the web's and the commands' writes are
  refused with "try again in a minute", background jobs wait — nothing is written to the
  database being left after its snapshot.

A thread of the transfer's process beats every few seconds for as long as that process lives,
so a long step (a big table, the migrations) never lets the pause lapse, and a transfer whose
worker was killed stops pausing the hub after ``HUB_TRANSFER_HEARTBEAT_SECONDS`` instead of
pausing it for ever.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from tasktop_hub.home import write_private_file

STATE_FILE = "transfer.json"


def _path() -> Path:
    return Path(settings.HUB_DB_DIR) / STATE_FILE


def read() -> dict[str, Any] | None:
    try:
        return json.loads(_path().read_text())
    except (FileNotFoundError, ValueError):
        return None


def is_fresh(state: dict[str, Any] | None) -> bool:
    if not state:
        return False
    return time.time() - float(state.get("heartbeat", 0)) < settings.HUB_TRANSFER_HEARTBEAT_SECONDS


class _Heart:
    """The beating thread of this process's transfer (one at a time per process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.job: int | None = None
        self.phase = ""
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None


_heart = _Heart()


def _write(job_id: int, phase: str) -> None:
    write_private_file(_path(), json.dumps({"job": job_id, "pid": os.getpid(), "heartbeat": time.time(),
                                            "phase": phase}).encode())


def _beat_forever(stop: threading.Event) -> None:
    interval = max(0.2, settings.HUB_TRANSFER_HEARTBEAT_SECONDS / 6)
    while not stop.wait(interval):
        with _heart.lock:
            if _heart.job is not None and holds(_heart.job):
                _write(_heart.job, _heart.phase)


def begin(job_id: int) -> None:
    state = read()
    if is_fresh(state) and state and state.get("job") != job_id:
        raise RuntimeError(f"Another database transfer (job {state.get('job')}) is running.")
    with _heart.lock:
        _heart.job, _heart.phase = job_id, "starting"
        _write(job_id, "starting")
        _heart.stop = threading.Event()
        _heart.thread = threading.Thread(target=_beat_forever, args=(_heart.stop,), name="transfer-heartbeat",
                                         daemon=True)
        _heart.thread.start()


class PauseLost(RuntimeError):
    pass


def beat(job_id: int, phase: str) -> None:
    if not holds(job_id):
        raise PauseLost("This transfer's pause was ended by another process (its heartbeat looked dead), so writes "
                        "may have reached the current database again: the transfer stops without switching.")
    with _heart.lock:
        _heart.phase = phase
        _write(job_id, phase)


def holds(job_id: int) -> bool:
    """Whether the pause is still this transfer's (not ended as dead by another process)."""
    state = read()
    return bool(state and state.get("job") == job_id)


def end(job_id: int) -> None:
    with _heart.lock:
        if _heart.job == job_id:
            _heart.stop.set()
            _heart.job = None
        if holds(job_id):
            _path().unlink(missing_ok=True)


def reason() -> str | None:
    state = read()
    if not is_fresh(state):
        return None
    assert state is not None
    return (f"A database transfer is in progress (background job {state.get('job')}, {state.get('phase')}); "
            "processing resumes when it finishes.")


def write_freeze_reason() -> str | None:
    """The write freeze's reason (tasktop_hub.write_guard) while a transfer runs."""
    state = read()
    if not is_fresh(state):
        return None
    assert state is not None
    return f"A database transfer is running (background job {state.get('job')}, {state.get('phase')})."


def stale_job() -> int | None:
    """The job of a transfer whose heartbeat stopped (its worker died), if any."""
    state = read()
    if state and not is_fresh(state):
        return int(state.get("job") or 0) or None
    return None


def clear_stale() -> int | None:
    job = stale_job()
    if job is not None:
        _path().unlink(missing_ok=True)
    return job
