"""Whether the hub may process artifacts now.

Conditions that stop all processing (no master password loaded, no valid license, the
database lease held by another instance) register a blocker here; the engine asks
:func:`processing_blocked_reason` before each run and does nothing while it returns a reason.
Integrations keep their run state meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

Blocker = Callable[[], str | None]
_blockers: dict[str, Blocker] = {}


def register_blocker(name: str) -> Callable[[Blocker], Blocker]:
    def decorator(func: Blocker) -> Blocker:
        _blockers[name] = func
        return func

    return decorator


def processing_blocked_reason() -> str | None:
    """The first reason processing must not happen, or None when it may."""
    for check in _blockers.values():
        reason = check()
        if reason:
            return reason
    return None
