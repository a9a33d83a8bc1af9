"""Change detection never skips an issue when another is edited between two page requests
(issue 9.2), on the live Redmine and on the fake tracker: an edited issue moves to the end of
``sort=updated_on,id`` and every later one moves up a place, which offset paging turns into a
skipped issue at the page boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integrations.connectors.redmine import RedmineConnector
from tests.integrations.connectors.paging import drain
from tests.integrations.connectors.redmine.test_connector import create_many


class EditingBetweenPages:
    """TEST HOOK around the real connector's requests: before each issue listing after the
    first, a person edits an issue the previous listing returned (an earlier page)."""

    def __init__(self, connector: RedmineConnector, person: RedmineConnector, edits: int) -> None:
        self.person, self.left = person, edits
        self.previous: list[str] = []
        self.listings = 0
        call = connector._call

        def hooked(method, path, **kwargs):
            listing = method == "GET" and path == "/issues.json" and "issue_id" not in (kwargs.get("params") or {}) \
                or ">=" in str((kwargs.get("params") or {}).get("issue_id", ""))
            if listing:
                self.listings += 1
                if self.previous and self.left:
                    self.left -= 1
                    victim = self.previous[0]
                    self.person.update(victim, {"subject": f"edited between pages ({self.left})"})
            data = call(method, path, **kwargs)
            if listing and data.get("issues"):
                self.previous = [str(i["id"]) for i in data["issues"]]
            return data

        connector._call = hooked


def test_edit_between_page_requests_skips_nothing(redmine_backend):
    c = redmine_backend.connector()
    created = create_many(redmine_backend, c, 230)
    ids = [a.id for a in created]
    # One issue per second, long ago: the person's edits (stamped now) move issues to the end.
    base = datetime(2020, 1, 1, tzinfo=UTC)
    redmine_backend.set_updated_on({i: base + timedelta(seconds=n) for n, i in enumerate(sorted(ids, key=int))})
    hook = EditingBetweenPages(c, redmine_backend.connector(), edits=3)
    seen = drain(c, redmine_backend.project, None, 100)
    assert hook.listings > 3 and hook.left == 0
    assert set(seen) == set(ids), f"skipped: {sorted(set(ids) - set(seen), key=int)}"


def test_one_crowded_second_is_read_by_id(redmine_backend):
    """205 issues in one second (more than two pages), edits in between: each comes back."""
    c = redmine_backend.connector()
    created = create_many(redmine_backend, c, 205)
    ids = [a.id for a in created]
    second = datetime(2020, 1, 1, tzinfo=UTC)
    redmine_backend.set_updated_on({i: second + timedelta(microseconds=(n * 7919) % 1_000_000)
                                    for n, i in enumerate(ids)})
    hook = EditingBetweenPages(c, redmine_backend.connector(), edits=3)
    seen = drain(c, redmine_backend.project, second - timedelta(seconds=3), 100)
    assert set(seen) == set(ids) and hook.left == 0
