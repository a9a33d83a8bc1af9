"""GitHub and Jira (on their stand-ins) page change detection by offset under the keyset
restart of ``Connector.changes_after`` (issue 9.2): an issue edited between two page requests
(it moves to the end and the later ones move up) makes no other issue fall out of reach."""

from __future__ import annotations

from typing import Any

from tests.integrations.connectors.github import test_connector as gh
from tests.integrations.connectors.github.test_connector import api as github_api  # noqa: F401 — fixtures
from tests.integrations.connectors.github.test_connector import clock  # noqa: F401
from tests.integrations.connectors.jira import test_connector as jira
from tests.integrations.connectors.jira.test_connector import api as jira_api  # noqa: F401
from tests.integrations.connectors.paging import drain


def edit_between_pages(conn: Any, edit, edits: int) -> list:
    """TEST HOOK: before each page request after the first, ``edit`` an issue of the previous page."""
    inner, previous, done = conn.changes, [], []

    def changes(project, since, page):
        if previous and len(done) < edits:
            done.append(previous[0])
            edit(previous[0])
        result = inner(project, since, page)
        if result.artifacts:
            previous[:] = [a.id for a in result.artifacts]
        return result

    conn.changes = changes
    return done


def test_github_edit_between_pages_skips_nothing(github_api, clock):  # noqa: F811
    issues = [github_api.add_issue(github_api.repo, f"i{n}", updated=gh.T0 - 1000 + n) for n in range(230)]
    conn = gh.connector(github_api)
    edited = edit_between_pages(
        conn, lambda i: github_api.touch(github_api.repo, int(i.split("#")[1]), at=gh.T0), edits=2)
    seen = drain(conn, "acme/app", None, 100)
    assert len(edited) == 2
    assert set(seen) == {f"acme/app#{i['number']}" for i in issues}


def test_jira_edit_between_pages_skips_nothing(jira_api):  # noqa: F811
    issues = [jira_api.add_issue("ABC", f"i{n}", updated=jira.T0 - 100_000 + 60 * n) for n in range(230)]
    by_id = {i["id"]: i["key"] for i in issues}
    conn = jira.connector(jira_api)
    edited = edit_between_pages(conn, lambda i: jira_api.touch(by_id[i], at=jira.T0), edits=2)
    seen = drain(conn, "ABC", None, 100)
    assert len(edited) == 2
    assert set(seen) == set(by_id)
