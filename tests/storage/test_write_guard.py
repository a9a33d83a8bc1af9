"""While a transfer runs nothing may be written to the database being left: the web's writes are
refused (503, Retry-After), commands stop at their start, background jobs wait, and the transfer
waits for the writers and the work that started before it (the drain)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications import jobs
from notifications.models import BackgroundJob
from settings_app.models import HubSettings
from storage import pause
from storage.transfer import TransferJob, TransferRefused
from tasktop_hub import write_guard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def transfer_running(db):
    """A transfer's pause as a running transfer holds it (its real heartbeat thread included)."""
    record = BackgroundJob.objects.create(kind=TransferJob.kind, title="Database transfer",
                                          status=BackgroundJob.Status.RUNNING, started_at=timezone.now())
    pause.begin(record.pk)
    yield record
    pause.end(record.pk)


@pytest.fixture
def _as_the_running_job(transfer_running):
    with jobs.executing(transfer_running.pk):
        yield


@pytest.mark.django_db
def test_web_writes_are_refused_with_retry_after_and_nothing_is_written(transfer_running, staff_client, client,
                                                                         staff, caplog):
    refused = staff_client.patch("/api/v1/settings/", {"instance_label": "lost?"}, format="json")
    assert refused.status_code == 503
    # Logged once as what it is (a refusal while data moves), not as a server error.
    assert [(r.name, r.levelname) for r in caplog.records if r.levelno >= logging.WARNING] == [
        ("tasktop_hub.write_guard", "WARNING")]
    assert refused["Retry-After"] == "60"
    assert "being moved to another database; try again in a minute" in refused.json()["detail"]
    assert f"background job {transfer_running.pk}" in refused.json()["detail"]
    client.force_login(staff)
    page = client.post("/admin/auth/user/add/", {"username": "new-person", "password1": "x", "password2": "x"})
    assert page.status_code == 503 and page["Retry-After"] == "60"
    assert "try again in a minute" in page.content.decode() and "Nothing was saved" in page.content.decode()
    assert not get_user_model().objects.filter(username="new-person").exists()
    assert HubSettings.objects.filter(instance_label="lost?").count() == 0
    # Reading goes on, and the storage app's own views answer (abort must stay possible).
    assert staff_client.get("/api/v1/settings/").status_code == 200
    assert staff_client.get("/api/v1/storage/").json()["transfer_running"]
    aborted = staff_client.post("/api/v1/storage/transfer/abort/", {}, format="json")
    assert aborted.status_code < 500, aborted.content
    # What could disturb the transfer is refused by the storage services themselves.
    overridden = staff_client.post("/api/v1/storage/override/", {"confirm": "I understand"}, format="json")
    assert overridden.status_code == 400 and "transfer is running" in overridden.content.decode()

    pause.end(transfer_running.pk)
    assert staff_client.patch("/api/v1/settings/", {"instance_label": "kept"}, format="json").status_code == 200
    assert HubSettings.objects.get().instance_label == "kept"


def test_the_mover_waits_for_writers_that_started_before_the_freeze(settings, tmp_path):
    settings.HUB_DB_DIR = tmp_path
    released = threading.Event()
    holding = threading.Event()

    def writer():
        with write_guard.writing() as reason:
            assert reason is None  # no freeze registered here: it writes
            holding.set()
            released.wait(5)

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(5)
    with pytest.raises(write_guard.WritersStillRunning, match="still running after"):
        write_guard.wait_for_writers(0.3)
    threading.Timer(0.3, released.set).start()
    started = time.monotonic()
    write_guard.wait_for_writers(5)
    assert released.is_set() and time.monotonic() - started >= 0.2
    thread.join()


def test_a_command_that_may_write_stops_at_its_start(tmp_path):
    home = tmp_path / "home"
    (home / "db").mkdir(parents=True)
    (home / "db" / pause.STATE_FILE).write_text(json.dumps({"job": 7, "pid": 1, "heartbeat": time.time() + 60,
                                                            "phase": "copying auth_user"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL", "DJANGO_"))}
    env["HUB_HOME"] = str(home)
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "hub_settings", "set", "--instance-label", "x"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 75, done.stderr
    assert "try again in a minute" in done.stderr and "background job 7, copying auth_user" in done.stderr
    # It did not even open the database: at most the empty 0600 file settings make before SQLite
    # may open it (tasktop_hub.database.ensure_private_sqlite), never written to.
    internal = home / "db" / "hub.sqlite3"
    assert not internal.exists() or internal.stat().st_size == 0


@pytest.mark.django_db(transaction=True)
def test_a_background_job_waits_for_the_move_instead_of_writing_to_the_old_database():
    record = BackgroundJob.objects.create(kind="purge_activity", title="Purge", params={"older_than_days": 30})
    state = Path(settings.HUB_DB_DIR) / pause.STATE_FILE
    state.write_text(json.dumps({"job": 99, "pid": 1, "heartbeat": time.time() + 60, "phase": "copying"}))
    runner = threading.Thread(target=jobs.execute, args=(record.pk,))
    runner.start()
    time.sleep(1.5)
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.QUEUED  # waiting, not running on the old database
    state.unlink()
    runner.join(30)
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.SUCCEEDED, record.error


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_as_the_running_job")
def test_the_drain_waits_for_runs_and_jobs_and_fails_clearly_after_its_bound(settings, transfer_running):
    from integrations.engine.models import SyncState
    from tests.factories import IntegrationFactory

    integration = IntegrationFactory(name="Bugs to Jira")
    # A run in flight in a live process (this one's pid counts as alive) and another running job.
    owner = f"{socket.gethostname()[:40]}:{os.getpid()}:run1"
    SyncState.objects.create(integration=integration, lease_owner=owner,
                             lease_expires=timezone.now() + timedelta(seconds=60))
    other = BackgroundJob.objects.create(kind="purge_activity", title="Purge Activity",
                                         status=BackgroundJob.Status.RUNNING, started_at=timezone.now())
    transfer = TransferJob(transfer_running)
    settings.HUB_TRANSFER_DRAIN_SECONDS = 0.5
    with pytest.raises(TransferRefused) as refused:
        transfer.drain()
    assert "Work was still running after 0.5 s" in str(refused.value)
    assert 'integration "Bugs to Jira"' in str(refused.value) and f"background job #{other.pk}" in str(refused.value)
    assert "Nothing was copied" in str(refused.value)

    # The run ends and the job finishes while the drain waits: it goes on.
    def finish():
        SyncState.objects.filter(integration=integration).update(lease_owner="", lease_expires=None)
        BackgroundJob.objects.filter(pk=other.pk).update(status=BackgroundJob.Status.SUCCEEDED)

    settings.HUB_TRANSFER_DRAIN_SECONDS = 20
    timer = threading.Timer(0.8, finish)
    timer.start()
    started = time.monotonic()
    transfer.drain()
    timer.join()
    assert time.monotonic() - started >= 0.7
    assert "No work in flight" in BackgroundJob.objects.get(pk=transfer_running.pk).log
    # A killed worker's lease on this machine does not hold the drain up.
    SyncState.objects.filter(integration=integration).update(
        lease_owner=f"{socket.gethostname()[:40]}:999999999:dead", lease_expires=timezone.now() + timedelta(seconds=60))
    settings.HUB_TRANSFER_DRAIN_SECONDS = 0
    transfer.drain()


@pytest.mark.django_db
def test_a_dead_transfers_job_is_settled_by_whether_it_had_switched(settings):
    from storage.tasks import end_dead_transfer

    db_dir = Path(settings.HUB_DB_DIR)
    stale = {"pid": 1, "heartbeat": time.time() - 3600, "phase": "copying"}
    before = BackgroundJob.objects.create(kind=TransferJob.kind, title="t", status=BackgroundJob.Status.RUNNING)
    (db_dir / pause.STATE_FILE).write_text(json.dumps({**stale, "job": before.pk}))
    assert end_dead_transfer() == before.pk
    before.refresh_from_db()
    assert before.status == BackgroundJob.Status.FAILED and "run cleanup" in before.error
    assert pause.read() is None

    # Killed between the switch (hub-db.json names the job) and its last words: it succeeded.
    from tasktop_hub import database

    after = BackgroundJob.objects.create(kind=TransferJob.kind, title="t", status=BackgroundJob.Status.RUNNING)
    backup = db_dir / "backups" / "hub-20261202-010000.sqlite3"
    backup.parent.mkdir()
    Path(str(backup) + ".partial").write_bytes(b"snapshot")
    database.write_record(Path(settings.HUB_HOME), db_dir, {"ENGINE": "django.db.backends.postgresql", "NAME": "n",
                                                            "HOST": "h", "PORT": "5432", "USER": "u", "PASSWORD": ""},
                          "postgresql", transfer_job=after.pk, backup=str(backup))
    (db_dir / pause.STATE_FILE).write_text(json.dumps({**stale, "job": after.pk, "phase": "switching"}))
    assert end_dead_transfer() == after.pk
    after.refresh_from_db()
    assert after.status == BackgroundJob.Status.SUCCEEDED and after.result["verified"] is True
    assert "completed" in after.log and backup.read_bytes() == b"snapshot"
