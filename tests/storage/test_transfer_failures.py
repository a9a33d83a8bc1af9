"""A transfer that fails or is aborted mid-copy leaves the hub whole.

PostgreSQL target:

* the user aborts (Activity's / the API's abort) while a table is being copied;
* the connection to the target drops (its backends are ended with ``pg_terminate_backend``);
* the target's disk is full — stood in for by a trigger on one target table that raises
  SQLSTATE 53100 (``disk_full``), the error PostgreSQL gives when it cannot extend a file
  (a real full disk or a tablespace quota cannot be made here).

MariaDB target:

* the connection to the target drops (the transfer's sessions are ended with ``KILL CONNECTION``);
* the target's disk is full — stood in for by a table that cannot grow: after the migrations,
  one target table is made a MyISAM table of MAX_ROWS=1, AVG_ROW_LENGTH=1 (its data file then
  holds at most 64 KB; its foreign keys are dropped first, as MyISAM has none), so the server
  itself stops the ``LOAD DATA LOCAL`` half way with ER_RECORD_FILE_FULL (1114, "The table … is
  full") — the error InnoDB gives when the disk or its tablespace is full (errno 28, "No space
  left on device", is logged beside it on the server). Filling a real filesystem would need a
  mount on the database server's machine.

Each time the hub goes on with its internal database, untouched and complete, processing resumes,
Activity says what happened and what to do, and cleanup removes only the tables this hub's
transfer created. Then a transfer succeeds and verifies, and (PostgreSQL) the "same database,
new location" save refuses a location that reaches another database.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from notifications.models import AuditEvent, BackgroundJob
from storage import pause, services, tables, transfer
from storage.connect import alias_for, read_identity
from storage.transfer import TransferJob
from tasktop_hub import database, write_guard
from tests.storage.sample import fill

pytestmark = pytest.mark.django_db(transaction=True)

CONFIRM = "I understand the warning"
FAIL_AT = "notifications_auditevent"  # a table copied half way through (parents first)
# Tables the transfer's own bookkeeping writes (its job row, its audit rows, django-q2's result).
BOOKKEEPING = {"notifications_backgroundjob", "notifications_auditevent", "django_q_task"}


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.HUB_TRANSFER_DRAIN_SECONDS = 0


def _pg(entry: dict, dbname: str | None = None) -> psycopg.Connection:
    return psycopg.connect(host=entry["HOST"], port=entry["PORT"], user=entry["USER"], password=entry["PASSWORD"],
                           dbname=dbname or entry["NAME"], autocommit=True)


def _abort(entry: dict) -> None:
    services.abort_transfer(None)  # what the Abort button and POST /api/v1/storage/transfer/abort/ call


def _drop_connection(entry: dict) -> None:
    with _pg(entry, "postgres") as admin:
        ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                              "AND pid <> pg_backend_pid()", [entry["NAME"]]).fetchone()[0]
    assert ended >= 1  # the transfer's connection to the target


def _fill_the_disk(entry: dict) -> None:
    with _pg(entry) as target:
        target.execute("CREATE FUNCTION hub_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       "RAISE EXCEPTION 'could not extend file \"base/16384/16385\": No space left on device' "
                       "USING ERRCODE = 'disk_full'; END $$")
        target.execute(f"CREATE TRIGGER hub_test_disk_full BEFORE INSERT ON {FAIL_AT} FOR EACH ROW "
                       "EXECUTE FUNCTION hub_test_disk_full()")


def _maria(entry: dict):
    import MySQLdb

    conn = MySQLdb.connect(host=entry["HOST"], port=int(entry["PORT"] or 3306), user=entry["USER"],
                           password=entry["PASSWORD"], database=entry["NAME"])
    conn.autocommit(True)
    return conn


def _kill_maria_connections(entry: dict) -> None:
    conn = _maria(entry)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                       [entry["NAME"]])
        sessions = [row[0] for row in cursor.fetchall()]
        for session in sessions:
            cursor.execute(f"KILL CONNECTION {int(session)}")
    finally:
        conn.close()
    assert sessions  # the transfer's connection to the target


def _cap_maria_table(entry: dict) -> None:
    """FAIL_AT as a table whose data file cannot grow past 64 KB (see the module's docstring)."""
    conn = _maria(entry)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT table_name, constraint_name FROM information_schema.referential_constraints "
                       "WHERE constraint_schema = %s AND (table_name = %s OR referenced_table_name = %s)",
                       [entry["NAME"], FAIL_AT, FAIL_AT])
        for table, constraint in cursor.fetchall():
            cursor.execute(f"ALTER TABLE `{table}` DROP FOREIGN KEY `{constraint}`")
        cursor.execute(f"ALTER TABLE `{FAIL_AT}` ENGINE=MyISAM MAX_ROWS=1 AVG_ROW_LENGTH=1")
        cursor.execute("SELECT max_data_length FROM information_schema.tables WHERE table_schema = %s "
                       "AND table_name = %s", [entry["NAME"], FAIL_AT])
        assert cursor.fetchone()[0] == 65535
    finally:
        conn.close()


AFTER_SCHEMA = (_fill_the_disk, _cap_maria_table)


def _counts() -> dict[str, int]:
    return {m._meta.db_table: m._base_manager.count() for m in tables.transfer_models()
            if m._meta.db_table not in BOOKKEEPING}


@pytest.fixture
def mishap(monkeypatch):
    """``mishap["do"] = (what, entry)``: ``what(entry)`` strikes when the transfer says it starts
    copying FAIL_AT (whichever copy path it takes) — or, for the full disks, just after the
    migrations, before any copying (their tables must exist first)."""
    planned: dict = {}
    real_beat, real_migrate = TransferJob.beat, transfer.migrate_target

    def beat(self, phase):
        if phase == f"copying {FAIL_AT}" and planned.get("do") and planned["do"][0] not in AFTER_SCHEMA:
            what, entry = planned.pop("do")
            what(entry)
        return real_beat(self, phase)

    def migrate_target(target_entry):
        real_migrate(target_entry)
        if planned.get("do") and planned["do"][0] in AFTER_SCHEMA:
            what, entry = planned.pop("do")
            what(entry)

    monkeypatch.setattr(TransferJob, "beat", beat)
    monkeypatch.setattr(transfer, "migrate_target", migrate_target)
    return planned


def _leaves_the_hub_whole(target: dict, mishap: dict, what, status: str, words: str) -> None:
    """One failed (or aborted) transfer: the hub whole, Activity's words, cleanup, in that order."""
    entry = services.entry_from_input(target)[1]
    before = _counts()
    mishap["do"] = (what, entry)
    job = services.start_transfer(target, CONFIRM, None)  # the job runs inline in tests
    job.refresh_from_db()

    assert "do" not in mishap, "the mishap did not happen"
    assert job.status == status, job.error + job.log
    told = job.error if status == BackgroundJob.Status.FAILED else job.log
    assert words in told, told
    assert "The hub goes on with the internal database, untouched and complete" in told
    assert "run cleanup" in told
    # The hub: still on its internal database, all of it there, processing and writes resumed.
    assert not (Path(settings.HUB_DB_DIR) / database.ACTIVE_FILE).exists()
    assert _counts() == before
    assert AuditEvent.objects.filter(action="sample.change").count() == 40
    assert pause.read() is None and pause.reason() is None and write_guard.frozen_reason() is None
    assert not list((Path(settings.HUB_DB_DIR) / "backups").glob("*.partial*"))
    # The target holds the transfer's partial tables; cleanup drops those and nothing else.
    assert services.test(target).contents == "partial"
    with pytest.raises(ValidationError, match="cleanup"):
        services.start_transfer(target, CONFIRM, None)
    dropped = services.cleanup(target, None)
    assert "notifications_auditevent" in dropped and "customer_own_table" not in dropped
    with alias_for(entry) as alias:
        assert tables.existing_tables(alias) == {"customer_own_table"}


def test_abort_dropped_connection_and_full_disk_leave_the_hub_whole(pg_target, pg_target2, mishap, monkeypatch):
    fill()
    entry = services.entry_from_input(pg_target)[1]
    with _pg(entry) as target:
        target.execute("CREATE TABLE customer_own_table (id int)")  # not the hub's: cleanup leaves it
    expected = {
        _abort: (BackgroundJob.Status.CANCELLED, f"Transfer aborted while copying {FAIL_AT}"),
        _drop_connection: (BackgroundJob.Status.FAILED, "The connection to a database was lost while "),
        _fill_the_disk: (BackgroundJob.Status.FAILED, "The target database ran out of space while copying "),
    }
    for what, (status, words) in expected.items():
        _leaves_the_hub_whole(pg_target, mishap, what, status, words)

    done = services.start_transfer(pg_target, CONFIRM, None)
    done.refresh_from_db()
    assert done.status == BackgroundJob.Status.SUCCEEDED, done.error + done.log
    assert done.result["verified"] is True
    record = json.loads((Path(settings.HUB_DB_DIR) / database.ACTIVE_FILE).read_text())
    assert record["entry"]["NAME"] == entry["NAME"]

    # Same database, new location: only a location that reaches this very database is saved.
    with alias_for(entry) as alias:
        identity = read_identity(alias)
    monkeypatch.setattr(services, "current_entry", lambda: entry)  # the hub now runs on pg_target
    monkeypatch.setattr(services, "_own_identity", lambda: identity)
    with pytest.raises(ValidationError, match="does not reach this hub's database"):
        services.relocate(pg_target2, CONFIRM, None)  # an empty database elsewhere
    assert json.loads((Path(settings.HUB_DB_DIR) / database.ACTIVE_FILE).read_text())["entry"]["HOST"] == "127.0.0.1"
    same_by_another_name = {**pg_target, "location": pg_target["location"].replace("127.0.0.1", "localhost")}
    services.relocate(same_by_another_name, CONFIRM, None)
    assert json.loads((Path(settings.HUB_DB_DIR) / database.ACTIVE_FILE).read_text())["entry"]["HOST"] == "localhost"


def test_dropped_connection_and_full_table_on_mariadb_leave_the_hub_whole(maria_target, mishap):
    fill()
    # Enough audit rows that the capped table's 64 KB cannot hold them.
    AuditEvent.objects.bulk_create([AuditEvent(action="filler", target=f"row:{n}", details={"text": "x" * 300})
                                    for n in range(400)])
    entry = services.entry_from_input(maria_target)[1]
    conn = _maria(entry)
    conn.cursor().execute("CREATE TABLE customer_own_table (id int)")  # not the hub's: cleanup leaves it
    conn.close()
    _leaves_the_hub_whole(maria_target, mishap, _kill_maria_connections, BackgroundJob.Status.FAILED,
                          f"The connection to a database was lost while copying {FAIL_AT}")
    _leaves_the_hub_whole(maria_target, mishap, _cap_maria_table, BackgroundJob.Status.FAILED,
                          f"The target database ran out of space while copying {FAIL_AT}")
    job = BackgroundJob.objects.filter(kind=TransferJob.kind).order_by("-pk").first()
    assert "is full" in job.error and "Give it more space" in job.error, job.error

    done = services.start_transfer(maria_target, CONFIRM, None)
    done.refresh_from_db()
    assert done.status == BackgroundJob.Status.SUCCEEDED, done.error + done.log
    assert done.result["verified"] is True
    with alias_for(entry) as alias:
        assert AuditEvent.objects.using(alias).filter(action="filler").count() == 400
