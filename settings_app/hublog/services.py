"""Change the logging level (validated, audited); every process follows within seconds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.services import Actor, record_audit, user_or_none
from settings_app.hublog import levels
from settings_app.hublog.models import LoggingLevel

NORMAL, TROUBLESHOOTING = "normal", "troubleshooting"
DURATIONS = [(1, "1 hour"), (2, "2 hours"), (4, "4 hours"), (8, "8 hours"), (24, "24 hours")]  # the form's choices


@dataclass(frozen=True)
class State:
    level: str
    until: datetime | None  # when Troubleshooting ends

    def describe(self) -> str:
        if self.level == NORMAL:
            return "Normal"
        assert self.until is not None
        return f"Troubleshooting until {self.until:%Y-%m-%d %H:%M} UTC"


def state(now: datetime | None = None) -> State:
    row = LoggingLevel.objects.filter(pk=LoggingLevel.SINGLETON_PK).first()
    now = now or timezone.now()
    if row and row.troubleshoot_until and row.troubleshoot_until > now:
        return State(TROUBLESHOOTING, row.troubleshoot_until)
    return State(NORMAL, None)


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``24h`` → a timedelta; anything else is refused precisely."""
    match = re.fullmatch(r"\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*", text or "", re.IGNORECASE)
    if not match or not any(match.groups()):
        raise ValidationError({"duration": f"'{text}' is not a duration; write e.g. 30m, 2h or 1h30m."})
    return timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))


def troubleshoot(actor: Actor, *, until: datetime | None = None, duration: timedelta | None = None) -> State:
    """Troubleshooting until ``until`` (or for ``duration``): after now, at most 24 hours ahead."""
    now = timezone.now()
    if (until is None) == (duration is None):
        raise ValidationError("Give either an end time or a duration for Troubleshooting.")
    end = until if until is not None else now + duration  # type: ignore[operator]
    if timezone.is_naive(end):
        raise ValidationError({"until": "Give the end time with its time zone (e.g. 2026-12-02T09:00Z)."})
    if end <= now:
        raise ValidationError({"until": "The end of Troubleshooting must be in the future."})
    if end - now > timedelta(seconds=levels.MAX_TROUBLESHOOTING_SECONDS):
        raise ValidationError({"until": "Troubleshooting lasts at most 24 hours from now."})
    with transaction.atomic():
        LoggingLevel.objects.update_or_create(pk=LoggingLevel.SINGLETON_PK, defaults={
            "troubleshoot_until": end, "changed_by": user_or_none(actor)})
        record_audit(actor, "logging.troubleshoot", "logging level", until=end.isoformat())
    levels.refresh(force=True)
    return State(TROUBLESHOOTING, end)


def normal(actor: Actor) -> State:
    """"Stop Troubleshooting Now"."""
    with transaction.atomic():
        LoggingLevel.objects.update_or_create(pk=LoggingLevel.SINGLETON_PK, defaults={
            "troubleshoot_until": None, "changed_by": user_or_none(actor)})
        record_audit(actor, "logging.normal", "logging level")
    levels.refresh(force=True)
    return State(NORMAL, None)
