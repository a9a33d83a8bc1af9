"""What work is running right now, across every process (for a drain before moving the data).

Each app registers a probe from its ``AppConfig.ready`` that returns one line per piece of its
work still running (the engine: runs holding their run lease; notifications: background jobs
marked running). Probes read the database, so they see every worker on every machine.
"""

from __future__ import annotations

from collections.abc import Callable

_probes: list[Callable[[], list[str]]] = []


def register(probe: Callable[[], list[str]]) -> None:
    if probe not in _probes:
        _probes.append(probe)


def running() -> list[str]:
    """One line per piece of work still running, in registration order; empty when all is quiet."""
    out: list[str] = []
    for probe in _probes:
        out.extend(probe())
    return out
