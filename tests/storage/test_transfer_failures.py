"""A transfer that fails or is aborted mid-copy leaves the hub whole (PostgreSQL target):

* the user aborts (Activity's / the API's abort) while a table is being copied;
* the connection to the target drops (its backends are ended with ``pg_terminate_backend``);
* the target's disk is full — stood in for by a trigger on one target table that raises
  SQLSTATE 53100 (``disk_full``), the error PostgreSQL gives when it cannot extend a file
  (a real full disk or a tablespace quota cannot be made here);

each time the hub goes on with its internal database, untouched and complete, processing resumes,
Activity says what happened and what to do, and cleanup removes only the tables this hub's
transfer created. Then a transfer succeeds and verifies, and the "same database, new location"
save refuses a location that reaches another database.
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


def _counts() -> dict[str, int]:
    return {m._meta.db_table: m._base_manager.count() for m in tables.transfer_models()
            if m._meta.db_table not in BOOKKEEPING}


def test_abort_dropped_connection_and_full_disk_leave_the_hub_whole(pg_target, pg_target2, monkeypatch):
    fill()
    entry = services.entry_from_input(pg_target)[1]
    with _pg(entry) as target:
        target.execute("CREATE TABLE customer_own_table (id int)")  # not the hub's: cleanup leaves it
    before = _counts()
    mishap = {"do": None}
    # The mishaps strike when the transfer says it starts copying FAIL_AT (whichever copy path it
    # takes); the full disk's trigger is made just after the migrations, before any copying.
    real_beat, real_migrate = TransferJob.beat, transfer.migrate_target

    def beat(self, phase):
        if phase == f"copying {FAIL_AT}" and mishap.get("do") in (_abort, _drop_connection):
            mishap.pop("do")(entry)
        return real_beat(self, phase)

    def migrate_target(target_entry):
        real_migrate(target_entry)
        if mishap.get("do") is _fill_the_disk:
            mishap.pop("do")(entry)

    monkeypatch.setattr(TransferJob, "beat", beat)
    monkeypatch.setattr(transfer, "migrate_target", migrate_target)
    expected = {
        _abort: (BackgroundJob.Status.CANCELLED, f"Transfer aborted while copying {FAIL_AT}"),
        _drop_connection: (BackgroundJob.Status.FAILED, "The connection to a database was lost while "),
        _fill_the_disk: (BackgroundJob.Status.FAILED, "The target database ran out of space while copying "),
    }
    for do, (status, words) in expected.items():
        mishap["do"] = do
        job = services.start_transfer(pg_target, CONFIRM, None)  # the job runs inline in tests
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
        assert services.test(pg_target).contents == "partial"
        with pytest.raises(ValidationError, match="cleanup"):
            services.start_transfer(pg_target, CONFIRM, None)
        dropped = services.cleanup(pg_target, None)
        assert "notifications_auditevent" in dropped and "customer_own_table" not in dropped
        with alias_for(entry) as alias:
            assert tables.existing_tables(alias) == {"customer_own_table"}

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
