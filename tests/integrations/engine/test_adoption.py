"""A crash at every point of the create path, under every conflict strategy: the twin is
created once, and an edit made on the twin before the next run survives (it is the twin's
change, not a stale value to overwrite); an edit on both sides follows the strategy."""

from __future__ import annotations

import pytest

from integrations.engine import processing
from integrations.engine.models import CreateIntent, PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError

CRASH_POINTS = ("looking_up_twin", "before_remote_create", "after_remote_create", "before_commit")


class Crashing:
    """TEST WRAPPER around the real right-hand connector: the process "dies" (SystemExit, which
    nothing in the engine catches) at the chosen point of the create path."""

    def __init__(self, inner, point: str) -> None:
        self._inner, self.point = inner, point

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def find_by_hub_key(self, *args, **kwargs):
        if self.point == "looking_up_twin":
            raise SystemExit("killed while looking up the twin")
        return self._inner.find_by_hub_key(*args, **kwargs)

    def create(self, *args, **kwargs):
        if self.point == "before_remote_create":
            raise SystemExit("killed before the create reached the tool")
        created = self._inner.create(*args, **kwargs)
        if self.point == "after_remote_create":
            raise SystemExit("killed after the tool created the twin, before the answer was used")
        return created


def crash(rig, monkeypatch, point: str) -> None:
    if point == "before_commit":
        def die(*args, **kwargs):
            raise SystemExit("killed after the creates, before the pairs committed")

        monkeypatch.setattr(processing, "commit", die)
    else:
        rig.wrap = lambda c: Crashing(c, point) if c.url.endswith("right.db") else c
    with pytest.raises(SystemExit):
        rig.run()
    monkeypatch.undo()
    rig.wrap = None
    assert not ArtifactPair.objects.exists()
    assert PendingWork.objects.filter(side="left").count() == 1  # the crash left the work in place


@pytest.mark.parametrize("strategy", ["left_wins", "right_wins", "error"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_in_the_create_path_keeps_edits_made_on_the_twin(rig, monkeypatch, point, strategy):
    rig.integration.conflict_strategy = strategy
    rig.integration.save()
    source = rig.left.create("ALPHA", {"summary": "s", "status": "New", "priority": "p0"}, hub_key="").id
    crash(rig, monkeypatch, point)
    twins = list(rig.rows("right").values())
    twin_created = point in ("after_remote_create", "before_commit")
    assert len(twins) == (1 if twin_created else 0)
    rig.left.update(source, {"status": "source status"})
    if twin_created:
        # Someone edits the twin before the worker comes back: one field only there, one on both.
        rig.right.update(twins[0].id, {"priority": "twin edit", "status": "twin status"})
    rig.run_until_quiet()

    left, right = rig.rows("left"), rig.rows("right")
    assert len(left) == len(right) == 1  # the twin was created exactly once
    pair = ArtifactPair.objects.get() if strategy != "error" or not twin_created else None
    (r,) = right.values()
    if not twin_created:
        assert pair is not None and r.fields == left[source].fields
        assert r.fields["status"] == "source status" and r.fields["priority"] == "p0"
    elif strategy == "error":
        # The status conflict blocks the pair: nothing written on either side, the twin's edits stay.
        assert r.fields["priority"] == "twin edit" and r.fields["status"] == "twin status"
        assert left[source].fields["priority"] == "p0" and left[source].fields["status"] == "source status"
        assert "status" in ActivityError.objects.get().message
        assert PendingWork.objects.filter(status="blocked").exists()
    else:
        assert pair is not None and r.fields == left[source].fields
        assert r.fields["priority"] == "twin edit"  # changed only on the twin: the twin's value
        assert r.fields["status"] == ("source status" if strategy == "left_wins" else "twin status")
        assert not ActivityError.objects.exists()
    if pair is not None:
        assert not CreateIntent.objects.exists()  # recorded before the create, gone with the pair's commit


def test_twin_found_by_detection_adopts_with_the_recorded_base_on_the_right_side(rig, monkeypatch):
    """The mirror case: a right-hand source whose left twin was created before a crash."""
    rig.integration.conflict_strategy = "right_wins"
    rig.integration.save()
    source = rig.right.create("ALPHA", {"summary": "r", "status": "Open", "assignee": "ann"}, hub_key="").id

    def die(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(processing, "commit", die)
    with pytest.raises(SystemExit):
        rig.run()
    monkeypatch.undo()
    (twin,) = rig.rows("left").values()
    rig.left.update(twin.id, {"assignee": "bob"})
    rig.run_until_quiet()
    left, right = rig.rows("left"), rig.rows("right")
    assert len(left) == len(right) == 1
    assert left[twin.id].fields["assignee"] == right[source].fields["assignee"] == "bob"
