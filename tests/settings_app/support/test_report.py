"""The support and usage report: contents, size cap, and every surface (API, command, job, screen)."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

import pytest
from django.core.management import call_command

from notifications import jobs
from notifications import services as activity
from settings_app.support import report
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def read(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name).decode() for name in zf.namelist()}


@pytest.fixture
def logs(settings, tmp_path):
    settings.HUB_LOG_DIR = tmp_path
    for n, name in enumerate(["hub.log.2", "hub.log.1", "hub.log"]):
        path = tmp_path / name
        path.write_text(f"{name} line\n" * 1000)
        os.utime(path, (time.time() - 100 + n * 10, time.time() - 100 + n * 10))
    (tmp_path / ".__hub.lock").write_text("")
    return tmp_path


def test_contents(logs):
    IntegrationFactory()
    activity.record_error(artifact="redmine:1", message="boom", integration_id=1)
    files = read(report.to_bytes())
    assert {"versions.json", "configuration.json", "health.json", "database.json", "license.json",
            "usage_activity.json", "usage_integrations.json", "README.txt"} <= set(files)
    versions = json.loads(files["versions.json"])
    assert versions["django"].startswith("5.2") and "djangorestframework" in {k.lower() for k in versions["packages"]}
    database = json.loads(files["database.json"])
    assert database["vendor"] == "sqlite" and "0005_email_and_logging" in database["migrations"]["settings_app"]["applied"]
    assert database["unapplied"] == 0
    usage = json.loads(files["usage_integrations.json"])
    assert sum(usage["connections_by_kind"].values()) == 2 and usage["integrations_by_state"] == {"stopped": 1}
    assert json.loads(files["usage_activity.json"])["open_errors"] == 1
    assert json.loads(files["license.json"])["state"] == "valid"
    assert "database" in json.loads(files["health.json"])
    assert [n for n in files if n.startswith("logs/")] == ["logs/hub.log", "logs/hub.log.1", "logs/hub.log.2"]


def test_log_size_cap_keeps_the_newest(logs):
    buffer = io.BytesIO()
    summary = report.build(buffer, log_cap=30_000)
    assert [f for f in summary["files"] if f.startswith("logs/")] == ["logs/hub.log", "logs/hub.log.1"]
    assert summary["logs_left_out"] == ["hub.log.2"]
    assert "left out: hub.log.2" in read(buffer.getvalue())["README.txt"]


def test_api_is_for_administrators_only(staff_client, user_client, logs):
    assert user_client.get("/api/v1/support-report/").status_code == 403
    response = staff_client.get("/api/v1/support-report/")
    assert response.status_code == 200 and "attachment; filename=\"tasktop-hub-support-" in response["Content-Disposition"]
    assert "versions.json" in read(response.content)


def test_command_writes_the_zip(tmp_path, logs):
    out = io.StringIO()
    call_command("support_report", "--out", str(tmp_path / "r.zip"), stdout=out)
    assert "Wrote" in out.getvalue() and "health.json" in read((tmp_path / "r.zip").read_bytes())
    assert not list(tmp_path.glob(".*.partial"))


def test_background_job_with_progress_and_download(staff, staff_client, settings, logs,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("support_report", {}, staff)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress_done == job.progress_total > 0
    response = staff_client.get(f"/api/v1/support-report/?job={job.pk}")
    assert response.status_code == 200
    assert "logs/hub.log" in read(b"".join(response.streaming_content))
    assert staff_client.get("/api/v1/support-report/?job=999").status_code == 404


def test_settings_screen_link(admin_client, logs):
    page = admin_client.get("/admin/settings/").content.decode()
    assert "Download Support and Usage Report" in page
    response = admin_client.get("/admin/settings/support-report/")
    assert response["Content-Type"] == "application/zip"
