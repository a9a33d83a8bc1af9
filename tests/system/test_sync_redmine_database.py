"""A live Redmine project ↔ a ``database`` table on PostgreSQL, under the real hub processes.

Redmine is the live Debian Redmine of tests/integrations/connectors/redmine; the table lives in a fresh PostgreSQL
database; the hub runs as ``manage.py serve`` (gunicorn + a django-q2 worker) on a fresh
HUB_HOME set up with the real master-password and license commands.
"""

from __future__ import annotations

import time

import pytest

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.connectors.redmine.conftest import live_redmine  # noqa: F401  (the live Redmine fixture)
from tests.integrations.dbtargets import fresh_postgres_db
from tests.system.test_sync_tools import _wait, ready_hub  # noqa: F401  (the hub fixture)

pytestmark = [pytest.mark.system, pytest.mark.postgres]

REDMINE_STATES = {"New": "todo", "In Progress": "doing", "Resolved": "review", "Closed": "done"}
TABLE_STATES = {"Open": "todo", "Active": "doing", "Review": "review", "Closed": "done"}


def test_redmine_and_a_postgresql_table_two_way(request):
    import requests

    hub = request.getfixturevalue("ready_hub")
    redmine = request.getfixturevalue("live_redmine")
    headers = {"X-Redmine-API-Key": redmine.key}
    identifier = f"db-{int(time.time() * 1000) % 10**9}"
    requests.post(f"{redmine.url}/projects.json", headers=headers, timeout=30,
                  json={"project": {"name": identifier, "identifier": identifier, "is_public": True}}).raise_for_status()
    made = requests.post(f"{redmine.url}/issues.json", headers=headers, timeout=30,
                         json={"issue": {"project_id": identifier, "subject": "Backups fail at night"}}).json()["issue"]

    def redmine_issues() -> dict[str, dict]:
        issues = requests.get(f"{redmine.url}/issues.json", headers=headers, timeout=30,
                              params={"project_id": identifier, "status_id": "*"}).json()["issues"]
        return {i["subject"]: i for i in issues}

    with fresh_postgres_db("rmdb") as url:
        create_work_item_table(url, "items", ["summary", "status"])
        table = DatabaseConnector(url, {"table": "items"}, {})
        try:
            row = table.create("OPS", {"summary": "Rotate the VPN keys", "status": "Open"}, hub_key="")
            hub.configure({"name": "redmine-db", "sides": [
                {"name": "redmine", "kind": "redmine", "url": redmine.url, "options": {},
                 "secrets": {"api_key": redmine.key}, "project": identifier,
                 "mapping": {"title": "subject", "state": "status"},
                 "extra": {"field_roles": {"state": "state"}, "value_mappings": {"state": REDMINE_STATES}}},
                {"name": "table", "kind": "database", "url": url, "options": {"table": "items", "projects": "OPS"},
                 "secrets": {}, "project": "OPS", "mapping": {"title": "summary", "state": "status"},
                 "extra": {"value_mappings": {"state": TABLE_STATES}}},
            ]})
            hub.start()

            def rows() -> dict[str, dict]:
                found, _ = table._execute("SELECT id FROM items")
                return {a.fields["summary"]: a.fields for a in table.read([str(r[0]) for r in found])}

            _wait(lambda: "Rotate the VPN keys" in redmine_issues() and "Backups fail at night" in rows(), 120,
                  "the first Redmine ↔ table sync", hub)
            assert rows()["Backups fail at night"]["status"] == "Open"  # Redmine "New" through the model's "todo"
            assert redmine_issues()["Rotate the VPN keys"]["status"]["name"] == "New"

            requests.put(f"{redmine.url}/issues/{made['id']}.json", headers=headers, timeout=30,
                         json={"issue": {"status_id": 5}}).raise_for_status()  # Closed
            table.update(row.id, {"summary": "Rotate the VPN keys on all gateways", "status": "Active"})
            _wait(lambda: rows().get("Backups fail at night", {}).get("status") == "Closed"
                  and redmine_issues().get("Rotate the VPN keys on all gateways", {}).get("status", {}).get("name")
                  == "In Progress", 120, "changes both ways", hub)
            assert len(rows()) == 2 and len(redmine_issues()) == 2  # nothing duplicated, no echo copies
        finally:
            table.close()
    logs = [hub.log, *(hub.home / "logs").glob("*.log")]
    assert not any(redmine.key in p.read_text(errors="replace") for p in logs), "the Redmine key reached a log"
