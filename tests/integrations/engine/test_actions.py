"""Process all artifacts, initiate synchronization, full scan, run-time and Run-time
configuration checks, and the command — through services, API and command."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from integrations import services
from integrations.engine.context import load
from integrations.engine.jobs import full_scan
from integrations.engine.models import PendingWork, SyncState
from integrations.models import ArtifactPair, Route
from notifications.models import ActivityIssue, BackgroundJob


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def _existing(rig, n=3):
    return [rig.left.create("ALPHA", {"summary": f"e{n}"}, hub_key="").id for n in range(n)]


def test_process_all_treats_every_routed_artifact_as_changed(rig, api):
    ids = _existing(rig)
    rig.run()
    # Wipe the right side's twins' values behind the hub's back and without a new stamp.
    ArtifactPair.objects.update(left_version="stale")
    response = api.post(f"/api/v1/integrations/{rig.integration.pk}/process-all/")
    assert response.status_code == 202, response.data
    assert SyncState.objects.get(integration=rig.integration).process_all_requested
    result = rig.run()
    assert result["detected"] >= len(ids)
    assert not SyncState.objects.get(integration=rig.integration).process_all_requested


def test_initiate_sync_scans_chosen_projects_as_a_job(rig, api, django_capture_on_commit_callbacks):
    rig.integration.routes.create(left_project="BETA", right_project="BETA")
    rig.left.create("BETA", {"summary": "beta"}, hub_key="")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/integrations/{rig.integration.pk}/initiate-sync/", {"left": ["BETA"]},
                            format="json")
    assert response.status_code == 202, response.data
    job = BackgroundJob.objects.get(pk=response.data["id"])
    assert job.status == "succeeded" and job.result == {"queued": 1}
    assert PendingWork.objects.filter(side="left").count() == 1
    bad = api.post(f"/api/v1/integrations/{rig.integration.pk}/initiate-sync/", {"left": ["GAMMA"]}, format="json")
    assert bad.status_code == 400 and "GAMMA" in str(bad.data)


def test_full_scan_reads_pairs_in_pages_and_queues_changed_sides(rig):
    ids = _existing(rig, 250)
    rig.run()
    assert ArtifactPair.objects.count() == 250
    # A change the tool does not flag (same stamp): the full scan finds it by version.
    ArtifactPair.objects.filter(left_id__in=ids[:7]).update(left_version="old")
    ctx = load(rig.integration)
    result = full_scan(ctx)
    ctx.close()
    assert result == {"pairs": 250, "changed": 7, "read_calls": 6}  # ⌈250 / 100⌉ per side
    assert PendingWork.objects.filter(side="left").count() == 7


def test_command_initiate_sync_with_progress(rig, capsys):
    _existing(rig, 2)
    call_command("sync", rig.integration.name, "initiate-sync")
    out = capsys.readouterr().out
    assert "succeeded" in out and "2/2" in out or "queued" in out


def test_bad_configuration_is_refused_naming_the_problem(rig):
    from django.core.exceptions import ValidationError

    services.set_run_state(rig.integration, "stopped", None)
    rig.integration.refresh_from_db()
    left = rig.integration.left_collection
    left.field_mapping = {**left.field_mapping, "summary": "no_such_column"}
    left.save()
    with pytest.raises(ValidationError) as info:
        services.set_run_state(rig.integration, "running", None)
    assert "no_such_column" in str(info.value)
    left.field_mapping = {**left.field_mapping, "summary": "summary"}
    left.projects = ["ALPHA", "BETA", "GAMMA"]
    left.save()
    with pytest.raises(ValidationError) as info:
        services.set_run_state(rig.integration, "running", None)
    assert "GAMMA" in str(info.value) and "lacks" in str(info.value)
    left.projects = ["ALPHA", "BETA"]
    left.field_roles = {"status": "state"}
    left.transitions = {"New": ["Done"]}
    left.save()
    with pytest.raises(ValidationError) as info:
        services.set_run_state(rig.integration, "running", None)
    assert "no path from 'Done' to 'New'" in str(info.value)


def test_misconfiguration_at_run_time_is_one_issue(rig):
    Route.objects.filter(integration=rig.integration).update(right_project="NOWHERE")
    rig.run()
    rig.run()
    issue = ActivityIssue.objects.get(status="open")
    assert "NOWHERE" in issue.message
    Route.objects.filter(integration=rig.integration).update(right_project="ALPHA")
    rig.run()
    assert not ActivityIssue.objects.filter(status="open").exists()


def test_stopped_integration_keeps_pairs_and_cursors(rig):
    _existing(rig, 2)
    rig.run()
    services.set_run_state(rig.integration, "stopped", None)
    assert rig.run() == {"skipped": "not running"}
    assert ArtifactPair.objects.count() == 2 and rig.integration.cursors.exists()
