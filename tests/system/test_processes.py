"""The hub as an operator runs it: real web server and real django-q2 worker processes."""

from __future__ import annotations

import signal

import pytest

from tests.system.conftest import ADMIN_PASSWORD, ADMIN_USER

pytestmark = pytest.mark.system

SEED_OLD_ISSUES = """
from datetime import timedelta
from django.utils import timezone
from notifications.models import ActivityIssue
old = timezone.now() - timedelta(days=90)
ActivityIssue.objects.bulk_create(
    [ActivityIssue(key=f"old-{n}", title="old", status="resolved") for n in range(1200)]
)
ActivityIssue.objects.update(last_seen=old)
"""


def test_web_and_worker_run_a_background_job_end_to_end(running_hub):
    hub = running_hub

    status, body = hub.request("POST", "/api/v1/auth/token/", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert status == 200, body
    hub.token = body["token"]  # the per-check details of /api/health are for staff

    def healthy():
        status, body = hub.request("GET", "/api/health")
        return body if status == 200 else None

    health = hub.wait_for(healthy, 90, "/api/health to pass with the worker seen")
    assert health["checks"]["database"]["ok"] and health["checks"]["worker"]["ok"]

    seeded = hub.manage("shell", "-c", SEED_OLD_ISSUES)
    assert seeded.returncode == 0, seeded.stderr

    status, job = hub.request("POST", "/api/v1/activity/jobs/", {"kind": "purge_activity", "params": {"older_than_days": 30}})
    assert status == 201, job
    assert job["status"] == "queued"

    def finished():
        _, body = hub.request("GET", f"/api/v1/activity/jobs/{job['id']}/")
        return body if body.get("status") in ("succeeded", "failed") else None

    done = hub.wait_for(finished, 90, "the job to finish in the worker")
    assert done["status"] == "succeeded", done
    assert (done["progress_done"], done["progress_total"], done["percent"]) == (1200, 1200, 100.0)
    assert done["result"]["issues"] == 1200
    assert "Purging 1200 record(s)" in done["log"]
    assert done["started_at"] and done["finished_at"]


def test_ctrl_c_stops_web_server_and_worker(running_hub):
    hub = running_hub
    hub.wait_for(lambda: hub.request("GET", "/api/health")[0] == 200, 90, "a healthy hub")
    hub.process.send_signal(signal.SIGINT)
    assert hub.process.wait(timeout=40) == 0
    log = hub.log.read_text()
    assert "tasktop_hub stopped." in log
