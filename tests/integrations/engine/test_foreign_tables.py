"""A table of another application, read one-way (issue 9.3): shaped like Redmine's own
``issues`` table (integer status and priority ids, ``updated_on``, no hub-key column) on
PostgreSQL, into a work-item table. No hub-key column is needed on a side that never receives
creates — the configuration check says so before running, not the run — and value mappings
map integer ids as they map text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from integrations.engine.validation import config_problems
from integrations.models import ArtifactPair
from tests.integrations.dbtargets import fresh_postgres_db
from tests.integrations.tool_rig import integrate, side

REDMINE_LIKE = """CREATE TABLE issues (id SERIAL PRIMARY KEY, project_id INTEGER NOT NULL,
    subject VARCHAR(255) NOT NULL, status_id INTEGER NOT NULL, priority_id INTEGER NOT NULL,
    lock_version INTEGER NOT NULL DEFAULT 0, updated_on TIMESTAMP(6) NOT NULL)"""


@pytest.fixture
def foreign(db, settings, tmp_path):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    with fresh_postgres_db() as url:
        source = DatabaseConnector(url, {"table": "issues"}, {})
        source._execute(REDMINE_LIKE, fetch=False)
        target = tmp_path / "items.db"
        target.touch()
        target_url = f"sqlite:///{target}"
        create_work_item_table(target_url, "items", ["summary", "state", "priority"])
        left = side("redmine-db", "database", url,
                    {"table": "issues", "project_column": "project_id", "updated_column": "updated_on",
                     "projects": "7"}, {}, "7",
                    {"title": "subject", "state": "status_id", "priority": "priority_id"},
                    value_mappings={"state": {"1": "new", "2": "doing", "5": "done"},
                                    "priority": {"2": "normal", "3": "high"}})
        right = side("items", "database", target_url, {"table": "items", "projects": "OPS"}, {}, "OPS",
                     {"title": "summary", "state": "state", "priority": "priority"},
                     value_mappings={"state": {"New": "new", "In Progress": "doing", "Closed": "done"},
                                     "priority": {"Normal": "normal", "High": "high"}})
        rig = integrate(left, right, "redmine-table-one-way")
        rig.source, rig.target = source, DatabaseConnector(target_url, {"table": "items"}, {})
        yield rig
        source.close()
        rig.target.close()


def insert_issue(rig, subject: str, status: int, priority: int) -> str:
    rows, _ = rig.source._execute(
        "INSERT INTO issues (project_id, subject, status_id, priority_id, updated_on) VALUES (7, %s, %s, %s, %s) "
        "RETURNING id", [subject, status, priority, datetime.now(UTC).replace(tzinfo=None)])
    return str(rows[0][0])


def test_two_way_asks_for_the_hub_key_column_before_running(foreign):
    problems = config_problems(foreign.integration)
    assert any("has no hub-key column 'hub_key'" in p and "redmine-db" in p for p in problems), problems
    assert not any("items-items" in p for p in problems), problems


def test_one_way_from_a_table_without_hub_key_maps_integer_ids(foreign):
    foreign.integration.template = "sync_left_to_right"
    foreign.integration.save()
    assert config_problems(foreign.integration) == []
    issue = insert_issue(foreign, "Toner low", status=2, priority=3)
    foreign.run_until_quiet()
    [row] = foreign.target.read([ArtifactPair.objects.get(left_id=issue).right_id])
    assert row.fields == {"summary": "Toner low", "state": "In Progress", "priority": "High"}
    # A row born in the target stays there: nothing is inserted into the other application's table.
    foreign.target.create("OPS", {"summary": "not for Redmine", "state": "New"}, "")
    foreign.run_until_quiet()
    count, _ = foreign.source._execute("SELECT COUNT(*) FROM issues")
    assert count[0][0] == 1 and ArtifactPair.objects.count() == 1


def test_a_field_flowing_against_the_template_is_a_configuration_problem(foreign):
    foreign.integration.template = "sync_left_to_right"
    foreign.integration.field_flow = {"state": {"direction": "right_to_left"}}
    foreign.integration.save()
    [problem] = config_problems(foreign.integration, live=False)
    assert "'state' is right → left" in problem and "never writes on the left side" in problem


def test_value_mappings_map_any_scalar():
    from integrations.engine.mapping import Side, model_value, tool_value
    from integrations.models import Collection

    side = Side("left", Collection(name="c", value_mappings={"state": {"1": "new", "New": "new"},
                                                             "flag": {"true": "yes"}}))
    assert model_value(side, "state", 1) == "new" and model_value(side, "state", "New") == "new"
    assert model_value(side, "flag", True) == "yes" and model_value(side, "state", 9) == 9
    assert tool_value(side, "state", "new") in ("1", "New")
