"""The fast path of a transfer from the internal SQLite database to PostgreSQL or MariaDB/MySQL.

SQLite already holds every value of the hub's tables as the text (or integer) both targets
parse: datetimes as naive UTC ``YYYY-MM-DD HH:MM:SS[.ffffff]``, JSON as text, booleans as 1/0,
UUIDs as 32 hex digits. So rows are not turned into Python values and back: SQLite hands over
the stored bytes, a whole batch is escaped at once into ``COPY``'s / ``LOAD DATA``'s text
format with a handful of C-speed ``bytes.replace`` calls, and it is written in large chunks.

Verification costs one aggregate query per table on the target: the checksum is a per-row
MD5 of a canonical text (each value as ``<byte length>:<text>``, NULL as ``N``; datetimes with
six fraction digits in UTC; booleans 1/0; UUIDs as hex; JSON as the target renders it), summed
as two 64-bit halves. The target computes it in SQL over what it stored; the source side is
computed from the same snapshot file by a child process while this one copies
(``SourceChecksums``, ``storage.checksum``: SQLite forms most of the text, the child renders
JSON as PostgreSQL's ``jsonb`` prints it), so a value the target parsed differently, a lost,
duplicated or altered row makes the sums differ.

A table qualifies when each of its columns is of a kind listed in ``KINDS``; any other table
(a binary column, say) goes through the generic path of ``storage.bulk`` and is verified by
``storage.tables.table_checksum``.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction

from storage import checksum
from storage.checksum import Checksum

VENDORS = ("postgresql", "mysql")  # targets the fast path writes to (from SQLite)
BATCH_ROWS = 5000
# Rows per LOAD DATA file (on disk, not in memory). One statement per table measured faster on
# MariaDB 10.11 than 50,000-row statements (5.4 s against 7.8 s for 200k rows, docs/benchmarks.md).
LOAD_CHUNK_ROWS = 10_000_000
Progress = Callable[[int], None]

# Django internal type → how its SQLite value is read and its canonical text formed.
KINDS = {
    **dict.fromkeys(["AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
                     "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
                     "PositiveSmallIntegerField"], "int"),
    "BooleanField": "bool",
    **dict.fromkeys(["CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField"], "text"),
    "DateTimeField": "datetime",
    "DateField": "date",
    "UUIDField": "uuid",
    "JSONField": "json",
}
# Separator bytes of a batch (see encode_batch); data that contains one is encoded row by row.
_FIELD, _ROW, _NULL, _VALUE = b"\x1f", b"\x1e", b"\x1d", b"\x1c"


def kind_of(field: models.Field) -> str | None:
    while field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field  # type: ignore[attr-defined]  # a foreign key is stored as its target
    return KINDS.get(field.get_internal_type())


def eligible(model: type[models.Model]) -> bool:
    return all(kind_of(f) is not None for f in model._meta.concrete_fields)


def _q(name: str | None) -> str:
    return '"' + str(name).replace('"', '""') + '"'


# -- encoding a batch into COPY / LOAD DATA text ---------------------------------------------

def _escape(data: bytes, vendor: str) -> bytes:
    data = data.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    if vendor == "mysql":  # MySQL would keep a raw NUL; PostgreSQL refuses NUL in text anyway
        data = data.replace(b"\x00", b"\\0")
    return data


def encode_batch(batch: list[tuple[bytes, ...]], width: int, vendor: str) -> bytes:
    """Rows of ``width`` fields, each ``\\x1c<value>`` or ``\\x1d`` (NULL), then ``\\x1e`` — as
    SQLite returns them from ``copy_sql`` — as text lines of COPY / LOAD DATA.

    The batch is joined and escaped as one bytes object. That is exact only when no value holds
    one of the four separator bytes: each occurs a known number of times then, and any extra
    occurrence (from data) makes the counts differ, so such a batch is encoded row by row.
    """
    rows = len(batch)
    joined = _FIELD.join(chain.from_iterable(batch)) + _FIELD
    if (joined.count(_FIELD) != rows * (width + 1) or joined.count(_ROW) != rows
            or joined.count(_VALUE) + joined.count(_NULL) != rows * width):
        return encode_rows(batch, width, vendor)
    joined = _escape(joined, vendor)
    return (joined.replace(_FIELD + _ROW + _FIELD, b"\n").replace(_NULL, b"\\N").replace(_VALUE, b"")
            .replace(_FIELD, b"\t"))


def encode_rows(batch: list[tuple[bytes, ...]], width: int, vendor: str) -> bytes:
    """The same text, value by value (slow; for batches whose data holds a separator byte)."""
    lines = []
    for row in batch:
        lines.append(b"\t".join(b"\\N" if v == _NULL else _escape(v[1:], vendor) for v in row[:width]) + b"\n")
    return b"".join(lines)


# -- canonical row text and checksum ---------------------------------------------------------

def _in_python(vendor: str, kind: str) -> bool:
    """Columns whose canonical text the source side forms in Python (after the others)."""
    return vendor == "postgresql" and kind == "json"


def _canonical_order(model: type[models.Model], vendor: str) -> list[tuple[models.Field, str]]:
    fields = [(f, kind_of(f) or "") for f in model._meta.concrete_fields]
    return ([fk for fk in fields if not _in_python(vendor, fk[1])]
            + [fk for fk in fields if _in_python(vendor, fk[1])])


def _sqlite_text(column: str, kind: str) -> str:
    if kind == "datetime":  # Django omits a zero fraction; the canonical text always has six digits
        return f"CASE WHEN length({column}) = 19 THEN {column} || '.000000' ELSE {column} END"
    return column


def _target_text(column: str, kind: str, vendor: str) -> str:
    if vendor == "postgresql":
        return {"int": f"{column}::text", "bool": f"CASE WHEN {column} THEN '1' WHEN NOT {column} THEN '0' END",
                "datetime": f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
                "date": f"to_char({column}, 'YYYY-MM-DD')", "uuid": f"replace({column}::text, '-', '')",
                "json": f"{column}::text"}.get(kind, column)
    return {"int": f"CAST({column} AS CHAR)", "bool": f"CAST({column} AS CHAR)",
            "datetime": f"DATE_FORMAT({column}, '%Y-%m-%d %H:%i:%s.%f')",  # run without parameters: % as is
            "date": f"DATE_FORMAT({column}, '%Y-%m-%d')",
            "uuid": f"REPLACE(CAST({column} AS CHAR), '-', '')"}.get(kind, column)


def copy_sql(model: type[models.Model]) -> str:
    """SQLite query: the copy fields, each prefixed \\x1c (or \\x1d for NULL), then \\x1e."""
    copy = [f"coalesce(char(28) || {_q(f.column)}, char(29))" for f in model._meta.concrete_fields]
    return f"SELECT {', '.join(copy)}, char(30) FROM {_q(model._meta.db_table)}"


def checksum_sql(model: type[models.Model], vendor: str) -> tuple[str, int]:
    """SQLite query for the source checksum: each row's canonical text of the columns formed in
    SQL, then the raw values of those formed in Python; and how many of the latter there are."""
    in_sql, in_python = [], []
    for field, kind in _canonical_order(model, vendor):
        if _in_python(vendor, kind):
            in_python.append(_q(field.column))
        else:
            text = _sqlite_text(_q(field.column), kind)
            in_sql.append(f"coalesce(length(CAST({text} AS BLOB)) || ':' || {text}, 'N')")
    canonical = " || ".join(in_sql) if in_sql else "''"
    return (f"SELECT {canonical}{''.join(', ' + c for c in in_python)} FROM {_q(model._meta.db_table)}",
            len(in_python))


def target_checksum_sql(model: type[models.Model], vendor: str) -> str:
    q = (lambda n: '"' + n + '"') if vendor == "postgresql" else (lambda n: "`" + n + "`")
    parts = []
    for field, kind in _canonical_order(model, vendor):
        text = _target_text(q(field.column), kind, vendor)
        if vendor == "postgresql":
            parts.append(f"coalesce(octet_length({text}) || ':' || {text}, 'N')")
        else:
            parts.append(f"COALESCE(CONCAT(LENGTH({text}), ':', {text}), 'N')")
    table = q(model._meta.db_table)
    if vendor == "postgresql":
        return (f"SELECT count(*), sum(('x' || substr(h, 1, 16))::bit(64)::bigint), "
                f"sum(('x' || substr(h, 17, 16))::bit(64)::bigint) FROM (SELECT md5({' || '.join(parts)}) AS h "
                f"FROM {table}) AS rows")
    return (f"SELECT COUNT(*), SUM(CAST(CONV(SUBSTR(h, 1, 16), 16, 10) AS UNSIGNED)), "
            f"SUM(CAST(CONV(SUBSTR(h, 17, 16), 16, 10) AS UNSIGNED)) FROM (SELECT MD5(CONCAT({', '.join(parts)})) "
            f"AS h FROM {table}) AS hub_rows")


def target_checksum(alias: str, vendor: str, model: type[models.Model]) -> Checksum:
    with connections[alias].cursor() as cursor:
        cursor.execute(target_checksum_sql(model, vendor))
        return Checksum.of(*cursor.fetchone())


def source_checksum(source: sqlite3.Connection, vendor: str, model: type[models.Model]) -> Checksum:
    """The source side, in this process (SourceChecksums computes it in a child)."""
    sql, json_columns = checksum_sql(model, vendor)
    return checksum.table_checksum(source, sql, json_columns)


class SourceChecksums:
    """The source checksums of ``models``, computed by a child process (``storage.checksum``)
    from the snapshot file while this one copies; ``get`` waits for a table's."""

    def __init__(self, path: str, vendor: str, models: list[type[models.Model]],
                 preexec_fn: Callable[[], None] | None = None) -> None:
        spec = {"path": path, "tables": [[m._meta.db_table, *checksum_sql(m, vendor)] for m in models]}
        self._errors = tempfile.TemporaryFile()
        self._child = subprocess.Popen([sys.executable, "-m", "storage.checksum"], cwd=settings.BASE_DIR,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
                                       preexec_fn=preexec_fn)
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(json.dumps(spec).encode())
        self._child.stdin.close()
        self._done: dict[str, Checksum] = {}

    def get(self, table: str) -> Checksum:
        assert self._child.stdout is not None
        while table not in self._done:
            line = self._child.stdout.readline()
            if not line:
                self._errors.seek(0)
                reason = self._errors.read().decode(errors="replace").strip().splitlines()[-1:]
                raise RuntimeError(f"Computing the source checksums stopped (exit {self._child.wait()}): {reason}")
            got = json.loads(line)
            self._done[got["table"]] = Checksum.of(got["rows"], got["high"], got["low"])
        return self._done[table]

    def close(self) -> None:
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        if self._child.stdout is not None:
            self._child.stdout.close()
        self._errors.close()

    def __enter__(self) -> SourceChecksums:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- copying ---------------------------------------------------------------------------------

def open_source(path: str) -> sqlite3.Connection:
    """The snapshot file, read only, values as the bytes SQLite stores."""
    return checksum.open_snapshot(path)


def _batches(source: sqlite3.Connection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    cursor = source.execute(sql)
    try:
        while batch := cursor.fetchmany(BATCH_ROWS):
            yield batch
    finally:
        cursor.close()


def copy_table(source: sqlite3.Connection, alias: str, vendor: str, model: type[models.Model],
               progress: Progress) -> int:
    """Copy one table (inside the caller's transaction); the number of rows copied."""
    width = len(model._meta.concrete_fields)
    columns = ", ".join(connections[alias].ops.quote_name(str(f.column)) for f in model._meta.concrete_fields)
    table = connections[alias].ops.quote_name(model._meta.db_table)
    copied = 0

    def chunks() -> Iterator[bytes]:
        nonlocal copied
        for batch in _batches(source, copy_sql(model)):
            copied += len(batch)
            yield encode_batch(batch, width, vendor)
            progress(copied)

    if vendor == "postgresql":
        with connections[alias].cursor() as cursor:
            cursor.execute("SET LOCAL TIME ZONE 'UTC'")  # naive datetimes in COPY are UTC
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for data in chunks():
                    copy.write(data)
    else:
        _load_data(alias, table, columns, chunks())
    progress(copied)
    return copied


def _load_data(alias: str, table: str, columns: str, chunks: Iterator[bytes]) -> None:
    """LOAD DATA LOCAL of temporary files of LOAD_CHUNK_ROWS rows each: a loader thread loads
    one while the next is written (the driver releases the GIL while the server works)."""
    conn = connections[alias]
    conn.ensure_connection()
    raw = conn.connection
    sql = (f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' "
           f"ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns})")
    files: queue.Queue[str | None] = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def loader() -> None:
        while (path := files.get()) is not None:
            try:
                if not failure:
                    with raw.cursor() as cursor:
                        cursor.execute(sql, [path])
                        cursor.execute("SHOW WARNINGS")
                        warnings = [w for w in cursor.fetchall() if w[0] != "Note"]
                    if warnings:
                        raise ValueError(f"LOAD DATA into {table} reported: {warnings[:3]}")
            except BaseException as exc:  # noqa: BLE001 — handed to the copying thread
                failure.append(exc)
            finally:
                os.unlink(path)

    thread = threading.Thread(target=loader, name="hub-load-data", daemon=True)
    thread.start()
    try:
        pending: list[bytes] = []
        lines = 0
        for data in chunks:
            if failure:
                break
            pending.append(data)
            lines += data.count(b"\n")
            if lines >= LOAD_CHUNK_ROWS:
                files.put(_spill(pending))
                pending, lines = [], 0
        if pending and not failure:
            files.put(_spill(pending))
    finally:
        files.put(None)
        thread.join()
    if failure:
        raise failure[0]


def _spill(chunks: list[bytes]) -> str:
    fd, path = tempfile.mkstemp(prefix="hub-transfer-", suffix=".tsv")
    with os.fdopen(fd, "wb") as fh:
        for data in chunks:
            fh.write(data)
    return path


# -- PostgreSQL: indexes and foreign keys built once, after the copy --------------------------

_PG_FOREIGN_KEYS = """
SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
WHERE con.contype = 'f' AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid)
ORDER BY 1, 2
"""
# Secondary indexes on columns and the unique constraints owning one; not partial or expression
# indexes (PostgreSQL prints their definitions differently once re-created, so the check below
# could not tell them equal), nor those a foreign key from a table outside the copy depends on.
_PG_INDEXES = """
SELECT c.relname, ic.relname, pg_get_indexdef(i.indexrelid), con.conname, pg_get_constraintdef(con.oid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('u', 'x')
WHERE NOT i.indisprimary AND i.indpred IS NULL AND i.indexprs IS NULL AND c.relname = ANY(%s) AND pg_table_is_visible(c.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f JOIN pg_class fc ON fc.oid = f.conrelid
                  WHERE f.contype = 'f' AND f.conindid = i.indexrelid AND NOT fc.relname = ANY(%s))
ORDER BY 1, 2
"""


def _pg_catalog(cursor: Any, tables: list[str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    cursor.execute(_PG_FOREIGN_KEYS, [tables])
    foreign_keys = [tuple(r) for r in cursor.fetchall()]
    cursor.execute(_PG_INDEXES, [tables, tables])
    return foreign_keys, [tuple(r) for r in cursor.fetchall()]


TableCopied = Callable[[str], None]


class _IndexBuilder:
    """Re-creates the copied tables' secondary indexes on a connection of its own, a table as
    soon as its rows are committed, while the caller copies the next table: PostgreSQL sorts
    for the index on one core while the copy keeps the other busy (measured in
    ``docs/benchmarks.md``; pgloader overlaps its index builds the same way)."""

    def __init__(self, alias: str, indexes: list[tuple[Any, ...]], background: bool) -> None:
        self.alias = alias
        self.background = background
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        for row in indexes:
            self.pending.setdefault(row[0], []).append(row)
        self.queued: set[str] = set()
        self.tables: queue.Queue[str | None] = queue.Queue()
        self.failure: list[BaseException] = []
        self.stop = False
        self.current = ""
        self.thread = threading.Thread(target=self._run, name="hub-index-builder", daemon=True)
        if background:
            self.thread.start()

    def table_copied(self, table: str) -> None:
        if self.failure:
            raise self.failure[0]
        if self.background and table in self.pending and table not in self.queued:
            self.queued.add(table)
            self.tables.put(table)

    def _build(self, table: str, beat: Callable[[str], None] | None = None) -> None:
        conn = connections[self.alias]
        q = conn.ops.quote_name
        self.current = table
        with conn.cursor() as cursor:
            for _table, _index, definition, constraint, constraint_def in self.pending[table]:
                if beat:
                    beat(f"indexing {table}")
                if constraint:
                    cursor.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(constraint)} {constraint_def}")
                else:
                    cursor.execute(definition)

    def _run(self) -> None:
        conn = connections[self.alias]  # this thread's own connection, autocommit: a statement each
        try:
            while (table := self.tables.get()) is not None:
                if not (self.stop or self.failure):
                    self._build(table)
        except BaseException as exc:  # noqa: BLE001 — handed to the copying thread
            self.failure.append(exc)
        finally:
            try:
                conn.close()
            finally:
                local = connections._connections  # type: ignore[attr-defined]
                if hasattr(local, self.alias):
                    delattr(local, self.alias)

    def finish(self, beat: Callable[[str], None] | None) -> None:
        """Build what is left and wait for it (a long build must not look like a dead transfer)."""
        if not self.background:
            for table in self.pending:
                self._build(table, beat)
            return
        for table in self.pending:
            self.table_copied(table)
        self.tables.put(None)
        while self.thread.is_alive():
            self.thread.join(5)
            if beat and self.thread.is_alive():
                beat(f"indexing {self.current}")
        if self.failure:
            raise self.failure[0]

    def abort(self) -> None:
        """Let the build in progress end, start no other."""
        if not self.background:
            return
        self.stop = True
        self.tables.put(None)
        self.thread.join()


@contextmanager
def postgres_bulk_session(alias: str, tables: list[str], beat: Callable[[str], None] | None = None
                          ) -> Iterator[TableCopied]:
    """On a PostgreSQL target: drop the copied tables' foreign keys and secondary indexes, let the
    caller copy (each table its own transaction, so no lock outlives its table), then create them
    again (one sort per index, one join per foreign key, instead of per-row work and a deferred
    check per row at COMMIT) and check that the catalog is again exactly what the migrations
    made. The caller reports each table as its rows are committed (the value yielded): that
    table's indexes are built then, beside the next table's copy. The foreign keys come last,
    when every table is whole. Nothing refers to the target yet: a failure in between leaves
    marked partial tables, which cleanup drops, as after any failed copy."""
    conn = connections[alias]
    q = conn.ops.quote_name
    with transaction.atomic(using=alias), conn.cursor() as cursor:
        before = _pg_catalog(cursor, tables)
        foreign_keys, indexes = before
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")
        for table, index, _definition, constraint, _constraint_def in indexes:
            if constraint:
                cursor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(constraint)}")
            else:
                cursor.execute(f"DROP INDEX {q(index)}")
    # Inside a caller's transaction the tables stay locked by it until the end: build there then.
    builder = _IndexBuilder(alias, indexes, background=not conn.in_atomic_block)
    try:
        yield builder.table_copied
    except BaseException:
        builder.abort()
        raise
    builder.finish(beat)
    with transaction.atomic(using=alias), conn.cursor() as cursor:
        for table, name, definition in foreign_keys:
            if beat:
                beat(f"checking the foreign keys of {table}")
            cursor.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} {definition}")
        after = _pg_catalog(cursor, tables)
    if after != before:
        lost = sorted(set(before[0] + before[1]) - set(after[0] + after[1]), key=str)
        extra = sorted(set(after[0] + after[1]) - set(before[0] + before[1]), key=str)
        raise RuntimeError("The target's indexes and constraints differ from the migrations' after the copy "
                           f"(missing: {lost[:3]}; unexpected: {extra[:3]}).")


@contextmanager
def mysql_bulk_session(alias: str) -> Iterator[TableCopied]:
    """MariaDB/MySQL: no foreign key checks per loaded row (parents and children arrive in
    separate statements; the source satisfied them and verification compares every row).
    Unique checks stay on: turning them off measured slower."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
    try:
        yield lambda table: None
    finally:
        with connections[alias].cursor() as cursor:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
