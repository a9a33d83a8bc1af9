"""Transfers under the real processes: the web server and the django-q2 workers follow the
switch without a restart (SQLite → PostgreSQL, then PostgreSQL → MariaDB; and a hub running on
MariaDB moved to PostgreSQL while a client keeps writing); SIGKILL of the worker doing a transfer
leaves the hub on its internal database, complete, and after cleanup a new transfer succeeds;
while a transfer runs the web server refuses writes (503, Retry-After) and none is lost."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.integrations.dbtargets import _maria_admin, fresh_mariadb_db, fresh_postgres_db
from tests.storage.conftest import as_input
from tests.system.conftest import ADMIN_PASSWORD, ADMIN_USER

pytestmark = [pytest.mark.system, pytest.mark.postgres]
SEEDED = 50000  # enough rows that the copy lasts long enough to be caught at it

SEED = """
from notifications.models import AuditEvent
AuditEvent.objects.bulk_create([AuditEvent(action="seed", target=f"row:{n}", details={"n": n, "t": "tab\\there"})
                                for n in range({n})], batch_size=5000)
"""


@pytest.fixture
def hub_env(hub_env):
    # The drain's bound only matters when work is in flight at the start of a transfer (a job a
    # worker is running): long enough for a short job on a busy machine, short for a test.
    hub_env.update(HUB_TRANSFER_DRAIN_SECONDS="15", HUB_TRANSFER_HEARTBEAT_SECONDS="3")
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


def _finished(hub, job_id, timeout, what):
    """The job once it has ended (succeeded, failed or cancelled), as the API shows it."""
    return hub.wait_for(lambda: (lambda j: j if j.get("status") in ("succeeded", "failed", "cancelled") else None)(
        _job(hub, job_id)), timeout, what)


def _transfer_worker_pid(hub):
    try:
        state = json.loads((hub.home / "db" / "transfer.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state["pid"] if str(state.get("phase", "")).startswith("copying") else None


def _copying_worker(hub, job_id, timeout):
    """The pid of the worker copying job ``job_id``'s rows, watched every 20 ms: the copy of the
    seeded rows takes well under a second on a quiet machine, so a coarser poll can miss it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _transfer_worker_pid(hub)
        if pid:
            return pid
        if not (hub.home / "db" / "transfer.json").exists() and _job(hub, job_id).get("status") in (
                "succeeded", "failed", "cancelled"):
            raise AssertionError(f"the transfer ended before it was seen copying: {_job(hub, job_id)}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for the transfer to start copying:\n{hub.log.read_text()[-3000:]}")


def test_sigkill_keeps_the_internal_database_then_a_transfer_switches_web_and_worker(running_hub):
    """One hub for both halves (each start of a hub costs the suite a minute)."""
    hub = running_hub
    _login(hub)
    _seed(hub, SEEDED)
    with fresh_postgres_db("hubkill") as url:
        target = as_input(url)
        first = _transfer(hub, target)
        os.kill(_copying_worker(hub, first, 120), signal.SIGKILL)

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
        done = _finished(hub, job["id"], 120, "the worker to run a job from PostgreSQL")
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
            done = _finished(hub, third, 240, "the PostgreSQL → MariaDB transfer")
            assert done["status"] == "succeeded" and done["result"]["verified"] is True, done
            assert "Verified" in done["log"]  # logged after the copy began, carried over to MariaDB
            _, state = hub.request("GET", "/api/v1/storage/")
            assert state["vendor"] == "mysql", state
            status, _ = hub.request("PATCH", "/api/v1/settings/", {"instance_label": "now on MariaDB"})
            assert status == 200
            maria = _maria_admin()
            cursor = maria.cursor()
            cursor.execute(f"SELECT instance_label FROM `{maria_url.rsplit('/', 1)[1]}`.settings_app_hubsettings")
            assert cursor.fetchone()[0] == "now on MariaDB"
            status, job = hub.request("POST", "/api/v1/activity/jobs/", {"kind": "purge_activity"})
            assert status == 201, job
            done = _finished(hub, job["id"], 120, "the worker to run a job from MariaDB")
            assert done["status"] == "succeeded", done
            maria.close()
            with psycopg.connect(url) as pg:  # the PostgreSQL database it left is unchanged
                assert pg.execute("SELECT instance_label FROM settings_app_hubsettings").fetchone()[0] == \
                    "now on PostgreSQL"


# -- a hub on MariaDB moved to PostgreSQL while a client keeps writing ------------------------

MOVED_SEED = 3000
# Tables the processes keep writing after the snapshot: django-q2's (results, queue, schedules'
# next runs), the cache (the cluster's stats), the jobs (statuses, the transfer's own log), the
# audit trail (appended), the settings (the PATCH after the move), the engine's singleton leases
# (the dispatcher renews its own once processing resumes). Everything else must be equal.
KEEPS_CHANGING = {"django_q_task", "django_q_ormq", "django_q_schedule", "django_q_success", "django_q_failure",
                  "hub_cache", "notifications_backgroundjob", "notifications_auditevent",
                  "settings_app_hubsettings", "integrations_enginelease"}


@pytest.fixture
def maria_url():
    with fresh_mariadb_db("hubsrc") as url:
        yield url


@pytest.fixture
def pg_url():
    with fresh_postgres_db("hubdst") as url:
        yield url


class _Writer(threading.Thread):
    """A client queueing a job every few tenths of a second, each with its own number (its
    ``older_than_days``); a refused write (503) is retried, as Retry-After asks, until taken."""

    def __init__(self, hub):
        super().__init__(name="api-writer", daemon=True)
        self.hub, self.stop = hub, threading.Event()
        self.accepted: dict[int, int] = {}  # number → job id
        self.refused: list[tuple[int, str | None, dict]] = []  # (number, Retry-After, body)
        self.errors: list[str] = []

    def run(self):
        number = 1
        while not self.stop.is_set():
            try:
                status, headers, body = self.hub.exchange(
                    "POST", "/api/v1/activity/jobs/", {"kind": "purge_activity", "params": {"older_than_days": number}})
            except OSError as exc:  # the test fails on it below, with what happened
                self.errors.append(repr(exc))
                status, headers, body = 0, None, {}
            if status == 201:
                self.accepted[number] = body["id"]
                number += 1
            elif status == 503:
                self.refused.append((number, headers.get("Retry-After"), body))
            else:
                self.errors.append(f"{status} {body}")
            self.stop.wait(0.3)

    def wait_accepted(self, more_than, what):
        self.hub.wait_for(lambda: len(self.accepted) > more_than or self.errors, 120, what)
        assert not self.errors, self.errors


def _table_states(entry, django_db_blocker, upto=None):
    """Per transfer table: (row count, checksum) — through storage.tables, the transfer's own
    canonical form, so MariaDB's and PostgreSQL's copies of equal data compare equal — and its
    primary keys. ``upto``: per table, only the rows with a primary key at most this."""
    from storage import tables
    from storage.connect import alias_for

    states = {}
    with django_db_blocker.unblock(), alias_for(entry) as alias:
        for model in tables.transfer_models():
            table, rows = model._meta.db_table, model._base_manager.using(alias)
            if upto is not None and table in upto:
                rows = rows.filter(pk__lte=upto[table])
            values = rows.values_list(*[f.attname for f in tables.columns(model)]).order_by()
            pk_at = [f.attname for f in tables.columns(model)].index(model._meta.pk.attname)
            listed = list(values.iterator())
            states[table] = (tables.combine(listed, tables.columns(model), False), {r[pk_at] for r in listed})
    return states


def test_a_hub_on_mariadb_moves_to_postgresql_while_a_client_writes(maria_url, pg_url, hub_env, request,
                                                                     django_db_blocker):
    """The hub runs on MariaDB (its HUB_HOME/db/hub-db.json names it, as a transfer there would
    have left it; hub_setup made the schema) with its web server and two django-q2 workers. A
    client queues jobs all along while the hub is moved to PostgreSQL through the API. Then:
    every accepted write is in PostgreSQL exactly once and the ones accepted after the switch are
    not in MariaDB; every refused write got 503 with Retry-After and its retry was taken; every
    job was run by a worker on PostgreSQL (a worker still on MariaDB would not find the job's
    row and leave it queued for ever); the web writes to PostgreSQL; health and the Storage
    status name PostgreSQL; and every table MariaDB held at the move is in PostgreSQL, row for row."""
    from storage import services
    from tasktop_hub import database

    home = Path(hub_env["HUB_HOME"])
    maria_entry = services.entry_from_input(as_input(maria_url))[1]
    database.write_record(home, home / "db", maria_entry, "mysql")
    hub = request.getfixturevalue("running_hub")  # started only now: on MariaDB
    _login(hub)
    _, state = hub.request("GET", "/api/v1/storage/")
    assert state["vendor"] == "mysql" and state["instance_lease"]["held_by_this_installation"], state
    _seed(hub, MOVED_SEED)
    status, _ = hub.request("PATCH", "/api/v1/settings/", {"instance_label": "on MariaDB"})
    assert status == 200

    writer = _Writer(hub)
    writer.start()
    try:
        writer.wait_accepted(2, "the client's first writes")
        move = _transfer(hub, as_input(pg_url))
        done = _finished(hub, move, 240, "the MariaDB → PostgreSQL transfer")
        assert done["status"] == "succeeded" and done["result"]["verified"] is True, done
        at_switch = len(writer.accepted)
        writer.wait_accepted(at_switch + 4, "writes after the switch")  # more jobs than workers
    finally:
        writer.stop.set()
        writer.join(15)
    assert not writer.errors, writer.errors
    assert writer.refused, "no write came while the transfer ran"
    for number, retry_after, body in writer.refused:
        assert retry_after == "60" and "try again in a minute" in body["detail"], (number, retry_after, body)
        assert number in writer.accepted  # retried, then taken
    for job_id in writer.accepted.values():
        assert _finished(hub, job_id, 120, f"job {job_id} to be run")["status"] == "succeeded"

    maria = _maria_admin()
    cursor = maria.cursor()
    maria_db = f"`{maria_url.rsplit('/', 1)[1]}`"
    cursor.execute(f"SELECT id, CAST(JSON_VALUE(params, '$.older_than_days') AS SIGNED) FROM "
                   f"{maria_db}.notifications_backgroundjob WHERE kind = 'purge_activity'")
    on_maria = dict(cursor.fetchall())
    cursor.execute(f"SELECT instance_label FROM {maria_db}.settings_app_hubsettings")
    assert cursor.fetchone()[0] == "on MariaDB"
    maria.close()
    with psycopg.connect(pg_url) as pg:
        on_pg = pg.execute("SELECT (params->>'older_than_days')::int, id, status FROM notifications_backgroundjob "
                           "WHERE kind = 'purge_activity'").fetchall()
    # Each accepted write once, run on PostgreSQL; a refused one nowhere (its retry is the one).
    assert sorted(n for n, _id, _status in on_pg) == sorted(writer.accepted)
    assert {n: i for n, i, _status in on_pg} == writer.accepted
    assert {s for _n, _id, s in on_pg} == {"succeeded"}
    # Written before the move: in both; after it: in PostgreSQL only.
    assert on_maria and set(on_maria.values()) < set(writer.accepted)
    assert all(writer.accepted[n] == i for i, n in on_maria.items())

    # The web process writes to PostgreSQL; health and the Storage status say PostgreSQL.
    status, _ = hub.request("PATCH", "/api/v1/settings/", {"instance_label": "on PostgreSQL"})
    assert status == 200
    with psycopg.connect(pg_url) as pg:
        assert pg.execute("SELECT instance_label FROM settings_app_hubsettings").fetchone()[0] == "on PostgreSQL"
        assert pg.execute("SELECT count(*) FROM notifications_auditevent WHERE action='seed'").fetchone()[0] == \
            MOVED_SEED
    _, health = hub.request("GET", "/api/health")
    assert health["checks"]["database"] == {"ok": True, "message": "postgresql reachable"}, health
    _, state = hub.request("GET", "/api/v1/storage/")
    assert state["vendor"] == "postgresql" and state["server_version"], state
    assert state["last_transfer"]["job"] == move and state["last_transfer"]["status"] == "succeeded", state
    assert state["instance_lease"]["held_by_this_installation"], state
    # The engine's dispatcher (a task looping in a worker, renewing its lease every half second)
    # renews it in PostgreSQL now, and no longer in MariaDB.
    lease_sql = "SELECT expires FROM {}integrations_enginelease WHERE name = 'engine-dispatcher'"
    maria = _maria_admin()
    cursor = maria.cursor()
    cursor.execute(lease_sql.format(maria_db + "."))
    maria_lease = cursor.fetchone()
    with psycopg.connect(pg_url, autocommit=True) as pg:
        first = pg.execute(lease_sql.format("")).fetchone()
        hub.wait_for(lambda: pg.execute(lease_sql.format("")).fetchone() != first, 60,
                     "the dispatcher to renew its lease in PostgreSQL")
    cursor.execute(lease_sql.format(maria_db + "."))
    assert cursor.fetchone() == maria_lease
    maria.close()

    # Nothing MariaDB held at the move is missing or different in PostgreSQL: the tables nobody
    # writes any more are equal (rows and checksums); of those still written, every row MariaDB
    # has is in PostgreSQL — and the audit trail's rows (only ever appended) are equal too.
    before = _table_states(maria_entry, django_db_blocker)
    audit_upto = {"notifications_auditevent": max(before["notifications_auditevent"][1])}
    after = _table_states(services.entry_from_input(as_input(pg_url))[1], django_db_blocker, upto=audit_upto)
    assert after["notifications_auditevent"] == before["notifications_auditevent"]
    for table, (checksum, keys) in before.items():
        if table in KEEPS_CHANGING:
            missing = keys - after[table][1]
            assert table.startswith(("django_q", "hub_cache")) or not missing, (table, sorted(missing)[:5])
        else:
            assert after[table][0] == checksum, table
