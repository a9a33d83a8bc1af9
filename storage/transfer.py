"""The database transfer: a background job that moves every table to another database.

Steps (each logged on the job, progress on the Activity screen):

1. pause processing (``storage.pause``: a condition every worker's gate obeys) and let work
   in flight finish;
2. take a consistent snapshot of the source: SQLite's online backup into
   ``HUB_HOME/db/backups/`` (after success it *is* the dated backup), or one REPEATABLE READ
   transaction on an external source;
3. mark the target (``hub_transfer_marker``: cleanup drops only what a marked transfer made),
   create the schema with the migrations in a child process whose only database is the
   target, and empty what the migrations filled (content types, permissions, schedules);
4. copy every table, parents first, with the vendor's bulk path (``storage.bulk``);
5. reset sequences; verify row counts and checksums table by table (``storage.tables``);
6. write the target's identity and instance lease, drop the marker;
7. switch: rewrite ``HUB_HOME/db/hub-db.json``; every process follows it (tasktop_hub.database);
8. resume processing.

The source is only ever read. Until step 7 nothing refers to the target, so a failure, an
abort or a SIGKILL anywhere before it leaves the hub on its source database, complete.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from notifications import jobs
from notifications.models import BackgroundJob
from storage import bulk, fastcopy, pause, tables
from storage.connect import alias_for, read_identity
from storage.vendors import describe_entry, vendor_of_entry
from tasktop_hub import database, inflight, write_guard

MARKER = tables.MARKER
# Set only while storage.services.start_transfer enqueues (after the connection test and the
# confirmation): the generic jobs API cannot start a transfer that skipped them.
_starting = threading.local()


@contextmanager
def starting() -> Iterator[None]:
    _starting.ok = True
    try:
        yield
    finally:
        _starting.ok = False


class TransferRefused(Exception):
    pass


# SQLSTATE / MySQL error numbers that mean "the target is out of space" or "the connection is
# gone": the Activity screen says so in words a person can act on.
_FULL_SQLSTATES = {"53100", "53200", "53400"}  # disk_full, out_of_memory, configuration_limit_exceeded
_FULL_MYSQL = {1021, 1114, 3, 28}  # disk full, table is full, error writing file, no space left
_GONE_MYSQL = {2006, 2013, 1927, 4031}  # server has gone away, lost connection, connection killed, timeout


def _codes(exc: BaseException) -> tuple[str, int | None, str]:
    """(SQLSTATE, MySQL error number, text) of a database error and its causes."""
    sqlstate, number, texts = "", None, []
    seen: BaseException | None = exc
    while seen is not None:
        sqlstate = sqlstate or str(getattr(seen, "sqlstate", "") or getattr(seen, "pgcode", "") or "")
        args = getattr(seen, "args", ())
        if number is None and args and isinstance(args[0], int):
            number = args[0]
        texts.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    return sqlstate, number, " ".join(texts).lower()


def failure_words(exc: BaseException, when: str) -> str:
    """Why a transfer failed, for the Activity screen."""
    from django.db import InterfaceError, OperationalError

    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    sqlstate, number, text = _codes(exc)
    if sqlstate in _FULL_SQLSTATES or number in _FULL_MYSQL or "no space left" in text or "disk full" in text:
        return (f"The target database ran out of space {when} ({detail}). Give it more space (or a larger quota).")
    if sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03") or number in _GONE_MYSQL or (
            isinstance(exc, (OperationalError, InterfaceError)) and any(
                w in text for w in ("terminat", "server closed", "connection", "gone away", "lost"))):
        return (f"The connection to a database was lost {when} ({detail}). Check that the target database server "
                "is running and reachable.")
    if isinstance(exc, (TransferRefused, pause.PauseLost)):
        return f"The transfer stopped {when}: {detail}"
    return f"The transfer failed {when}: {detail}."


def fail_dead_transfer() -> int | None:
    """A transfer whose worker died (its heartbeat stopped): end its pause and settle its job.

    Killed before the switch: the source database was only read, so nothing needs undoing; the
    job fails and the target's partial tables stay until someone runs cleanup (the connection
    test offers it). Killed after the switch (hub-db.json names its job): the target was complete
    and verified and the hub runs on it, so the job succeeded; its snapshot becomes the backup.
    """
    job = pause.clear_stale()
    if job is None:
        return None
    unfinished = BackgroundJob.objects.filter(pk=job, status__in=[BackgroundJob.Status.QUEUED,
                                                                  BackgroundJob.Status.RUNNING])
    record = database.read_record(Path(settings.HUB_DB_DIR)) if not settings.HUB_DATABASE_MANAGED_BY_ENV else None
    if record and record.get("transfer_job") == job:
        backup = str(record.get("backup") or "")
        if backup and Path(backup + ".partial").exists():
            os.replace(backup + ".partial", backup)
        unfinished.update(status=BackgroundJob.Status.SUCCEEDED, finished_at=timezone.now(),
                          result={"verified": True, "backup": backup},
                          log=Concat(F("log"), Value(f"{timezone.now():%Y-%m-%d %H:%M:%S} Database transfer "
                                                     "completed (its worker stopped right after the switch).\n")))
        return job
    unfinished.update(status=BackgroundJob.Status.FAILED, finished_at=timezone.now(),
                      error="The worker running the transfer stopped (killed or crashed). The hub kept its database; "
                            "run cleanup on the target, then transfer again.")
    return job


def current_entry() -> dict[str, Any]:
    return dict(connections["default"].settings_dict)


def _die_with_parent() -> None:
    """In the migrate child: die when the worker running the transfer dies (a SIGKILLed
    transfer must not leave a migration running on its target)."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def migrate_target(entry: dict[str, Any]) -> None:
    """migrate + createcachetable in child processes that know only the target database."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    for command in (["migrate", "--no-input"], ["createcachetable"]):
        read_fd, write_fd = os.pipe()
        os.write(write_fd, json.dumps(entry).encode())
        os.close(write_fd)
        env["HUB_DB_CONFIG_FD"] = str(read_fd)
        try:
            done = subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *command],
                                  env=env, pass_fds=(read_fd,), capture_output=True, text=True, timeout=1800,
                                  preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        finally:
            os.close(read_fd)
        if done.returncode != 0:
            raise RuntimeError(f"Creating the schema on the target failed ({' '.join(command)}): "
                               f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")


def snapshot_sqlite(source: dict[str, Any], path: Path) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = sqlite3.connect(path)
    try:
        live = connections["default"]
        live.ensure_connection()
        live.connection.backup(dest)  # one step: a consistent copy even while others write
    finally:
        dest.close()
    os.chmod(path, 0o600)
    return {**database.internal_entry(path.parent), "NAME": str(path)}


def mark_target(alias: str, job_id: int) -> None:
    # One statement (MySQL commits DDL at once): a kill leaves no marker or a filled one.
    conn = connections[alias]
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {conn.ops.quote_name(MARKER)} AS SELECT %s AS installation, %s AS job",
                       [settings.HUB_INSTALLATION_ID, str(job_id)])


def marker_owner(alias: str) -> str | None:
    conn = connections[alias]
    if MARKER not in tables.existing_tables(alias):
        return None
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT installation FROM {conn.ops.quote_name(MARKER)}")
        row = cursor.fetchone()
    return row[0] if row else ""


def empty_tables(alias: str, vendor: str, models: list) -> None:
    conn = connections[alias]
    names = [conn.ops.quote_name(m._meta.db_table) for m in models]
    with transaction.atomic(using=alias), conn.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(names)} CASCADE")
            return
        if vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for name in reversed(names):
            cursor.execute(f"DELETE FROM {name}")
        if vendor == "mysql":
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


@contextmanager
def _bulk_session(alias: str, vendor: str, models: list, beat: Callable[[str], None]
                  ) -> Iterator[fastcopy.TableCopied]:
    """How the target takes the copy: PostgreSQL with its indexes and foreign keys built after
    the rows; MariaDB/MySQL without per-row key checks. Yields what to call when a table's rows
    are committed."""
    if vendor == "postgresql":
        with fastcopy.postgres_bulk_session(alias, [m._meta.db_table for m in models], beat) as table_copied:
            yield table_copied
    elif vendor == "mysql":
        with fastcopy.mysql_bulk_session(alias) as table_copied:
            yield table_copied
    else:
        yield lambda table: None


@jobs.register
class TransferJob(jobs.Job):
    kind = "storage_transfer"
    title = "Database transfer"
    # Sealed under HUB_HOME/db's key, not the password itself; still nobody's business to read.
    sealed_params = ("password_encrypted",)

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        from django.core.exceptions import ValidationError

        if not getattr(_starting, "ok", False) or set(params) != {"target", "vendor", "password_encrypted"}:
            raise ValidationError("Start a database transfer from the Storage panel, POST /api/v1/storage/transfer/ or "
                                  "`manage.py storage transfer`: they test the target and ask for the confirmation.")
        return params

    def beat(self, phase: str) -> None:
        """A new step: say so (Activity, the pause's state) and stop here if someone aborted."""
        self.phase = phase
        pause.beat(self.record.pk, phase)
        if self.cancelled():
            raise jobs.JobCancelled()

    def run(self, target: dict[str, Any], vendor: str, password_encrypted: str) -> dict[str, Any]:
        home, db_dir = Path(settings.HUB_HOME), Path(settings.HUB_DB_DIR)
        target_entry = {**target, "PASSWORD": database.decrypt_secret(home, password_encrypted)
                        if password_encrypted else ""}
        source_entry = current_entry()
        source_vendor = vendor_of_entry(source_entry)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        snapshot = db_dir / "backups" / f"hub-{stamp}.sqlite3.partial"
        fail_dead_transfer()  # a killed transfer's job, before this one pauses the hub
        pause.begin(self.record.pk)
        self.phase = "starting"
        # Snapshots of transfers that were killed (no other transfer runs: begin() checked).
        for stale in snapshot.parent.glob("hub-*.sqlite3.partial*") if snapshot.parent.exists() else []:
            stale.unlink(missing_ok=True)
        ok = False
        try:
            self.log(f"Processing paused and writes refused. Transfer from {describe_entry(source_entry)} to "
                     f"{describe_entry(target_entry)}.")
            self.drain()
            if source_vendor == "sqlite":
                self.beat("snapshot")
                source_entry = snapshot_sqlite(source_entry, snapshot)
                self.log(f"Snapshot of the internal database taken ({snapshot.name}).")
            result = self._copy(source_entry, source_vendor, target_entry, vendor)
            self.beat("switching")  # an abort during the last step still wins
            database.write_record(home, db_dir, target_entry, vendor, previous=describe_entry(current_entry()),
                                  transfer_job=self.record.pk,
                                  backup=str(snapshot.with_suffix("")) if source_vendor == "sqlite" else "")
            ok = True
            database.refresh_now()  # this process first; the others within a second
            if source_vendor == "sqlite":
                os.replace(snapshot, snapshot.with_suffix(""))
                result["backup"] = str(snapshot.with_suffix(""))
            # Every process looks at hub-db.json at most CHECK_SECONDS before its next database
            # access: once that has passed, no write (they are still refused) can reach the old one.
            time.sleep(database.CHECK_SECONDS * 1.5)
            self.log(f"Database transfer completed: the hub now runs on {describe_entry(target_entry)}.")
            return result
        except jobs.JobCancelled:
            self.log(f"Transfer aborted {self.phase_words()}. {self.aftermath(source_entry)}")
            raise
        except Exception as exc:
            if ok:
                raise
            raise jobs.JobFailed(f"{failure_words(exc, self.phase_words())} {self.aftermath(source_entry)}") from exc
        finally:
            pause.end(self.record.pk)
            if not ok:
                for leftover in snapshot.parent.glob(snapshot.name + "*") if snapshot.parent.exists() else []:
                    leftover.unlink(missing_ok=True)

    def phase_words(self) -> str:
        return f"while {self.phase}" if self.phase != "starting" else "before it began"

    @staticmethod
    def aftermath(source: dict[str, Any]) -> str:
        where = "the internal database" if vendor_of_entry(source) == "sqlite" else describe_entry(source)
        return (f"The hub goes on with {where}, untouched and complete, and processing resumes. The target may "
                "hold partial tables: test its connection on the Storage panel and run cleanup, then transfer again.")

    def drain(self) -> None:
        """Wait (at most HUB_TRANSFER_DRAIN_SECONDS) for evidence that no work is in flight: no web
        request or command still writing, no engine run holding its run lease, no other background
        job running. Workers take no new work already (the pause's condition)."""
        bound = float(settings.HUB_TRANSFER_DRAIN_SECONDS)
        deadline = time.monotonic() + bound
        self.beat("waiting for work in flight")
        try:
            write_guard.wait_for_writers(bound)
        except write_guard.WritersStillRunning as exc:
            raise TransferRefused(str(exc)) from None
        while True:
            busy = inflight.running()
            if not busy:
                self.log("No work in flight: every worker has stopped taking work.")
                return
            if time.monotonic() >= deadline:
                raise TransferRefused(
                    f"Work was still running after {bound:g} s: {'; '.join(busy[:5])}. Nothing was copied. Wait "
                    "for it to finish (or stop the integration), then start the transfer again.")
            self.beat("waiting for work in flight")
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def _copy(self, source: dict[str, Any], source_vendor: str, target: dict[str, Any], vendor: str) -> dict[str, Any]:
        models = tables.transfer_models()
        if source_vendor == "mysql":  # Django's MySQL default is READ COMMITTED: no snapshot
            source = {**source, "OPTIONS": {**source.get("OPTIONS", {}), "isolation_level": "repeatable read"}}
        empty_is_null = "oracle" in (source_vendor, vendor)
        with alias_for(source, "hub_transfer_source") as src, alias_for(target, "hub_transfer_target") as dst, \
                ExitStack() as children:
            if tables.hub_table_names() & tables.existing_tables(dst):
                raise TransferRefused("The target already holds tables with the hub's names. Test the connection: "
                                      "cleanup removes a failed transfer's tables.")
            with transaction.atomic(using=src):
                if source_vendor == "postgresql":
                    connections[src].cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                elif source_vendor == "mysql":
                    connections[src].cursor().execute("SELECT 1")  # InnoDB snapshot starts at the first read
                total = sum(m._base_manager.using(src).count() for m in models)
                self.progress(0, total, force=True)
                mark_target(dst, self.record.pk)
                self.beat("creating the schema")
                self.log("Creating the schema on the target (migrations).")
                started = time.monotonic()
                migrate_target(target)
                empty_tables(dst, vendor, models)
                seconds = {"schema": time.monotonic() - started}
                started = time.monotonic()
                done = 0
                fast = source_vendor == "sqlite" and vendor in fastcopy.VENDORS
                sqlite_source = fastcopy.open_source(source["NAME"]) if fast else None
                # The fast path's source checksums, computed by a child beside the copy.
                expected = children.enter_context(fastcopy.SourceChecksums(
                    source["NAME"], vendor, [m for m in models if fastcopy.eligible(m)],
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None)) if fast else None
                try:
                    with _bulk_session(dst, vendor, models, self.beat) as table_copied:
                        for model in models:
                            self.beat(f"copying {model._meta.db_table}")
                            base = done

                            def progress(n: int, base: int = base) -> None:
                                self.progress(base + n, total)
                                if n and n % 50000 == 0:
                                    self.beat("copying")

                            with transaction.atomic(using=dst):
                                if sqlite_source is not None and fastcopy.eligible(model):
                                    done += fastcopy.copy_table(sqlite_source, dst, vendor, model, progress)
                                else:
                                    done += bulk.write_table(dst, vendor, model, tables.read_rows(src, model), progress)
                            table_copied(model._meta.db_table)
                        rows_copied = time.monotonic()
                finally:
                    if sqlite_source is not None:
                        sqlite_source.close()
                seconds["copy"] = time.monotonic() - started
                seconds["indexes"] = time.monotonic() - rows_copied  # part of "copy": what was left to build after the rows
                started = time.monotonic()
                self.log(f"Copied {done} rows in {len(models)} tables in {seconds['copy']:.1f} s "
                         f"(indexes and constraints {seconds['indexes']:.1f} s of it).")
                self.beat("verifying")
                with connections[dst].cursor() as cursor:
                    for sql in connections[dst].ops.sequence_reset_sql(no_style(), models):
                        cursor.execute(sql)
                mismatches = []
                for model in models:
                    table = model._meta.db_table
                    left: tuple[int, object]
                    right: tuple[int, object]
                    if expected is not None and fastcopy.eligible(model):  # one aggregate query on the target
                        fast_right = fastcopy.target_checksum(dst, vendor, model)
                        fast_left = expected.get(table)
                        left, right = (fast_left.rows, fast_left), (fast_right.rows, fast_right)
                    else:  # both sides read and hashed here
                        left = tables.table_checksum(src, model, empty_is_null)
                        right = tables.table_checksum(dst, model, empty_is_null)
                    if left != right:
                        mismatches.append(f"{table} (source {left[0]} rows, target {right[0]} rows"
                                          f"{'' if left[0] != right[0] else ', contents differ'})")
                    self.progress(done, total, force=False)
                if mismatches:
                    raise RuntimeError("Verification failed: " + "; ".join(mismatches[:5]))
                seconds["verify"] = time.monotonic() - started
                self.log(f"Verified {len(models)} tables: row counts and checksums match.")
            tables.leave_queue_ids_behind("default", dst)  # "default": the live source (see there)
            self._finish_target(dst, vendor)
        return {"tables": len(models), "rows": done, "verified": True,
                "seconds": {k: round(v, 2) for k, v in seconds.items()}}

    def _finish_target(self, dst: str, vendor: str) -> None:
        from storage import lease
        from storage.models import DatabaseIdentity, InstanceLease

        with transaction.atomic(using=dst):
            DatabaseIdentity.objects.using(dst).create(hub_installation=settings.HUB_INSTALLATION_ID)
            now = timezone.now()
            InstanceLease.objects.using(dst).create(pk=1, taken_at=now, renewed_at=now, how="transfer",
                                                    **lease.holder_fields())
            lease.schedules_follow(settings.HUB_INSTALLATION_ID, using=dst)
            with connections[dst].cursor() as cursor:
                cursor.execute(f"DROP TABLE {connections[dst].ops.quote_name(MARKER)}")
        with connections[dst].cursor() as cursor:
            for sql in connections[dst].ops.sequence_reset_sql(no_style(), [DatabaseIdentity, InstanceLease]):
                cursor.execute(sql)
        identity = read_identity(dst)
        self.log(f"Target database identity {identity}; this installation holds its instance lease.")
        # The job's row was copied with the snapshot: bring its log and progress up to date there,
        # so Activity shows the whole story once every process reads the target.
        now_row = BackgroundJob.objects.filter(pk=self.record.pk).values("log", "progress_done",
                                                                          "progress_total").first()
        if now_row:
            BackgroundJob.objects.using(dst).filter(pk=self.record.pk).update(**now_row)
