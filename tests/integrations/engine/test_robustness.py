"""Failures: crashes between a remote create and the local commit, 20% of remote calls
failing, a connection that is down or refuses credentials, and the concurrency bound."""

from __future__ import annotations

import pytest

from integrations.engine import processing
from integrations.engine.models import ConnectionHealth, PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError, ActivityIssue
from tests.integrations.engine.helpers import FlakyConnector


def test_crash_between_remote_create_and_local_commit_never_duplicates(rig, monkeypatch):
    for n in range(5):
        rig.left.create("ALPHA", {"summary": f"c{n}"}, hub_key="")

    def crash(*args, **kwargs):  # the process dies after the creates, before the pairs commit
        raise SystemExit("killed")

    monkeypatch.setattr(processing, "commit", crash)
    with pytest.raises(SystemExit):
        rig.run()
    monkeypatch.undo()
    assert len(rig.rows("right")) == 5 and not ArtifactPair.objects.exists()
    rig.run_until_quiet()
    assert len(rig.rows("right")) == 5
    assert ArtifactPair.objects.count() == 5
    assert not PendingWork.objects.exists()


def test_twenty_percent_of_remote_calls_failing(rig):
    """TEST WRAPPER FlakyConnector injects timeouts, 500s and 429s in 20% of calls."""
    for n in range(120):
        rig.left.create("ALPHA", {"summary": f"l{n}", "status": "New"}, hub_key="")
        rig.right.create("ALPHA", {"summary": f"r{n}", "status": "Open"}, hub_key="")
    seeds, made = iter(range(10_000)), []
    rig.wrap = lambda c: made.append(FlakyConnector(c, rate=0.2, seed=next(seeds))) or made[-1]
    rig.run_until_quiet(limit=80)
    for left_id, _ in list(ArtifactPair.objects.values_list("left_id", "right_id"))[:40]:
        rig.left.update(left_id, {"status": "Changed"})
    rig.run_until_quiet(limit=80)
    assert sum(w.injected for w in made) > 20
    left, right = rig.rows("left"), rig.rows("right")
    assert len(left) == len(right) == 240
    assert ArtifactPair.objects.count() == 240
    for p in ArtifactPair.objects.all():
        assert left[p.left_id].fields == right[p.right_id].fields
    assert not ActivityError.objects.exists()  # nothing permanent happened


def test_unreachable_connection_raises_one_issue_backs_off_and_recovers(rig, sqlite_urls):
    import os

    rig.left.create("ALPHA", {"summary": "x"}, hub_key="")
    path = sqlite_urls[1].removeprefix("sqlite:///")
    os.rename(path, path + ".away")
    for _ in range(3):
        rig.run()
        ConnectionHealth.objects.update(backoff_until=None)  # let the next run try again
    issues = ActivityIssue.objects.filter(status="open")
    assert issues.count() == 1 and "right-db" in issues.get().title
    assert not ActivityError.objects.exists()
    assert ConnectionHealth.objects.get(connection__name="right-db").failures == 3
    # While backing off, the connection is not polled at all.
    ConnectionHealth.objects.update(backoff_until="2999-01-01T00:00:00Z")
    assert rig.run() == {"skipped": "connection backing off"}
    ConnectionHealth.objects.update(backoff_until=None)
    os.rename(path + ".away", path)
    rig.run()
    assert not ActivityIssue.objects.filter(status="open").exists()
    assert ArtifactPair.objects.count() == 1


def test_wrong_credentials_surface_as_one_issue(rig):
    from integrations.connectors.base import ConnectorError

    class Refusing(FlakyConnector):
        def __getattr__(self, name):
            if name in ("changes_after", "read", "update", "create"):
                def refuse(*a, **k):
                    raise ConnectorError("HTTP 401: invalid credentials", auth=True)
                return refuse
            return super().__getattr__(name)

    rig.wrap = lambda c: Refusing(c) if c.table == "items" and c is not None and c.url.endswith("left.db") else c
    rig.run()
    rig.run()
    issue = ActivityIssue.objects.get(status="open")
    assert "rejects the hub's credentials" in issue.title


@pytest.mark.parametrize("limit", [1, 4])
def test_at_most_max_concurrency_artifacts_in_flight(rig, limit):
    from settings_app.services import update_settings

    update_settings(None, max_concurrency=limit)
    for n in range(40):
        rig.left.create("ALPHA", {"summary": f"n{n}"}, hub_key="")
    rig.wrap = lambda c: FlakyConnector(c, latency=0.005)
    rig.run()
    right = rig.wrappers[rig.integration.right_collection.connection.pk]
    assert right.calls["create"] == 40
    assert right.max_in_flight <= limit
