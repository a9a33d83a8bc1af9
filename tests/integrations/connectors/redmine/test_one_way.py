"""One-way templates mean what they say (issue 9.3), with Redmine as the side only read (live
and fake): "Synchronize: left → right" and "Create only: left → right" never create nor write an
issue in Redmine, whatever happens on the table; Redmine's changes reach the table."""

from __future__ import annotations

import pytest

from integrations.models import ArtifactPair
from tests.integrations.connectors.paging import drain
from tests.integrations.connectors.redmine.conftest import redmine_and_table_rig


@pytest.fixture
def rig(db, settings, redmine_backend, tmp_path):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    yield from redmine_and_table_rig(redmine_backend, tmp_path, "redmine-to-table")


def issues(rig) -> dict[str, dict]:
    c = rig.redmine.connector()
    return {a.id: a.fields for a in c.read(drain(c, rig.redmine.project, None, 100))}


def test_synchronize_left_to_right_never_writes_redmine(rig):
    rig.integration.template = "sync_left_to_right"
    rig.integration.save()
    made = rig.redmine.connector().create(rig.redmine.project, {"subject": "VPN drops", "description": "every hour"}, "")
    rig.run_until_quiet()
    row = ArtifactPair.objects.get().right_id
    assert rig.table.read([row])[0].fields["summary"] == "VPN drops"
    before = issues(rig)
    rig.table.update(row, {"summary": "VPN drops (edited in the table)"})
    rig.table.create("OPS", {"summary": "Born in the table"}, "")
    rig.run_until_quiet()
    assert issues(rig) == before, "the one-way integration wrote to the side it only reads"
    assert ArtifactPair.objects.count() == 1
    rig.redmine.connector().update(made.id, {"description": "every hour, since the upgrade"})
    rig.run_until_quiet()
    assert rig.table.read([row])[0].fields["details"] == "every hour, since the upgrade"


def test_create_only_creates_once_and_never_updates(rig):
    rig.integration.template = "create_left_to_right"
    rig.integration.save()
    made = rig.redmine.connector().create(rig.redmine.project, {"subject": "Badge reader", "description": "door 4"}, "")
    rig.table.create("OPS", {"summary": "Born in the table"}, "")
    rig.run_until_quiet()
    row = ArtifactPair.objects.get().right_id
    assert rig.table.read([row])[0].fields["summary"] == "Badge reader"
    assert [f["subject"] for f in issues(rig).values()] == ["Badge reader"]
    rig.redmine.connector().update(made.id, {"subject": "Badge reader (fixed)"})
    rig.run_until_quiet()
    assert rig.table.read([row])[0].fields["summary"] == "Badge reader"


def test_the_hub_key_field_is_asked_for_only_where_the_template_creates(rig):
    from integrations.engine.validation import config_problems

    connection = rig.integration.left_collection.connection
    connection.options = {"hub_key_field": "No such field"}
    connection.save()
    [problem] = config_problems(rig.integration)
    assert "'redmine-items'" in problem and "no issue custom field named 'No such field'" in problem
    rig.integration.template = "sync_left_to_right"  # Redmine is only read: no hub key needed
    rig.integration.save()
    assert config_problems(rig.integration) == []
