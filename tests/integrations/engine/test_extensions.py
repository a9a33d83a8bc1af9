"""Extensions in the engine: custom data transformations per field and direction (called from
mapping.convert_many only), a non-deterministic one reported instead of looped on, a failing one
blocking its artifact until a fixed version is saved; person reconciliation and state transition
extensions. Real quickjs-ng sandbox children and two real SQLite tool tables."""

from __future__ import annotations

import pytest

from extensions import services as ext_services
from extensions.models import Extension
from extensions.sandbox.pool import Pool
from integrations.connectors.base import ConnectorError
from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError
from tests.integrations.engine.helpers import make_people_rig

TO_LABEL = """
const LABELS = {"1": "Urgent", "2": "High", "3": "Normal", "4": "Low"};
function transform(value, fields) {
  if (value === null || value === "") return value;
  return LABELS[String(value)] || "Normal";
}"""
TO_NUMBER = """
const NUMBERS = {"Urgent": "1", "High": "2", "Normal": "3", "Low": "4"};
function transform(value, fields) {
  if (value === null || value === "") return value;
  return NUMBERS[value] || "3";
}"""


def _use(rig, side, field, **directions):
    coll = getattr(rig.integration, f"{side}_collection")
    coll.field_extensions = {**coll.field_extensions, field: directions}
    coll.full_clean()
    coll.save()


@pytest.fixture
def priority_rig(rig):
    ext_services.create(None, name="to-label", type="transform", source=TO_LABEL)
    ext_services.create(None, name="to-number", type="transform", source=TO_NUMBER)
    # The right tool speaks labels: numbers are written as labels, labels read back as numbers.
    _use(rig, "right", "priority", write="to-label", read="to-number")
    return rig


def test_a_transform_converts_both_ways_and_settles(priority_rig):
    rig = priority_rig
    a = rig.left.create("ALPHA", {"summary": "s", "priority": "2"}, hub_key="")
    rig.run_until_quiet()
    pair = ArtifactPair.objects.get(left_id=a.id)
    assert rig.rows("right")[pair.right_id].fields["priority"] == "High"
    rig.right.update(pair.right_id, {"priority": "Low"})
    runs = rig.run_until_quiet()
    assert rig.rows("left")[a.id].fields["priority"] == "4"
    assert rig.rows("right")[pair.right_id].fields["priority"] == "Low"
    assert runs[-1].get("writes", 0) == 0 and not ActivityError.objects.exists()


def test_a_nondeterministic_transform_is_reported_not_looped_on(rig):
    ext_services.create(None, name="noisy", type="transform",
                        source="function transform(v, f) { return v + ' #' + Math.floor(Math.random() * 1e9) }")
    _use(rig, "right", "summary", write="noisy")
    a = rig.left.create("ALPHA", {"summary": "s"}, hub_key="")
    rig.run()
    rig.run()
    error = ActivityError.objects.get()
    assert "Extension 'noisy' version 1 failed" in error.message and "not deterministic" in error.message
    assert a.id in error.artifact
    assert rig.rows("right") == {}  # nothing written, and the work waits (blocked), not retried forever
    assert PendingWork.objects.get(artifact_id=a.id).status == PendingWork.Status.BLOCKED


def test_a_failing_transform_blocks_its_artifact_until_a_fixed_version_is_saved(rig):
    ext = ext_services.create(None, name="shout", type="transform",
                              source="function transform(v, f) {\n  console.log('input', v);\n  return v.toUpperCase()\n}")
    _use(rig, "left", "assignee", read="shout")
    a = rig.left.create("ALPHA", {"summary": "s"}, hub_key="")  # assignee is null: the script throws
    rig.run()
    error = ActivityError.objects.get()
    assert "Extension 'shout' version 1 failed on field 'assignee' at line 3: TypeError" in error.message
    assert "Console: input null" in error.message
    assert PendingWork.objects.get(artifact_id=a.id).status == PendingWork.Status.BLOCKED
    ext_services.update(None, ext, source="function transform(v, f) {\n  return v === null ? 'nobody' : v.toUpperCase()\n}")
    assert PendingWork.objects.get(artifact_id=a.id).status == PendingWork.Status.READY
    rig.run_until_quiet()
    pair = ArtifactPair.objects.get(left_id=a.id)
    assert rig.rows("right")[pair.right_id].fields["assignee"] == "nobody"
    error.refresh_from_db()
    assert error.status == ActivityError.Status.RESOLVED


def test_an_artifacts_transforms_take_one_round_trip_and_each_failing_field_is_named(rig, monkeypatch):
    ext_services.create(None, name="tag", type="transform",
                        source="function transform(v, f) { return v === null ? v : v + '!' }")
    ext_services.create(None, name="fragile", type="transform", source="function transform(v, f) {\n  return v.x.y\n}")
    _use(rig, "left", "summary", read="tag")
    _use(rig, "right", "summary", write="tag")  # read then write: a chain of two, still one call
    _use(rig, "right", "status", write="tag")
    batches: list[int] = []
    real = Pool.run_batch
    monkeypatch.setattr(Pool, "run_batch", lambda self, calls, *a, **k: batches.append(len(calls)) or real(
        self, calls, *a, **k))
    created = [rig.left.create("ALPHA", {"summary": f"s{i}", "status": "New"}, hub_key="").id for i in range(3)]
    rig.run()
    assert batches == [2, 2, 2]  # one round trip per artifact, carrying both fields
    assert sorted(r.fields["summary"] for r in rig.rows("right").values()) == ["s0!!", "s1!!", "s2!!"]
    # Two fields failing on one artifact: one Activity error naming each (extension, version, field, line).
    _use(rig, "right", "priority", write="fragile")
    _use(rig, "right", "assignee", write="fragile")
    rig.left.update(created[0], {"summary": "changed"})
    rig.run()
    error = ActivityError.objects.get()
    assert "Extension 'fragile' version 1 failed on field 'assignee' at line 2" in error.message
    assert "Extension 'fragile' version 1 failed on field 'priority' at line 2" in error.message


@pytest.fixture
def people_rig(db, sqlite_urls, settings):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    r = make_people_rig(*sqlite_urls, [("1", "ann", "ann@old.example.com")], [("u-9", "asmith", "ann@new.example.com")])
    yield r
    r.left.close()
    r.right.close()


def test_a_person_reconciliation_extension_picks_the_match(people_rig):
    rig = people_rig
    ext = ext_services.create(None, name="domain-move", type="person", source="""
function match(person, candidates) {
  const local = person.email.split("@")[0];
  const hit = candidates.find(c => c.email === local + "@new.example.com");
  return hit ? hit.id : null;
}""")
    right = rig.integration.right_collection
    right.person_strategy, right.person_extension = "extension", ext
    right.full_clean()
    right.save()
    a = rig.left.create("ALPHA", {"summary": "s", "assignee": "1"}, hub_key="")
    rig.run()
    pair = ArtifactPair.objects.get(left_id=a.id)
    assert rig.rows("right")[pair.right_id].fields["assignee"] == "u-9"
    # No match: the fallback (the collection's default person) applies.
    rig.left._execute("INSERT INTO people (id, username, email) VALUES ('2', 'bob', 'bob@x.org')", fetch=False)
    right.default_person = "u-9"
    right.save()
    b = rig.left.create("ALPHA", {"summary": "t", "assignee": "2"}, hub_key="")
    rig.run()
    assert rig.rows("right")[ArtifactPair.objects.get(left_id=b.id).right_id].fields["assignee"] == "u-9"


class RefusingTransitions:
    """TEST WRAPPER around the real connector: the tool refuses the state 'Closed' directly."""

    def __init__(self, inner):
        self._inner, self.steps = inner, []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def transition(self, artifact_id, field_name, state):
        self.steps.append(state)
        if state == "Closed" and self.steps[-2:-1] != ["Resolved"]:
            raise ConnectorError("HTTP 422: status cannot change to Closed from here")
        return self._inner.transition(artifact_id, field_name, state)


def test_a_state_transition_extension_walks_through_an_intermediate_state(rig):
    steps = ext_services.create(None, name="via-resolved", type="state", source="""
function transitions(current, desired, artifact) {
  if (desired === "Closed" && current !== "Resolved") return ["Resolved", "Closed"];
  return [desired];
}""")
    for side in ("left", "right"):
        coll = getattr(rig.integration, f"{side}_collection")
        coll.field_roles = {"status": "state"}
        coll.save()
    right = rig.integration.right_collection
    right.state_extension = steps
    right.save()
    wrappers = {}
    rig.wrap = lambda inner: wrappers.setdefault(len(wrappers), RefusingTransitions(inner))
    a = rig.left.create("ALPHA", {"summary": "s", "status": "New"}, hub_key="")
    rig.run_until_quiet()
    pair = ArtifactPair.objects.get(left_id=a.id)
    rig.left.update(a.id, {"status": "Closed"})
    rig.run_until_quiet()
    assert rig.rows("right")[pair.right_id].fields["status"] == "Closed"
    assert ["Resolved", "Closed"] == [s for w in wrappers.values() for s in w.steps][-2:]
    # A script that skips the intermediate state: the failing step is named.
    ext_services.update(None, steps, source="function transitions(current, desired) { return [desired] }")
    rig.left.update(a.id, {"status": "Reopened"})
    rig.run_until_quiet()
    rig.left.update(a.id, {"status": "Closed"})
    rig.run_until_quiet()
    error = ActivityError.objects.get()
    assert "State transition step 1 of 1 (to 'Closed'" in error.message and "HTTP 422" in error.message


def test_the_harness_runs_on_a_recorded_artifact_and_writes_nothing(priority_rig, staff_client):
    rig = priority_rig
    a = rig.left.create("ALPHA", {"summary": "s", "priority": "1"}, hub_key="")
    ext = Extension.objects.get(name="to-label")
    conn = rig.integration.left_collection.connection
    before = rig.rows("left")[a.id].fields
    r = staff_client.post(f"/api/v1/extensions/{ext.pk}/run/",
                          {"connection": conn.pk, "artifact": a.id, "field": "priority"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["ok"] and r.json()["result"] == "Urgent" and r.json()["input"][0] == "1"
    assert rig.rows("left")[a.id].fields == before and rig.rows("right") == {}
    missing = staff_client.post(f"/api/v1/extensions/{ext.pk}/run/",
                                {"connection": conn.pk, "artifact": "999999", "field": "priority"}, format="json")
    assert missing.status_code == 400 and "has no artifact '999999'" in str(missing.json())
    both = staff_client.post(f"/api/v1/extensions/{ext.pk}/run/", {"input": [1, {}], "connection": conn.pk},
                             format="json")
    assert both.status_code == 400
