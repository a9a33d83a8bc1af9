"""Moving routes between integrations: refusals, the move itself (pairs, pending work, intents,
cursors, errors), hub keys that survive it, and the proof that no artifact is created twice."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integrations import moves, services
from integrations.engine import leases, processing
from integrations.engine.models import ChangeCursor, CreateIntent, PendingWork
from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route, RouteMove
from notifications import services as activity
from notifications.models import ActivityError, AuditEvent
from tests.integrations.engine.helpers import Rig


def _target(rig: Rig, swap: bool = False, **fields) -> Integration:
    src = rig.integration
    left, right = src.left_collection, src.right_collection
    if swap:
        left, right = right, left
    target = Integration.objects.create(name="target", left_collection=left, right_collection=right,
                                        run_state="running", **fields)
    Route.objects.create(integration=target, left_project="BETA", right_project="BETA")
    return target


def _rig_for(rig: Rig, integration: Integration) -> Rig:
    return Rig(integration, rig.left, rig.right, wrap=rig.wrap)


def _move(rig: Rig, target: Integration, swap: bool = False) -> dict:
    route = rig.integration.routes.get()
    move = moves.start(rig.integration.pk, target.pk, [route.pk], swap, None)
    return moves.run(move.pk)


def _seed(rig: Rig, n: int = 6) -> None:
    for i in range(n):
        rig.left.create("ALPHA", {"summary": f"L{i}", "status": "New"}, hub_key="")
        rig.right.create("ALPHA", {"summary": f"R{i}", "status": "Open"}, hub_key="")
    rig.run_until_quiet()
    assert ArtifactPair.objects.filter(integration=rig.integration).count() == 2 * n


@pytest.mark.parametrize("swap", [False, True])
def test_after_a_move_both_integrations_run_and_create_nothing_while_every_edit_arrives(rig, swap):
    _seed(rig)
    target = _target(rig, swap=swap)
    before = {s: len(rig.rows(s)) for s in ("left", "right")}
    moved = _move(rig, target, swap=swap)
    assert moved["pairs"] == 12 and moved["routes"] == 1
    assert not ArtifactPair.objects.filter(integration=rig.integration).exists()
    route = Route.objects.get(integration=target, former__isnull=False, left_project="ALPHA")
    assert route.former == [{"integration": rig.integration.pk, "swapped": swap}]
    pairs = list(ArtifactPair.objects.filter(integration=target))
    ids = {s: set(rig.rows(s)) for s in ("left", "right")}
    # In the target's orientation: its left side is the source's right when swapped.
    tl, tr = ("right", "left") if swap else ("left", "right")
    assert {p.left_id for p in pairs} == ids[tl] and {p.right_id for p in pairs} == ids[tr]
    assert all(set(p.base) == {"left", "right"} and p.left_version and p.right_version for p in pairs)
    src_rig, tgt_rig = _rig_for(rig, rig.integration), _rig_for(rig, target)
    expected = {}
    for interval in range(3):  # several intervals, edits on both sides between them
        p = pairs[interval]
        left_conn, right_conn = (rig.right, rig.left) if swap else (rig.left, rig.right)
        left_conn.update(p.left_id, {"status": f"left edit {interval}"})
        right_conn.update(p.right_id, {"priority": f"right edit {interval}"})
        expected[p.pk] = (f"left edit {interval}", f"right edit {interval}")
        src_rig.run_until_quiet()
        tgt_rig.run_until_quiet()
    assert {s: len(rig.rows(s)) for s in ("left", "right")} == before  # no artifact created anywhere
    assert ArtifactPair.objects.count() == 12
    for p in ArtifactPair.objects.filter(pk__in=expected):
        left_conn, right_conn = (rig.right, rig.left) if swap else (rig.left, rig.right)
        lv = left_conn.read([p.left_id])[0].fields
        rv = right_conn.read([p.right_id])[0].fields
        assert lv["status"] == rv["status"] == expected[p.pk][0]
        assert lv["priority"] == rv["priority"] == expected[p.pk][1]


def test_the_old_code_path_of_editing_the_integration_is_refused(rig):
    _seed(rig, 2)
    target = _target(rig)
    route = rig.integration.routes.get()
    with pytest.raises(ValidationError, match="only by moving the route"):
        services.update(route, None, integration=target)
    pair = ArtifactPair.objects.first()
    with pytest.raises(ValidationError, match="only by moving"):
        services.update(pair, None, integration=target)
    assert Route.objects.get(pk=route.pk).integration_id == rig.integration.pk


def test_twin_created_before_the_move_and_not_yet_paired_is_adopted_by_its_old_hub_key(rig, monkeypatch):
    for n in range(4):
        rig.left.create("ALPHA", {"summary": f"c{n}"}, hub_key="")

    def crash(*args, **kwargs):  # dies after the remote creates, before the pairs commit
        raise SystemExit("killed")

    monkeypatch.setattr(processing, "commit", crash)
    with pytest.raises(SystemExit):
        rig.run()
    monkeypatch.undo()
    leases.release_run(rig.integration.pk, Integration.objects.get(pk=rig.integration.pk).sync_state.lease_owner)
    assert len(rig.rows("right")) == 4 and not ArtifactPair.objects.exists()
    assert CreateIntent.objects.filter(integration=rig.integration).count() == 4
    target = _target(rig)
    moved = _move(rig, target)
    assert moved["pending"] >= 4
    assert CreateIntent.objects.filter(integration=target).count() == 4
    _rig_for(rig, target).run_until_quiet()
    _rig_for(rig, rig.integration).run_until_quiet()
    assert len(rig.rows("right")) == 4  # adopted through the source's keys, not created again
    assert ArtifactPair.objects.filter(integration=target).count() == 4


def test_pending_work_cursors_and_open_errors_move_with_the_route(rig):
    _seed(rig, 2)
    src = rig.integration
    pair = ArtifactPair.objects.filter(integration=src).first()
    PendingWork.objects.create(integration=src, side="left", artifact_id=pair.left_id, project="ALPHA",
                               detected_at=pair.created_at)
    label = f"left-db:{pair.left_id}"
    activity.record_error(artifact=label, message="boom", integration_id=src.pk, integration_name=src.name)
    cursors = ChangeCursor.objects.filter(integration=src, project="ALPHA").count()
    assert cursors == 2
    target = _target(rig)
    review = moves.review(src.pk, target.pk, [src.routes.get().pk])
    assert review.counts == {"routes": 1, "pairs": 4, "pending": 1, "open_errors": 1}
    _move(rig, target)
    assert PendingWork.objects.filter(integration=target, artifact_id=pair.left_id).exists()
    assert ChangeCursor.objects.filter(integration=target, project="ALPHA").count() == 2
    assert not ChangeCursor.objects.filter(integration=src, project="ALPHA").exists()
    err = ActivityError.objects.get(artifact=label)
    assert err.integration_id == target.pk and err.integration_name == "target"
    assert {"route.move.start", "route.move.finish"} <= set(AuditEvent.objects.values_list("action", flat=True))


def test_refusals_name_their_reason(rig):
    _seed(rig, 1)
    src = rig.integration
    route = src.routes.get()
    other_conn = RepositoryConnection.objects.create(name="third-db", kind="database", url=rig.left.url,
                                                     options={"table": "items", "projects": "ALPHA,BETA"})
    coll = Collection.objects.create(name="third-items", connection=other_conn, projects=["ALPHA", "BETA"],
                                     field_mapping={"summary": "summary"})
    elsewhere = Integration.objects.create(name="elsewhere", left_collection=coll,
                                           right_collection=src.right_collection)
    r = moves.review(src.pk, elsewhere.pk, [route.pk])
    text = " ".join(r.problems)
    assert "uses connection 'left-db'" in text and "'third-db'" in text
    assert "same artifact type" in text
    assert "same integration" in " ".join(moves.review(src.pk, src.pk, [route.pk]).problems)
    target = _target(rig)
    Route.objects.create(integration=target, left_project="ALPHA", right_project="GAMMA")
    assert "already routes left project 'ALPHA'" in " ".join(moves.review(src.pk, target.pk, [route.pk]).problems)
    with pytest.raises(ValidationError):
        moves.start(src.pk, target.pk, [route.pk], False, None)
    assert not RouteMove.objects.exists()


def test_a_declared_successor_connection_allows_the_move(rig):
    _seed(rig, 1)
    src = rig.integration
    new_conn = RepositoryConnection.objects.create(name="left-db-new", kind="database", url=rig.left.url,
                                                   options={"table": "items", "projects": "ALPHA,BETA"})
    coll = Collection.objects.create(name="left-new", connection=new_conn, projects=["ALPHA", "BETA"],
                                     field_mapping=src.left_collection.field_mapping)
    target = Integration.objects.create(name="upgraded", left_collection=coll, right_collection=src.right_collection)
    route = src.routes.get()
    assert moves.review(src.pk, target.pk, [route.pk]).problems
    services.update(new_conn, None, successor_of=src.left_collection.connection)
    assert AuditEvent.objects.filter(action="connection.update", details__changed=["successor_of"]).exists()
    assert moves.review(src.pk, target.pk, [route.pk]).problems == []
    with pytest.raises(ValidationError, match="descends"):
        services.update(src.left_collection.connection, None, successor_of=new_conn)


def test_a_processing_integration_refuses_the_move_and_runs_skip_while_a_move_is_unfinished(rig):
    _seed(rig, 1)
    src, route = rig.integration, rig.integration.routes.get()
    target = _target(rig)
    assert leases.acquire_run(target.pk, "someone-else:1:x")
    assert "is processing" in " ".join(moves.review(src.pk, target.pk, [route.pk]).problems)
    with pytest.raises(moves.MoveRefused):  # the job's path: leases first, so nothing is left behind
        moves.start_and_run(src.pk, target.pk, [route.pk], False, None)
    assert not RouteMove.objects.exists()
    assert leases.acquire_run(src.pk, "probe:1:y")  # the source's lease was given back
    leases.release_run(src.pk, "probe:1:y")
    leases.release_run(target.pk, "someone-else:1:x")
    move = moves.start(src.pk, target.pk, [route.pk], False, None)
    # Killed before it ran: both integrations wait for it instead of touching half-moved pairs.
    assert "route move" in rig.run()["skipped"]
    assert "unfinished move" in " ".join(moves.review(src.pk, target.pk, [route.pk + 999]).problems)
    again = moves.start(src.pk, target.pk, [route.pk], False, None)
    assert again.pk == move.pk  # the same move again resumes it
    moves.run(move.pk)
    assert "skipped" not in rig.run()


def test_settings_screen_move_routes_page_reviews_confirms_and_queues_the_job(rig, django_capture_on_commit_callbacks):
    from django.test import Client

    from notifications.models import BackgroundJob
    from tests.factories import UserFactory

    _seed(rig, 2)
    target = _target(rig)
    route = rig.integration.routes.get()
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    settings_page = client.get("/admin/settings/").content.decode()
    assert "Move Routes Between Integrations" in settings_page and "Moving routes is not built yet" not in settings_page
    url = "/admin/settings/move-routes/"
    form = {"source": rig.integration.pk, "target": target.pk, "routes": [route.pk]}
    reviewed = client.post(url, {**form, "_review": "1"}).content.decode()
    assert "4 artifact pair(s)" in reviewed and "is running" in reviewed
    unconfirmed = client.post(url, {**form, "_move": "1"}).content.decode()
    assert "Tick" in unconfirmed and not BackgroundJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        done = client.post(url, {**form, "_move": "1", "confirm": "on"})
    assert done.status_code == 302
    job = BackgroundJob.objects.get(kind="integrations.move_routes")
    assert job.params == {"source": rig.integration.pk, "target": target.pk, "routes": [route.pk], "swap": False}
    from notifications import jobs

    jobs.execute(job.pk)
    assert Route.objects.get(pk=route.pk).integration_id == target.pk
    panel = client.get("/admin/settings/").content.decode()
    assert "items-sync → target: Done (4 pair(s))" in panel


def test_only_administrators_may_move(rig):
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from notifications.models import BackgroundJob
    from tasktop_hub import roles
    from tests.factories import UserFactory

    _seed(rig, 1)
    target = _target(rig)
    route = rig.integration.routes.get()
    integrator = UserFactory(username="integrator", is_staff=True)
    integrator.groups.add(Group.objects.get(name=roles.INTEGRATORS))
    body = {"source": rig.integration.pk, "target": target.pk, "routes": [route.pk],
            "confirm": "I understand that the routes, their pairs, pending work and open errors move to the target"}
    client = APIClient()
    client.force_authenticate(integrator)
    assert client.post("/api/v1/route-moves/", body, format="json").status_code == 403
    admin = APIClient()
    admin.force_authenticate(UserFactory(username="root", is_staff=True, is_superuser=True))
    review = admin.post("/api/v1/route-moves/review/", body, format="json")
    assert review.status_code == 200 and review.json()["counts"]["pairs"] == 2 and review.json()["allowed"]
    assert admin.post("/api/v1/route-moves/", {**body, "confirm": "yes"}, format="json").status_code == 400
    assert admin.post("/api/v1/route-moves/", body, format="json").status_code == 202
    assert BackgroundJob.objects.filter(kind="integrations.move_routes").count() == 1


def test_routes_command_reviews_refuses_with_reasons_and_moves(rig, capsys, django_capture_on_commit_callbacks):
    from django.core.management import CommandError, call_command

    _seed(rig, 2)
    route = rig.integration.routes.get()
    with pytest.raises(CommandError, match="refused"):
        call_command("routes", "move", "--from", "items-sync", "--to", "items-sync", "--route", str(route.pk),
                     "--yes")
    assert "Refused: The source and the target are the same integration." in capsys.readouterr().err
    target = _target(rig)
    call_command("routes", "review", "--from", "items-sync", "--to", "target", "--route", str(route.pk))
    assert "Moves: 1 routes, 4 pairs, 0 pending, 0 open errors" in capsys.readouterr().out
    with django_capture_on_commit_callbacks(execute=False):
        call_command("routes", "move", "--from", "items-sync", "--to", str(target.pk), "--route", str(route.pk),
                     "--yes")
    assert "succeeded" in capsys.readouterr().out
    assert Route.objects.get(pk=route.pk).integration_id == target.pk
    assert ArtifactPair.objects.filter(integration=target).count() == 4
