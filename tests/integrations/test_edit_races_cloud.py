"""GitHub and Jira (issue 9.1): a person's edit made while the hub writes the same issue —
before its write, or between the write and the read-back — reaches the other side; it is not
recorded as the hub's own echo. Both tools on their local API stand-ins."""

from __future__ import annotations

import pytest

from integrations.models import ArtifactPair
from tests.integrations.engine.races import EditRace, Once
from tests.integrations.test_sync_github_jira import rig  # noqa: F401 — the GitHub ↔ Jira rig fixture


@pytest.mark.parametrize("when", ["before", "after"])
def test_github_edit_racing_the_hub_write(rig, when):  # noqa: F811
    issue = rig.github.add_issue(rig.github.repo, "Crash on start", body="stack trace")
    rig.run_until_quiet()
    pair = ArtifactPair.objects.get()
    jira_key = next(k for k, i in rig.jira.issues.items() if i["id"] == pair.right_id)
    rig.jira.touch(jira_key, summary="Crash on start (macOS)")
    edit = Once(lambda: rig.github.touch(rig.github.repo, issue["number"], body="stack trace, and a core dump"))
    rig.wrap = lambda inner: EditRace(inner, pair.left_id, edit, when=when) if inner.kind == "github" else inner
    rig.run_until_quiet()
    assert edit.fired
    rig.wrap = None
    rig.run_until_quiet()
    assert rig.github.repo.issues[issue["number"]]["title"] == "Crash on start (macOS)"
    assert rig.jira.issues[jira_key]["fields"]["description"] == "stack trace, and a core dump"


@pytest.mark.parametrize("when", ["before", "after"])
def test_jira_edit_racing_the_hub_write(rig, when):  # noqa: F811
    issue = rig.github.add_issue(rig.github.repo, "Slow search", body="p95 is 4 s")
    rig.run_until_quiet()
    pair = ArtifactPair.objects.get()
    jira_key = next(k for k, i in rig.jira.issues.items() if i["id"] == pair.right_id)
    rig.github.touch(rig.github.repo, issue["number"], title="Slow search on /orders")
    edit = Once(lambda: rig.jira.touch(jira_key, description="p95 is 4 s; p99 is 9 s"))
    rig.wrap = lambda inner: EditRace(inner, pair.right_id, edit, when=when) if inner.kind == "jira" else inner
    rig.run_until_quiet()
    assert edit.fired
    rig.wrap = None
    rig.run_until_quiet()
    assert rig.jira.issues[jira_key]["fields"]["summary"] == "Slow search on /orders"
    assert rig.github.repo.issues[issue["number"]]["body"].startswith("p95 is 4 s; p99 is 9 s")
