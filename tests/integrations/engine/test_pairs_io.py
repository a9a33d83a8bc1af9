"""Importing and exporting artifact pairs: the dry run's report with line numbers, the all or
nothing import, verification through the connectors, and export → import into a fresh hub →
run with no duplicate and no write."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from integrations import pairs_io
from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair, Integration, Route
from notifications import jobs
from notifications.models import BackgroundJob
from tasktop_hub import roles
from tests.factories import UserFactory
from tests.integrations.engine.helpers import Rig

HEADER = "integration,left_connection,left_id,right_connection,right_id,left_project,right_project\n"


def _twins(rig: Rig, n: int) -> list[tuple[str, str]]:
    """Artifacts kept in step elsewhere: the same values on both sides, no pair in the hub."""
    out = []
    for i in range(n):
        a = rig.left.create("ALPHA", {"summary": f"S{i}", "status": "New"}, hub_key="")
        b = rig.right.create("ALPHA", {"summary": f"S{i}", "status": "New"}, hub_key="")
        out.append((a.id, b.id))
    return out


def _csv(rows: list[tuple[str, str]], integration: str = "items-sync") -> str:
    return HEADER + "".join(f"{integration},left-db,{a},right-db,{b},ALPHA,ALPHA\n" for a, b in rows)


def test_dry_run_reports_every_kind_of_row_with_its_line(rig):
    rows = _twins(rig, 4)
    ArtifactPair.objects.create(integration=rig.integration, route=rig.integration.routes.get(),
                                left_id=rows[0][0], right_id=rows[0][1])
    ArtifactPair.objects.create(integration=rig.integration, route=rig.integration.routes.get(),
                                left_id=rows[1][0], right_id="999")
    text = HEADER + "\n".join([
        f"items-sync,left-db,{rows[0][0]},right-db,{rows[0][1]},ALPHA,ALPHA",   # line 2: present
        f"items-sync,left-db,{rows[1][0]},right-db,{rows[1][1]},ALPHA,ALPHA",   # 3: conflict (paired with 999)
        f"items-sync,left-db,{rows[2][0]},right-db,{rows[2][1]},ALPHA,ALPHA",   # 4: add
        f"items-sync,left-db,{rows[2][0]},right-db,{rows[3][1]},ALPHA,ALPHA",   # 5: twice in the file
        "nope,left-db,1,right-db,2,ALPHA,ALPHA",                               # 6: unknown integration
        "items-sync,left-db,1,other-db,2,ALPHA,ALPHA",                          # 7: unknown connection
        "items-sync,left-db,1,right-db,2,BETA,BETA",                            # 8: unknown route
        "items-sync,left-db,,right-db,2,ALPHA,ALPHA",                            # 9: malformed (empty id)
        "items-sync,left-db,1,right-db",                                         # 10: malformed (short)
        f"items-sync,right-db,{rows[3][1]},left-db,{rows[3][0]},ALPHA,ALPHA",   # 11: add, sides written swapped
    ]) + "\n"
    report = pairs_io.dry_run(text, "csv")
    assert report.counts == {"rows": 10, "add": 2, "present": 1, "conflict": 2, "unknown": 3, "malformed": 2,
                             "missing": 0}
    lines = {k: [i["line"] for i in v] for k, v in report.issues.items()}
    assert lines == {"conflict": [3, 5], "unknown": [6, 7, 8], "malformed": [9, 10], "missing": []}
    assert "already paired with 999" in report.issues["conflict"][0]["message"]
    assert "also on line 4" in report.issues["conflict"][1]["message"]
    with pytest.raises(ValidationError):
        pairs_io.apply(report, None)  # all or nothing: a file with problems imports nothing
    assert ArtifactPair.objects.count() == 2


def test_unknown_columns_and_keys_are_refused(rig):
    with pytest.raises(ValidationError, match="unknown column.*colour"):
        pairs_io.dry_run(HEADER.strip() + ",colour\n", "csv")
    report = pairs_io.dry_run(json.dumps({"pairs": [{"integration": "items-sync", "colour": "red"}]}), "json")
    assert report.counts["malformed"] == 1 and "colour" in report.issues["malformed"][0]["message"]


def test_verification_reports_artifacts_the_tools_do_not_have(rig):
    rows = _twins(rig, 3)
    text = _csv([*rows, ("4040", rows[0][1] + "x")])
    report = pairs_io.dry_run(text, "csv", verify=True)
    assert report.counts["missing"] == 2
    assert [i["line"] for i in report.issues["missing"]] == [5, 5]


def test_imported_pairs_start_in_step_and_nothing_is_written(rig):
    rows = _twins(rig, 5)
    # The right side differs on one field: an import must not make either side win.
    rig.right.update(rows[0][1], {"status": "Done over there"})
    before = {s: {i: a.version for i, a in rig.rows(s).items()} for s in ("left", "right")}
    report = pairs_io.dry_run(_csv(rows), "csv")
    assert report.ok and report.counts["add"] == 5
    assert pairs_io.apply(report, None) == {"added": 5, "present": 0}
    assert ArtifactPair.objects.filter(establish_base=True).count() == 5
    rig.run_until_quiet()
    after = {s: {i: a.version for i, a in rig.rows(s).items()} for s in ("left", "right")}
    assert after == before  # not one write, not one create
    assert not ArtifactPair.objects.filter(establish_base=True).exists()
    assert rig.rows("left")[rows[0][0]].fields["status"] == "New"
    # From now on a real change flows.
    rig.left.update(rows[1][0], {"summary": "changed on the left"})
    rig.run_until_quiet()
    assert rig.rows("right")[rows[1][1]].fields["summary"] == "changed on the left"
    assert len(rig.rows("right")) == 5


def test_export_then_import_into_a_fresh_hub_then_run_creates_nothing(rig, tmp_path, django_capture_on_commit_callbacks):
    _twins(rig, 0)
    for n in range(4):
        rig.left.create("ALPHA", {"summary": f"L{n}"}, hub_key="")
    rig.run_until_quiet()
    exported = tmp_path / "pairs.json"
    call_command("pairs", "export", str(exported))
    data = json.loads(exported.read_text())
    assert len(data["pairs"]) == 4
    # A fresh hub: same tools and configuration, no pairs, no cursors (the engine would take
    # every artifact for new).
    ArtifactPair.objects.all().delete()
    PendingWork.objects.all().delete()
    Integration.objects.get(pk=rig.integration.pk).cursors.all().delete()
    before = {s: {i: a.version for i, a in rig.rows(s).items()} for s in ("left", "right")}
    call_command("pairs", "import", str(exported), "--dry-run")
    assert not ArtifactPair.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("pairs", "import", str(exported))
    assert ArtifactPair.objects.count() == 4
    job = BackgroundJob.objects.get(kind="integrations.import_pairs")
    assert job.status == BackgroundJob.Status.SUCCEEDED and job.progress_done == 4
    rig.run_until_quiet()
    after = {s: {i: a.version for i, a in rig.rows(s).items()} for s in ("left", "right")}
    assert after == before and len(after["right"]) == 4


def test_command_dry_run_prints_line_numbers_and_fails_on_problems(rig, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "nope,left-db,1,right-db,2,ALPHA,ALPHA\n")
    with pytest.raises(CommandError):
        call_command("pairs", "import", str(path), "--dry-run")
    assert "line 2: unknown: no integration named 'nope'" in capsys.readouterr().out


def test_api_import_export_and_who_may(rig):
    rows = _twins(rig, 2)
    admin = APIClient()
    admin.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    integrator = UserFactory(username="integrator", is_staff=True)
    integrator.groups.add(Group.objects.get(name=roles.INTEGRATORS))
    other = APIClient()
    other.force_authenticate(integrator)
    body = {"content": _csv(rows), "format": "csv", "dry_run": True}
    assert other.post("/api/v1/pairs/import/", body, format="json").status_code == 403
    dry = admin.post("/api/v1/pairs/import/", body, format="json")
    assert dry.status_code == 200 and dry.json()["counts"]["add"] == 2 and not ArtifactPair.objects.exists()
    bad = admin.post("/api/v1/pairs/import/", {"content": _csv(rows, "nope")}, format="json")
    assert bad.status_code == 400 and bad.json()["issues"]["unknown"][0]["line"] == 2
    real = admin.post("/api/v1/pairs/import/", {"content": _csv(rows)}, format="json")
    assert real.status_code == 202
    jobs.execute(real.json()["job"]["id"])
    assert ArtifactPair.objects.count() == 2
    exported = admin.get("/api/v1/pairs/export/?file_format=csv")
    assert exported.status_code == 200
    assert exported.content.decode().splitlines()[0] == HEADER.strip()
    assert len(exported.content.decode().splitlines()) == 3


def test_route_integration_cannot_be_changed_through_the_api_or_admin(rig, staff_client):
    target = Integration.objects.create(name="t2", left_collection=rig.integration.left_collection,
                                        right_collection=rig.integration.right_collection)
    route = rig.integration.routes.get()
    response = staff_client.patch(f"/api/v1/routes/{route.pk}/", {"integration": target.pk}, format="json")
    assert response.status_code == 400 and "move the route" in json.dumps(response.json())
    assert Route.objects.get(pk=route.pk).integration_id == rig.integration.pk
    from django.test import Client

    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/integrations/route/{route.pk}/change/").content.decode()
    assert 'name="integration"' not in page
    assert 'name="integration"' in client.get("/admin/integrations/route/add/").content.decode()


def test_import_panel_shows_real_state(rig, django_capture_on_commit_callbacks):
    from django.test import Client

    rows = _twins(rig, 3)
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get("/admin/settings/").content.decode()
    assert "Importing artifact pairs is not built yet" not in page and "Import Pairs" in page
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("pairs.csv", _csv(rows).encode())
    dry = client.post("/admin/settings/import-pairs/", {"file": upload, "_dry_run": "1"}).content.decode()
    assert "3 to add" in dry and not ArtifactPair.objects.exists()
    upload = SimpleUploadedFile("pairs.csv", _csv(rows).encode())
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post("/admin/settings/import-pairs/", {"file": upload, "_import": "1"}).status_code == 302
    jobs.execute(BackgroundJob.objects.get(kind="integrations.import_pairs").pk)
    page = client.get("/admin/settings/").content.decode()
    assert "Waiting for their base" in page and ArtifactPair.objects.filter(establish_base=True).count() == 3
