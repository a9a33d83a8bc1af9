"""Jira's two time formats: timestamps it returns, and the dates JQL accepts.

Jira returns ``2024-01-15T10:23:45.123+0100`` (milliseconds). JQL takes ``"yyyy-MM-dd HH:mm"`` —
minute resolution, **in the searching user's time zone** (their profile setting, not UTC, not the
server's). So a cursor is floored to its minute in that zone: the query overlaps the previous run
by up to a minute and the connector drops what is older than the cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    except ValueError:
        return datetime.fromisoformat(text).astimezone(UTC)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def jql_date(since: datetime, tz: ZoneInfo) -> str:
    """The latest JQL minute, in ``tz``, that is not after ``since``.

    Near a daylight-saving change a local wall time can mean two instants; Jira may resolve it
    to either, so an ambiguous minute is moved back an hour, to a wall time that is unambiguous and
    certainly not after ``since`` (reading more is safe, reading less would skip).
    """
    local = since.astimezone(tz).replace(second=0, microsecond=0)
    naive = local.replace(tzinfo=None)
    earlier = naive.replace(tzinfo=tz, fold=0).utcoffset()
    later = naive.replace(tzinfo=tz, fold=1).utcoffset()
    if earlier != later:
        local = (local - timedelta(hours=1)).astimezone(tz)
        naive = local.replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M")
