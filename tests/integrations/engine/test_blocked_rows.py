"""No stale blocked rows (issue 9.4): once a pair is processed without error, the rows an
earlier failed attempt blocked — on either side — are gone, with their Activity error."""

from __future__ import annotations

from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair
from notifications.models import ActivityError


def test_a_pair_processed_after_a_conflict_leaves_no_blocked_row(rig):
    a = rig.left.create("ALPHA", {"summary": "first"}, hub_key="")
    rig.run_until_quiet()
    twin = ArtifactPair.objects.get().right_id
    rig.left.update(a.id, {"summary": "left says"})
    rig.right.update(twin, {"summary": "right says"})
    rig.run()
    assert set(PendingWork.objects.values_list("side", "status")) == {("left", "blocked"), ("right", "blocked")}
    # A person settles it on the right: only the right row is detected again, and the pair syncs.
    rig.right.update(twin, {"summary": "left says"})
    rig.run_until_quiet()
    assert not PendingWork.objects.exists(), list(PendingWork.objects.values("side", "status"))
    assert not ActivityError.objects.filter(status=ActivityError.Status.OPEN).exists()
