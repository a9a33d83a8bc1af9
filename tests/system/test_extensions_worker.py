"""Extensions under the real django-q2 worker (a ``qcluster`` subprocess, the hub's database a
fresh PostgreSQL database, two PostgreSQL tool tables): a two-way sync in which all four types
take part — a custom data transformation (priority number ↔ label), a person reconciliation
extension, a state transition extension, and a payload transformation on a gateway collection
whose "Gateway: create" integration feeds the left table (a delivery recorded twice with one
Idempotency-Key) — and a failing transform whose artifact waits until a fixed version is saved
with ``manage.py extensions update``. (The gateway's HTTP side under load: test_gateway_flood.py.)"""

from __future__ import annotations

import json

import pytest

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.dbtargets import fresh_postgres_db
from tests.system.engine_procs import FIELDS, Worker, table, wait

pytestmark = [pytest.mark.system, pytest.mark.postgres]

CONFIGURE = """
import json, sys
from extensions.models import Extension
from integrations.models import Collection, Integration, RepositoryConnection, Route
spec = json.loads(sys.stdin.read())
cols = []
for name, url in (("left", spec["left"]), ("right", spec["right"])):
    conn = RepositoryConnection.objects.create(name=name + "-db", kind="database", url=url,
                                               options={"table": "items", "projects": "ALPHA", "people_table": "people"})
    cols.append(Collection.objects.create(name=name + "-items", connection=conn, projects=["ALPHA"],
                                          field_mapping={f: f for f in spec["fields"]},
                                          field_roles={"assignee": "person", "status": "state"}))
right = cols[1]
right.field_extensions = {"priority": {"read": "Example: priority number <-> label",
                                       "write": "Example: priority number <-> label"},
                          "summary": {"write": "guard"}}
right.person_strategy = "extension"
right.person_extension = Extension.objects.get(name="Example: match by e-mail across a domain move")
right.state_extension = Extension.objects.get(name="Example: close through Resolved")
right.full_clean()
right.save()
i = Integration.objects.create(name="ext-sync", left_collection=cols[0], right_collection=right,
                               run_state="running", change_detection_interval=10, conflict_strategy="left_wins")
Route.objects.create(integration=i, left_project="ALPHA", right_project="ALPHA")
# The fourth type: alerts POSTed to a gateway collection, reshaped by the payload example, created in the left table.
from integrations.gateway import services as gateway
hooks = RepositoryConnection.objects.create(name="alerts-gw", kind="gateway", url="", options={})
alerts = Collection.objects.create(name="alerts", connection=hooks, projects=["ALERTS"],
                                   field_mapping={f: f for f in ("summary", "priority", "status")},
                                   payload_extension=Extension.objects.get(name="Example: flatten a webhook"))
g = Integration.objects.create(name="alerts-in", template="gateway_create", left_collection=alerts,
                               right_collection=cols[0], run_state="running", change_detection_interval=10)
Route.objects.create(integration=g, left_project="ALERTS", right_project="ALPHA")
for _ in range(2):  # what the endpoint records; the repeated key makes nothing new
    gateway.receive(alerts, {"alert": {"title": "Disk full", "severity": "critical"}}, "alert-1")
"""
SYNC_PAIRS = """
import json
from integrations.models import ArtifactPair
print(json.dumps({p.left_id: p.right_id for p in ArtifactPair.objects.filter(integration__name="ext-sync")}))
"""
ERRORS = """
from notifications.models import ActivityError
print("|".join(e.message for e in ActivityError.objects.filter(status__in=["open", "retrying"])))
"""
GUARD_BROKEN = "function transform(v, f) {\n  if (String(v).includes('boom')) throw new Error('no boom');\n  return v\n}"
GUARD_FIXED = "function transform(v, f) {\n  return String(v).replace('boom', 'bang')\n}"


def twins(hub) -> dict[str, str]:
    """The two-way integration's pairs, left id → right id (the gateway integration has its own)."""
    done = hub.manage("shell", "-c", SYNC_PAIRS)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_way_sync_with_extensions_under_the_real_worker(engine_hub, tmp_path):
    hub = engine_hub
    guard = tmp_path / "guard.js"
    guard.write_text(GUARD_BROKEN)
    for args in (("extensions", "examples"), ("extensions", "create", "guard", "--type", "transform", "--file",
                                               str(guard))):
        done = hub.manage(*args)
        assert done.returncode == 0, done.stdout + done.stderr
    with fresh_postgres_db("extleft") as left_url, fresh_postgres_db("extright") as right_url:
        for url in (left_url, right_url):
            create_work_item_table(url, "items", FIELDS, people_table="people")
        opts = {"table": "items", "people_table": "people"}
        left, right = DatabaseConnector(left_url, opts, {}), DatabaseConnector(right_url, opts, {})
        insert = "INSERT INTO people (id, username, email) VALUES (%s, %s, %s)"
        left._execute(insert, ("1", "ann", "ann@old.example.com"), fetch=False)
        right._execute(insert, ("u-9", "asmith", "ann@new.example.com"), fetch=False)
        try:
            done = hub.manage("shell", "-c", CONFIGURE,
                              input=json.dumps({"left": left_url, "right": right_url, "fields": FIELDS}))
            assert done.returncode == 0, done.stdout + done.stderr
            worker = Worker(hub, tmp_path / "worker.log")
            worker.start()
            try:
                ok = left.create("ALPHA", {"summary": "fine", "status": "New", "assignee": "1", "priority": "2"},
                                 hub_key="")
                boom = left.create("ALPHA", {"summary": "boom", "status": "New", "priority": "3"}, hub_key="")

                def errors() -> str:
                    return hub.manage("shell", "-c", ERRORS).stdout.strip()

                seen: dict = {}

                def first_round_done() -> bool:
                    # One read of the pairs per poll (each is a `manage.py shell`): the good artifact and
                    # the gateway's alert synced, the failing one reported.
                    seen["twins"] = twins(hub)
                    alerts = [a.id for a in table(left).values() if a.fields["summary"] == "Disk full"]
                    seen["alert"] = alerts[0] if len(alerts) == 1 else None
                    return ok.id in seen["twins"] and seen["alert"] in seen["twins"] \
                        and "guard' version 1 failed on field 'summary' at line 2" in errors()

                try:
                    wait(first_round_done, 120, "the good artifact and the gateway's synced, the failing one reported",
                         worker.log)
                except AssertionError as exc:  # say which part never came
                    left_rows = {k: (a.fields, a.hub_key) for k, a in table(left).items()}
                    raise AssertionError(f"{exc}\ntwins {seen.get('twins')}\nleft {left_rows}\nerrors {errors()}") \
                        from None
                synced = seen["twins"]
                assert boom.id not in synced
                ok_twin = synced[ok.id]
                twin = table(right)[ok_twin].fields
                assert (twin["priority"], twin["assignee"], twin["status"]) == ("High", "u-9", "New")
                # The gateway's alert: reshaped (severity critical → "1"), created once on the left,
                # and synced to the right as the label.
                alert_twin = table(right)[synced[seen["alert"]]].fields
                assert (alert_twin["summary"], alert_twin["priority"], alert_twin["status"]) == ("Disk full", "Urgent",
                                                                                                  "New")
                # Two ways: a label set on the right arrives on the left as its number.
                right.update(ok_twin, {"priority": "Low"})
                wait(lambda: table(left)[ok.id].fields["priority"] == "4", 90, "label → number", worker.log)
                # State transition extension: closing goes through Resolved on the right.
                left.update(ok.id, {"status": "Closed"})
                wait(lambda: table(right)[ok_twin].fields["status"] == "Closed", 90, "closed", worker.log)
                # The failing artifact waits; saving a fixed version retries it.
                guard.write_text(GUARD_FIXED)
                done = hub.manage("extensions", "update", "guard", "--file", str(guard))
                assert done.returncode == 0 and "version 2" in done.stdout, done.stdout + done.stderr
                wait(lambda: boom.id in twins(hub) and "guard" not in errors(), 120, "the fixed version retried",
                     worker.log)
                boom_twin = twins(hub)[boom.id]
                assert table(right)[boom_twin].fields["summary"] == "bang"
                assert table(right)[boom_twin].fields["priority"] == "Normal"
                assert len(table(left)) == len(table(right)) == 3  # ok, boom and the alert, each once
            finally:
                worker.stop()
        finally:
            left.close()
            right.close()
