"""Transfers under the real processes: the web server and the django-q2 worker follow the
switch without a restart (SQLite → PostgreSQL, then PostgreSQL → MariaDB); SIGKILL of the worker
doing a transfer leaves the hub on its internal database, complete, and after cleanup a new
transfer succeeds; while a transfer runs the web server refuses writes (503, Retry-After)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time

import psycopg
import pytest

from tests.integrations.dbtargets import fresh_mariadb_db, fresh_postgres_db
from tests.storage.conftest import as_input
from tests.system.conftest import ADMIN_PASSWORD, ADMIN_USER

pytestmark = [pytest.mark.system, pytest.mark.postgres]
SEEDED = 20000

SEED = """
from notifications.models import AuditEvent
AuditEvent.objects.bulk_create([AuditEvent(action="seed", target=f"row:{n}", details={"n": n, "t": "tab\\there"})
                                for n in range({n})], batch_size=5000)
"""


@pytest.fixture
def hub_env(hub_env):
    hub_env.update(HUB_TRANSFER_DRAIN_SECONDS="1", HUB_TRANSFER_HEARTBEAT_SECONDS="3")
    return hub_env


def _login(hub):
    status, body = hub.request("POST", "/api/v1/auth/token/", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert status == 200, body
    hub.token = body["token"]


def _seed(hub, n):
    done = hub.manage("shell", "-c", SEED.replace("{n}", str(n)))
    assert done.returncode == 0, done.stderr


def _sqlite_count(hub, table, where="1=1"):
    with sqlite3.connect(hub.home / "db" / "hub.sqlite3") as conn:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def _transfer(hub, target):
    status, body = hub.request("POST", "/api/v1/storage/transfer/", {**target, "confirm": "I understand"})
    assert status == 202, body
    return body["job"]


def _job(hub, job_id):
    return hub.request("GET", f"/api/v1/activity/jobs/{job_id}/")[1]


def _transfer_worker_pid(hub):
    try:
        state = json.loads((hub.home / "db" / "transfer.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state["pid"] if str(state.get("phase", "")).startswith("copying") else None


def test_sigkill_keeps_the_internal_database_then_a_transfer_switches_web_and_worker(running_hub):
    """One hub for both halves (each start of a hub costs the suite a minute)."""
    hub = running_hub
    _login(hub)
    _seed(hub, SEEDED)
    with fresh_postgres_db("hubkill") as url:
        target = as_input(url)
        first = _transfer(hub, target)
        pid = hub.wait_for(lambda: _transfer_worker_pid(hub), 120, "the transfer to start copying")
        os.kill(pid, signal.SIGKILL)

        def resumed():
            _, body = hub.request("GET", "/api/v1/storage/")
            return body if body.get("transfer_running") is None else None

        state = hub.wait_for(resumed, 60, "the pause to end after the killed transfer")
        assert state["vendor"] == "sqlite"
        assert _sqlite_count(hub, "notifications_auditevent", "action='seed'") == SEEDED
        status, report = hub.request("POST", "/api/v1/storage/test/", target)
        assert status == 200 and report["contents"] == "partial", report
        status, body = hub.request("POST", "/api/v1/storage/cleanup/", target)
        assert status == 200 and "notifications_auditevent" in body["dropped"], body
        hub.wait_for(lambda: _job(hub, first)["status"] == "failed", 120, "the killed transfer's job to be failed")

        second = _transfer(hub, target)
        deadline = time.monotonic() + 240
        while _job(hub, second).get("status") not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(1)
        # After the switch the job row lives in PostgreSQL, where the web process reads it too.
        done = _job(hub, second)
        assert done["status"] == "succeeded", done
        assert done["result"]["verified"] is True
        with psycopg.connect(url) as pg:
            assert pg.execute("SELECT count(*) FROM notifications_auditevent WHERE action='seed'").fetchone()[0] == SEEDED

        # Every process switched without a restart: the web process reads and writes PostgreSQL …
        _, state = hub.request("GET", "/api/v1/storage/")
        assert state["vendor"] == "postgresql" and state["last_transfer"]["status"] == "succeeded", state
        status, _ = hub.request("PATCH", "/api/v1/settings/", {"instance_label": "now on PostgreSQL"})
        assert status == 200
        with psycopg.connect(url) as pg:
            assert pg.execute("SELECT instance_label FROM settings_app_hubsettings").fetchone()[0] == "now on PostgreSQL"
        # … and so does the worker: a job queued now (in PostgreSQL) is taken and finished.
        status, job = hub.request("POST", "/api/v1/activity/jobs/", {"kind": "purge_activity"})
        assert status == 201, job
        done = hub.wait_for(lambda: (lambda j: j if j.get("status") in ("succeeded", "failed") else None)(
            _job(hub, job["id"])), 120, "the worker to run a job from PostgreSQL")
        assert done["status"] == "succeeded", done
        with psycopg.connect(url) as pg:
            assert pg.execute("SELECT status FROM notifications_backgroundjob WHERE id=%s",
                              [job["id"]]).fetchone()[0] == "succeeded"
        # The internal database is kept, untouched, beside its dated backup.
        assert _sqlite_count(hub, "notifications_auditevent", "action='seed'") == SEEDED
        assert list((hub.home / "db" / "backups").glob("hub-*.sqlite3"))
        assert not list((hub.home / "db" / "backups").glob("*.partial*"))  # the killed one's snapshot is gone

        # External → another vendor's external database, the same way; writes wait meanwhile.
        with fresh_mariadb_db("hubmove") as maria_url:
            third = _transfer(hub, as_input(maria_url))
            hub.wait_for(lambda: (hub.home / "db" / "transfer.json").exists(), 60, "the transfer to pause the hub")
            status, refused = hub.request("PATCH", "/api/v1/settings/", {"instance_label": "lost in the move?"})
            assert status == 503 and "try again in a minute" in refused["detail"], refused
            done = hub.wait_for(lambda: (lambda j: j if j.get("status") in ("succeeded", "failed") else None)(
                _job(hub, third)), 240, "the PostgreSQL → MariaDB transfer")
            assert done["status"] == "succeeded" and done["result"]["verified"] is True, done
            assert "Verified" in done["log"]  # logged after the copy began, carried over to MariaDB
            _, state = hub.request("GET", "/api/v1/storage/")
            assert state["vendor"] == "mysql", state
            status, _ = hub.request("PATCH", "/api/v1/settings/", {"instance_label": "now on MariaDB"})
            assert status == 200
            from tests.integrations.dbtargets import _maria_admin

            maria = _maria_admin()
            cursor = maria.cursor()
            cursor.execute(f"SELECT instance_label FROM `{maria_url.rsplit('/', 1)[1]}`.settings_app_hubsettings")
            assert cursor.fetchone()[0] == "now on MariaDB"
            status, job = hub.request("POST", "/api/v1/activity/jobs/", {"kind": "purge_activity"})
            assert status == 201, job
            done = hub.wait_for(lambda: (lambda j: j if j.get("status") in ("succeeded", "failed") else None)(
                _job(hub, job["id"])), 120, "the worker to run a job from MariaDB")
            assert done["status"] == "succeeded", done
            maria.close()
            with psycopg.connect(url) as pg:  # the PostgreSQL database it left is unchanged
                assert pg.execute("SELECT instance_label FROM settings_app_hubsettings").fetchone()[0] == \
                    "now on PostgreSQL"
