"""Thin django-q2 entry points of the storage app."""

from __future__ import annotations

from storage.transfer import fail_dead_transfer


def end_dead_transfer() -> int | None:
    """A transfer whose worker died (no heartbeat): fail its job and end its pause."""
    return fail_dead_transfer()
