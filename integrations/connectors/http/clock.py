"""Wall time and sleeping for the HTTP client, in one injectable object.

A client built without its own clock uses :func:`default_clock`; tests and benchmarks swap it with
``use_clock(FakeClock())`` (the fake is ``tests/fakes/clock.py``) so no retry really waits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Clock:
    """Wall time and sleeping, in one injectable object."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


_default_clock: Clock = Clock()


def default_clock() -> Clock:
    return _default_clock


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` for every client built without its own clock (tests, benchmarks)."""
    global _default_clock
    previous = _default_clock
    _default_clock = clock
    try:
        yield clock
    finally:
        _default_clock = previous
