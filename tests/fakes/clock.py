"""A clock for tests and benchmarks: sleeping returns at once and advances the time.

Pass it to an HTTP client (``clock=FakeClock()``) or to every client at once with
``integrations.connectors.http.use_clock(FakeClock())``; the fake servers take its ``time`` too.
"""

from __future__ import annotations

import threading
import time

from integrations.connectors.http import Clock


class FakeClock(Clock):
    """A clock for tests: ``sleep`` returns at once, advances ``time`` and records the wait."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)
