"""Processing semantics between two SQLite work-item tables."""

from __future__ import annotations

from integrations.engine.models import ChangeCursor, PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError


def test_two_way_create_update_and_echo_suppression(rig):
    a = rig.left.create("ALPHA", {"summary": "from left", "status": "New"}, hub_key="")
    rig.right.create("ALPHA", {"summary": "from right", "status": "Open"}, hub_key="")
    first = rig.run()
    assert first["created"] == 2, first
    pairs = {p.left_id: p for p in ArtifactPair.objects.all()}
    assert len(pairs) == 2
    left_rows, right_rows = rig.rows("left"), rig.rows("right")
    twin_of_a = right_rows[pairs[a.id].right_id]
    assert twin_of_a.fields["summary"] == "from left" and twin_of_a.hub_key
    twin_of_b = next(r for r in left_rows.values() if r.id != a.id)
    assert twin_of_b.fields["summary"] == "from right"
    # The hub's own creations come back on the next poll: nothing to do (echo suppression).
    second = rig.run()
    assert second["detected"] == 0 and second["writes"] == 0, second
    rig.left.update(a.id, {"summary": "edited on left"})
    third = rig.run()
    assert third["writes"] == 1
    assert rig.rows("right")[pairs[a.id].right_id].fields["summary"] == "edited on left"
    fourth = rig.run()
    assert fourth["detected"] == 0 and fourth["writes"] == 0, fourth


def test_unrouted_projects_do_not_flow_and_deletes_are_not_propagated(rig):
    rig.left.create("BETA", {"summary": "unrouted"}, hub_key="")
    kept = rig.left.create("ALPHA", {"summary": "routed"}, hub_key="")
    rig.run()
    assert ArtifactPair.objects.count() == 1
    assert [r.fields["summary"] for r in rig.rows("right").values()] == ["routed"]
    assert not PendingWork.objects.exists()
    pair = ArtifactPair.objects.get()
    rig.right._execute(f"DELETE FROM items WHERE id = {int(pair.right_id)}", fetch=False)
    rig.left.update(kept.id, {"summary": "after delete"})
    result = rig.run()
    assert result["errors"] == 0 and rig.rows("right") == {}
    assert sorted(r.fields["summary"] for r in rig.rows("left").values()) == ["after delete", "unrouted"]


def test_field_flow_direction_and_on_create(rig):
    rig.integration.field_flow = {"summary": {"direction": "left_to_right"},
                                  "priority": {"direction": "both", "frequency": "on_create"},
                                  "assignee": {"direction": "none"}}
    rig.integration.save()
    a = rig.left.create("ALPHA", {"summary": "s", "priority": "high", "assignee": "ann"}, hub_key="")
    rig.run()
    pair = ArtifactPair.objects.get()
    twin = rig.rows("right")[pair.right_id]
    assert twin.fields["priority"] == "high" and twin.fields["assignee"] is None
    rig.right.update(pair.right_id, {"summary": "right edit", "priority": "low"})
    rig.left.update(a.id, {"priority": "medium"})
    rig.run()
    assert rig.rows("left")[a.id].fields["summary"] == "s"  # right→left not allowed
    assert rig.rows("left")[a.id].fields["priority"] == "medium"  # on-create only: no update
    assert rig.rows("right")[pair.right_id].fields["priority"] == "low"


def _paired(rig):
    a = rig.left.create("ALPHA", {"summary": "base", "status": "New"}, hub_key="")
    rig.run()
    pair = ArtifactPair.objects.get()
    return a.id, pair.right_id


def test_conflict_error_blocks_the_pair_until_resolved(rig):
    left_id, right_id = _paired(rig)
    rig.left.update(left_id, {"summary": "L", "status": "Done"})
    rig.right.update(right_id, {"summary": "R"})
    result = rig.run()
    assert result["errors"] == 1
    error = ActivityError.objects.get()
    assert "summary" in error.message and "Conflict" in error.message
    # Blocked: not even the non-conflicting status went over.
    assert rig.rows("right")[right_id].fields["status"] == "New"
    assert PendingWork.objects.filter(status="blocked").exists()
    # Someone makes both sides agree; re-detection unblocks and the pair goes through.
    rig.right.update(right_id, {"summary": "L"})
    rig.run()
    assert rig.rows("right")[right_id].fields["status"] == "Done"
    error.refresh_from_db()
    assert error.status == "resolved"


def test_left_wins_right_wins_and_per_field_override(rig):
    rig.integration.conflict_strategy = "left_wins"
    rig.integration.conflict_overrides = {"status": "right_wins"}
    rig.integration.save()
    left_id, right_id = _paired(rig)
    rig.left.update(left_id, {"summary": "L", "status": "L-state"})
    rig.right.update(right_id, {"summary": "R", "status": "R-state"})
    assert rig.run()["errors"] == 0
    left, right = rig.rows("left")[left_id], rig.rows("right")[right_id]
    assert left.fields["summary"] == right.fields["summary"] == "L"
    assert left.fields["status"] == right.fields["status"] == "R-state"


def test_value_mappings(rig):
    left_c, right_c = rig.integration.left_collection, rig.integration.right_collection
    left_c.value_mappings = {"priority": {"P1": "high", "P2": "low"}}
    right_c.value_mappings = {"priority": {"Urgent": "high", "Whenever": "low"}}
    left_c.save()
    right_c.save()
    a = rig.left.create("ALPHA", {"summary": "x", "priority": "P1"}, hub_key="")
    rig.run()
    pair = ArtifactPair.objects.get()
    assert rig.rows("right")[pair.right_id].fields["priority"] == "Urgent"
    rig.right.update(pair.right_id, {"priority": "Whenever"})
    rig.run()
    assert rig.rows("left")[a.id].fields["priority"] == "P2"


def test_boundary_many_artifacts_share_one_second_across_pages(rig, monkeypatch):
    """250 rows with one updated-at stamp, pages of 100: every one synced once, none twice."""
    from datetime import UTC, datetime

    stamp = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
    monkeypatch.setattr("integrations.connectors.database.connector._now", lambda: stamp)
    ids = [rig.left.create("ALPHA", {"summary": f"n{n}"}, hub_key="").id for n in range(250)]
    monkeypatch.undo()
    rig.run()
    # More arrive at the very same second after the cursor reached it.
    monkeypatch.setattr("integrations.connectors.database.connector._now", lambda: stamp)
    ids += [rig.left.create("ALPHA", {"summary": f"late{n}"}, hub_key="").id for n in range(30)]
    monkeypatch.undo()
    rig.run()
    rig.run()
    pairs = list(ArtifactPair.objects.values_list("left_id", flat=True))
    assert sorted(pairs) == sorted(ids)
    right = rig.rows("right")
    assert len(right) == 280
    assert sorted(r.fields["summary"] for r in right.values()) == sorted(
        [f"n{n}" for n in range(250)] + [f"late{n}" for n in range(30)])
    cursor = ChangeCursor.objects.get(side="left", project="ALPHA")
    assert cursor.last_ts is not None
