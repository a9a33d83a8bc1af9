"""Creating a Redmine issue whose status is not the tracker's initial one (issue 9.4): Redmine
creates it as "New" for a non-admin, and the hub walks the collection's transition path to the
wanted status in the same unit — no Activity error, no pending row left behind."""

from __future__ import annotations

import pytest

from integrations.connectors.database.schema import create_work_item_table
from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError
from tests.integrations.tool_rig import integrate, side

# Only New → In Progress → Resolved, as a workflow a team may configure.
PATH = {"New": ["In Progress"], "In Progress": ["Resolved", "New"], "Resolved": ["In Progress"]}


def test_create_in_a_later_status_walks_the_path_at_once(db, settings, redmine_backend, tmp_path):
    if redmine_backend.name == "fake":
        pytest.skip("the fake tracker accepts any status at creation; Redmine gives a non-admin the initial one")
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    path = tmp_path / "items.db"
    path.touch()
    url = f"sqlite:///{path}"
    create_work_item_table(url, "items", ["summary", "state"])
    table = side("table", "database", url, {"table": "items", "projects": "OPS"}, {}, "OPS",
                 {"title": "summary", "state": "state"}, field_roles={"state": "state"})
    redmine = side("redmine", "redmine", redmine_backend.url, {}, {"api_key": redmine_backend.user_key},
                   redmine_backend.project, {"title": "subject", "state": "status"}, field_roles={"state": "state"},
                   transitions=PATH)
    rig = integrate(table, redmine, "table-redmine")
    rows = rig.factory(table.connection)
    rows.create("OPS", {"summary": "Already fixed upstream", "state": "Resolved"}, "")
    first = rig.run_once()
    assert first.get("errors") == 0, first
    assert not ActivityError.objects.exists()
    assert not PendingWork.objects.exists()
    [issue] = redmine_backend.user_connector().read([ArtifactPair.objects.get().right_id])
    assert issue.fields["status"] == "Resolved"
    rig.run_until_quiet()
    assert ArtifactPair.objects.count() == 1 and not PendingWork.objects.exists()
    rows.close()
