"""Two-way Redmine ↔ Jira through the real engine: Redmine live (and on the fake tracker), Jira on
its local API stand-in. Jira's workflow is walked through the collection's transition graph."""

from __future__ import annotations

import pytest

from integrations.connectors import http
from integrations.connectors.jira.client import forget_clients
from integrations.models import ArtifactPair
from tests.fakes.clock import FakeClock
from tests.fakes.jira_api import JiraApi
from tests.integrations.tool_rig import JIRA_GRAPH, integrate, side

JIRA_TOKEN = "jira-e2e-token-0123456789"
REDMINE_STATES = {"New": "todo", "In Progress": "doing", "Resolved": "review", "Closed": "done"}
JIRA_STATES = {"To Do": "todo", "In Progress": "doing", "In Review": "review", "Done": "done"}


@pytest.fixture
def rig(db, settings, redmine_backend):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    forget_clients()
    jira = JiraApi(deployment="dc", time_zone="America/Sao_Paulo")
    jira.add_user("hubbot", "hub@example.com", JIRA_TOKEN)
    jira.add_project("OPS")
    with jira, http.use_clock(FakeClock()):
        left = side("redmine", "redmine", redmine_backend.url, {}, {"api_key": redmine_backend.key},
                    redmine_backend.project, {"title": "subject", "description": "description", "state": "status"},
                    field_roles={"state": "state"}, value_mappings={"state": REDMINE_STATES})
        right = side("jira", "jira", jira.url, {"projects": "OPS", "deployment": "datacenter"}, {"token": JIRA_TOKEN},
                     "OPS", {"title": "summary", "description": "description", "state": "status"},
                     field_roles={"state": "state"}, value_mappings={"state": JIRA_STATES}, transitions=JIRA_GRAPH)
        r = integrate(left, right, "redmine-jira")
        r.jira, r.redmine = jira, redmine_backend
        yield r
    forget_clients()


def test_two_way_redmine_jira(rig):
    redmine = rig.redmine.connector()
    jira = rig.jira
    made = redmine.create(rig.redmine.project, {"subject": "Disk full on db1", "description": "df -h says 100%"}, "")
    ticket = jira.add_issue("OPS", "Rotate TLS certificates", description="before Friday")
    rig.run_until_quiet()

    pair = ArtifactPair.objects.get(left_id=made.id)
    twin = next(i for i in jira.issues.values() if i["id"] == pair.right_id)
    assert twin["fields"]["summary"] == "Disk full on db1" and twin["fields"]["status"] == "To Do"
    back = ArtifactPair.objects.get(right_id=ticket["id"])
    in_redmine = redmine.read([back.left_id])[0]
    assert in_redmine.fields["subject"] == "Rotate TLS certificates"
    assert in_redmine.fields["description"] == "before Friday"

    # Redmine → Jira: "Closed" is "Done", three transitions away in Jira's workflow.
    redmine.update(made.id, {"status": "Closed"})
    rig.run_until_quiet()
    assert twin["fields"]["status"] == "Done"
    assert len(jira.requests_to(f"/rest/api/2/issue/{twin['id']}/transitions", "POST")) == 3

    # Jira → Redmine: a summary edit and a status change arrive; nothing echoes back.
    jira.touch(ticket["key"], summary="Rotate TLS certificates (all hosts)", status="In Progress")
    runs = rig.run_until_quiet()
    after = redmine.read([back.left_id])[0]
    assert after.fields["subject"] == "Rotate TLS certificates (all hosts)"
    assert after.fields["status"] == "In Progress"
    assert runs[-1]["detected"] == 0
    assert ArtifactPair.objects.count() == 2
