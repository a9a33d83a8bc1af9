"""The engine's clock. Tests replace :data:`now` / :data:`sleep` to control time."""

from __future__ import annotations

import time as _time
from datetime import datetime

from django.utils import timezone


def _now() -> datetime:
    return timezone.now()


now = _now
sleep = _time.sleep
monotonic = _time.monotonic


def set_clock(now_fn, sleep_fn=None) -> None:  # noqa: ANN001 — test hook
    global now, sleep
    now = now_fn
    if sleep_fn is not None:
        sleep = sleep_fn


def reset_clock() -> None:
    global now, sleep
    now = _now
    sleep = _time.sleep
