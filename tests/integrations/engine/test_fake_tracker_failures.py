"""20% of remote calls failing, on the other side of real HTTP: the ``redmine`` connector
against the local fake tracker (tests/fakes/tracker.py) injecting timeouts, 500s, 429s with
Retry-After, and lost responses after a create, two-way with a ``database`` table."""

from __future__ import annotations

import pytest

from integrations.connectors import http
from integrations.connectors.database.schema import create_work_item_table
from integrations.models import ArtifactPair
from notifications.models import ActivityError
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import FakeTracker
from tests.integrations.engine.helpers import all_rows
from tests.integrations.tool_rig import integrate, side


@pytest.fixture
def rig(db, settings, sqlite_urls):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    url = sqlite_urls[1]
    create_work_item_table(url, "items", ["summary", "details"], drop=True)
    tracker = FakeTracker(failure_rate=0.0, failure_kinds=("timeout", "500", "429", "lost"), hang=0.05,
                          retry_after=1, seed=11)
    with tracker, http.use_clock(FakeClock()):
        left = side("tracker", "redmine", tracker.base_url, {}, {"api_key": tracker.api_key}, "demo",
                    {"title": "subject", "text": "description"})
        right = side("table", "database", url, {"table": "items", "projects": "ALPHA"}, {}, "ALPHA",
                     {"title": "summary", "text": "details"})
        r = integrate(left, right, "tracker-table")
        r.tracker = tracker
        from integrations.connectors.database import DatabaseConnector

        r.table = DatabaseConnector(url, {"table": "items"}, {})
        yield r
        r.table.close()


def test_every_artifact_arrives_with_twenty_percent_of_calls_failing(rig):
    for n in range(40):
        rig.tracker.add_issue("demo", subject=f"tracker {n}", description="from the tracker")
        rig.table.create("ALPHA", {"summary": f"table {n}", "details": "from the table"}, hub_key="")
    rig.tracker.failure_rate = 0.2
    rig.run_until_quiet(limit=60)
    for left_id in list(ArtifactPair.objects.values_list("left_id", flat=True))[:15]:
        rig.tracker.touch(int(left_id), subject=f"edited {left_id}")
    rig.run_until_quiet(limit=60)
    assert rig.tracker.failures > 10
    rig.tracker.failure_rate = 0.0
    issues = {str(i): rig.tracker.issue(i) for i in rig.tracker.issue_ids("demo")}
    rows = all_rows(rig.table)
    assert len(issues) == len(rows) == 80  # no duplicate from a lost create response
    pairs = ArtifactPair.objects.all()
    assert pairs.count() == 80
    for p in pairs:
        assert issues[p.left_id]["subject"] == rows[p.right_id].fields["summary"]
    assert not ActivityError.objects.exists()  # only permanent failures become errors
