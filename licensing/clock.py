"""The licensing clock: one place to read "now", so expiry tests can move time.

Tests patch :func:`now` (``monkeypatch.setattr(licensing.clock, "now", ...)``); everything in
licensing reads time through this module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def today() -> date:
    """Today's date in UTC; a license is valid through its expiration date (UTC)."""
    return now().astimezone(UTC).date()
