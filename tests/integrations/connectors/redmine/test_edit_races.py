"""A person's Redmine edit racing the hub's write of the same issue (issue 9.1), on the live
Redmine and on the fake tracker: made between the hub's read and its PUT, or between the PUT
and the connector's read-back, it is synchronised — never recorded as the hub's own echo."""

from __future__ import annotations

import pytest

from integrations.models import ArtifactPair
from tests.integrations.connectors.redmine.conftest import redmine_and_table_rig
from tests.integrations.engine.races import EditRace, Once


@pytest.fixture
def rig(db, settings, redmine_backend, tmp_path):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    yield from redmine_and_table_rig(redmine_backend, tmp_path, "redmine-table")


@pytest.mark.parametrize("when", ["before", "after"])
def test_person_edit_racing_the_hub_put_is_synchronised(rig, when):
    person = rig.redmine.user_connector()
    issue = person.create(rig.redmine.project, {"subject": "Printer jam", "description": "tray 2"}, "")
    rig.run_until_quiet()
    row = ArtifactPair.objects.get().right_id
    rig.table.update(row, {"summary": "Printer jam on floor 3"})
    # While the hub writes the subject into Redmine, a person edits the description there.
    edit = Once(lambda: person.update(issue.id, {"description": "tray 2, and the fuser is hot"}))
    rig.wrap = lambda inner: EditRace(inner, issue.id, edit, when=when) if inner.kind == "redmine" else inner
    rig.run_until_quiet()
    assert edit.fired
    rig.wrap = None
    rig.run_until_quiet()
    [now] = person.read([issue.id])
    assert now.fields["subject"] == "Printer jam on floor 3"
    assert now.fields["description"] == "tray 2, and the fuser is hot"
    [twin] = rig.table.read([row])
    assert twin.fields["details"] == "tray 2, and the fuser is hot", "the person's edit was taken for the hub's echo"
