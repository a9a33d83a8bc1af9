"""Creating a Redmine issue whose status is not the tracker's initial one (issue 9.4): Redmine
creates it as "New" for a non-admin, and the hub walks the collection's transition path to the
wanted status in the same unit — no Activity error, no pending row left behind."""

from __future__ import annotations

import pytest

from integrations.connectors.base import ConnectorError
from integrations.connectors.database.schema import create_work_item_table
from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError
from tests.integrations.tool_rig import integrate, side

# Only New → In Progress → Resolved, as a workflow a team may configure.
PATH = {"New": ["In Progress"], "In Progress": ["Resolved", "New"], "Resolved": ["In Progress"]}


def table_to_redmine(settings, redmine_backend, tmp_path):
    """A work-item table → the project on Redmine, as the non-admin user, with PATH configured."""
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    path = tmp_path / "items.db"
    path.touch()
    url = f"sqlite:///{path}"
    create_work_item_table(url, "items", ["summary", "state"])
    table = side("table", "database", url, {"table": "items", "projects": "OPS"}, {}, "OPS",
                 {"title": "summary", "state": "state"}, field_roles={"state": "state"})
    redmine = side("redmine", "redmine", redmine_backend.url, redmine_backend.user_options(),
                   {"api_key": redmine_backend.user_key},
                   redmine_backend.project, {"title": "subject", "state": "status"}, field_roles={"state": "state"},
                   transitions=PATH)
    rig = integrate(table, redmine, "table-redmine")
    return rig, rig.factory(table.connection)


def test_create_in_a_later_status_walks_the_path_at_once(db, settings, redmine_backend, tmp_path):
    if redmine_backend.name == "fake":
        pytest.skip("the fake tracker accepts any status at creation; Redmine gives a non-admin the initial one")
    rig, rows = table_to_redmine(settings, redmine_backend, tmp_path)
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


def test_a_crash_before_the_walk_ends_walks_on(db, settings, redmine_backend, tmp_path):
    """The twin exists in "New" but the unit died before reaching "Resolved": the twin adopted by
    the next run is walked on — its "New" is not taken for a change flowing back to the table."""
    if redmine_backend.name == "fake":
        pytest.skip("the fake tracker accepts any status at creation; Redmine gives a non-admin the initial one")
    rig, rows = table_to_redmine(settings, redmine_backend, tmp_path)
    made = rows.create("OPS", {"summary": "Half walked", "state": "Resolved"}, "")

    class CrashOnFirstStep:
        crashed = False

        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def transition(self, *args):
            if not CrashOnFirstStep.crashed:
                CrashOnFirstStep.crashed = True
                raise ConnectorError("the hub's process died here")
            return self._inner.transition(*args)

    rig.wrap = lambda inner: CrashOnFirstStep(inner) if inner.kind == "redmine" else inner
    rig.run_once()
    assert CrashOnFirstStep.crashed
    rig.run_until_quiet()
    pair = ArtifactPair.objects.get()
    assert rows.read([made.id])[0].fields["state"] == "Resolved"
    [issue] = redmine_backend.user_connector().read([pair.right_id])
    assert issue.fields["status"] == "Resolved"
    rows.close()
