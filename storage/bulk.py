"""Writing a table's rows into the target with the vendor's bulk path.

* PostgreSQL: ``COPY … FROM STDIN`` through psycopg, row by row as they are read.
* MySQL / MariaDB: ``LOAD DATA LOCAL INFILE`` of a tab-separated file written as the rows are
  read (on disk, never in memory); batched inserts when the server refuses local files.
* Oracle, SQL Server (and the fallback): ``executemany`` in batches, values adapted here.

Each table is written in one transaction on the target: a failure leaves it empty or
complete, and the source is only ever read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from django.db import connections, models

BATCH_ROWS = 1000
Progress = Callable[[int], None]


def batches(rows: Iterable[tuple[Any, ...]], size: int = BATCH_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    """Consecutive lists of at most ``size`` rows (the whole table is never held)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    iterator = iter(rows)
    while True:
        chunk = list(islice(iterator, size))
        if not chunk:
            return
        yield chunk


def _json_text(value: Any, field: models.Field) -> str:
    return json.dumps(value, cls=getattr(field, "encoder", None))


def adapt_generic(value: Any, field: models.Field, vendor: str) -> Any:
    """A value as a DB-API parameter for Oracle / SQL Server (and the insert fallback).

    Both store datetimes without a zone (UTC, as Django does when USE_TZ is on and the
    backend has no zone support), booleans as numbers, UUIDs as 32 hex characters and JSON
    as text; Oracle cannot store '' (it is NULL there).
    """
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return _json_text(value, field)
    if vendor in ("oracle", "sqlserver"):
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        if isinstance(value, uuid.UUID):
            return value.hex
        if vendor == "oracle" and value == "":
            return None
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _quote(alias: str, name: str | None) -> str:
    return connections[alias].ops.quote_name(str(name))


def insert_sql(alias: str, model: type[models.Model]) -> str:
    fields = model._meta.concrete_fields
    cols = ", ".join(_quote(alias, f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {_quote(alias, model._meta.db_table)} ({cols}) VALUES ({marks})"


def write_executemany(alias: str, model: type[models.Model], rows: Iterable[tuple[Any, ...]], vendor: str,
                      progress: Progress) -> int:
    fields = list(model._meta.concrete_fields)
    sql = insert_sql(alias, model)
    done = 0
    with connections[alias].cursor() as cursor:
        for chunk in batches(rows):
            cursor.executemany(sql, [tuple(adapt_generic(v, f, vendor) for v, f in zip(row, fields, strict=True))
                                     for row in chunk])
            done += len(chunk)
            progress(done)
    return done


def write_copy(alias: str, model: type[models.Model], rows: Iterable[tuple[Any, ...]], progress: Progress) -> int:
    fields = list(model._meta.concrete_fields)
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    cols = ", ".join(_quote(alias, f.column) for f in fields)
    done = 0
    with connections[alias].cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor inside Django's wrapper
        with raw.copy(f"COPY {_quote(alias, model._meta.db_table)} ({cols}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    values = list(row)
                    for i in json_at:
                        if values[i] is not None:
                            values[i] = _json_text(values[i], fields[i])
                    row = tuple(values)
                copy.write_row(row)
                done += 1
                if done % BATCH_ROWS == 0:
                    progress(done)
    progress(done)
    return done


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"})


def tsv_value(value: Any, field: models.Field) -> str:
    """One value in LOAD DATA's default text format (NULL is \\N; datetimes naive UTC)."""
    if value is None:
        return "\\N"
    if isinstance(field, models.JSONField):
        value = _json_text(value, field)
    elif isinstance(value, bool):
        return "1" if value else "0"
    elif isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    elif isinstance(value, dt.date | dt.time):
        return value.isoformat()
    elif isinstance(value, uuid.UUID):
        return value.hex
    elif isinstance(value, bytes | memoryview | bytearray):
        raise TypeError("binary values are not loaded through LOAD DATA")
    return str(value).translate(_TSV_ESCAPES)


def write_load_data(alias: str, model: type[models.Model], rows: Iterable[tuple[Any, ...]],
                    progress: Progress) -> int:
    fields = list(model._meta.concrete_fields)
    cols = ", ".join(_quote(alias, f.column) for f in fields)
    fd, path = tempfile.mkstemp(prefix="hub-transfer-", suffix=".tsv")
    done = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            for row in rows:
                fh.write("\t".join(tsv_value(v, f) for v, f in zip(row, fields, strict=True)))
                fh.write("\n")
                done += 1
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {_quote(alias, model._meta.db_table)} CHARACTER SET utf8mb4 "
                f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({cols})", [path])
            cursor.execute("SHOW WARNINGS")
            warnings = [w for w in cursor.fetchall() if w[0] != "Note"]
            if warnings:
                raise ValueError(f"LOAD DATA into {model._meta.db_table} reported: {warnings[:3]}")
    finally:
        os.unlink(path)
    progress(done)
    return done


def has_binary(model: type[models.Model]) -> bool:
    return any(isinstance(f, models.BinaryField) for f in model._meta.concrete_fields)


def write_table(alias: str, vendor: str, model: type[models.Model], rows: Iterable[tuple[Any, ...]],
                progress: Progress) -> int:
    if vendor == "postgresql":
        return write_copy(alias, model, rows, progress)
    if vendor == "mysql" and not has_binary(model):
        return write_load_data(alias, model, rows, progress)
    return write_executemany(alias, model, rows, vendor, progress)
