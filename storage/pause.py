"""The "processing paused for a database transfer" state, kept outside every database.

A transfer writes ``HUB_HOME/db/transfer.json`` (its job, process and a heartbeat) before it
takes its snapshot and removes it when it ends. The condition holds while the heartbeat is
fresh, so a transfer whose worker was killed stops pausing the hub after
``HUB_TRANSFER_HEARTBEAT_SECONDS`` instead of pausing it for ever.
"""

from __future__ import annotations

import json
import os
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


def begin(job_id: int) -> None:
    state = read()
    if is_fresh(state) and state and state.get("job") != job_id:
        raise RuntimeError(f"Another database transfer (job {state.get('job')}) is running.")
    write_private_file(_path(), json.dumps({"job": job_id, "pid": os.getpid(), "heartbeat": time.time(),
                                            "phase": "starting"}).encode())


def beat(job_id: int, phase: str) -> None:
    write_private_file(_path(), json.dumps({"job": job_id, "pid": os.getpid(), "heartbeat": time.time(),
                                            "phase": phase}).encode())


def end(job_id: int) -> None:
    state = read()
    if state and state.get("job") == job_id:
        _path().unlink(missing_ok=True)


def reason() -> str | None:
    state = read()
    if not is_fresh(state):
        return None
    assert state is not None
    return (f"A database transfer is in progress (background job {state.get('job')}, {state.get('phase')}); "
            "processing resumes when it finishes.")


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
