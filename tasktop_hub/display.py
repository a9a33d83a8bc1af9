"""A datetime as the templates and the admin show it, formatted once per minute.

``formats.localize(timezone.template_localtime(value))`` — what ``{{ value }}`` and the admin's
changelist do with a datetime — costs about 50 µs (Django's ``DateFormat`` interprets the format
character by character); a list page shows 50–100 of them, 3–5 ms of its CPU. The usual format
(``DATETIME_FORMAT``, e.g. "Dec. 2, 2026, 4:38 a.m.") shows nothing finer than the minute, and
rows listed together are mostly of the same few minutes, so the text is kept per minute, time
zone and language. A format that shows seconds (or finer) is formatted every time.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django.utils import formats, timezone, translation

# Format characters whose output depends on more than the minute, the offset and the language
# (seconds, microseconds, milliseconds, ISO 8601, RFC 5322, Unix time, Swatch time).
_FINER_THAN_A_MINUTE = frozenset("sucrUvB")


def local_datetime(value: Any) -> str:
    """``formats.localize(timezone.template_localtime(value))``, the same text, cached per minute."""
    local = timezone.template_localtime(value)  # type: ignore[attr-defined]  # in Django, not in django-stubs
    if not isinstance(local, datetime):
        return formats.localize(local)
    language = translation.get_language()
    fmt = formats.get_format("DATETIME_FORMAT", language)
    if _FINER_THAN_A_MINUTE.intersection(fmt):
        return formats.localize(local)
    minute = local.replace(second=0, microsecond=0)
    # The wall-clock minute with its offset and zone name (an aware datetime's equality compares
    # instants only, which two zones can share while showing different text).
    return _formatted(language, minute.replace(tzinfo=None), minute.utcoffset(), minute.tzname(), minute)


@lru_cache(maxsize=4096)
def _formatted(language: str | None, wall: datetime, offset: Any, zone: str | None, minute: datetime) -> str:
    return formats.localize(minute)
