"""A datetime formatted once per minute (tasktop_hub/display.py) reads as Django formats it every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import formats, timezone, translation

from tasktop_hub.display import local_datetime

MOMENTS = [datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC) + timedelta(seconds=s)
           for s in (0, 1, 59, 60, 61, 43_199, 43_200, 43_259, 86_399, 3_600 * 30 + 7)]
# Europe/Berlin leaves summer time on 2026-10-25 at 03:00: the same wall minute twice, two offsets.
MOMENTS += [datetime(2026, 10, 25, 0, 30, 5, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, 5, tzinfo=UTC)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns"])
@pytest.mark.parametrize("language", ["en-us", "de", "fr"])
def test_the_text_is_djangos_in_every_zone_and_language(zone, language):
    with timezone.override(zone), translation.override(language):
        for moment in MOMENTS * 2:  # the second time from the cache
            assert local_datetime(moment) == formats.localize(timezone.template_localtime(moment))


def test_a_format_showing_seconds_is_formatted_every_time(monkeypatch):
    original = formats.get_format
    monkeypatch.setattr(formats, "get_format",
                        lambda name, *a, **k: "Y-m-d H:i:s" if name == "DATETIME_FORMAT" else original(name, *a, **k))
    with translation.override("en-us"), timezone.override("UTC"):
        assert local_datetime(MOMENTS[0]) == "2026-01-01 00:00:00"
        assert local_datetime(MOMENTS[0] + timedelta(seconds=30)) == "2026-01-01 00:00:30"


def test_anything_else_is_localized_as_usual():
    assert local_datetime(None) is None
    assert local_datetime("text") == "text"
