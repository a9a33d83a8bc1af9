"""The source side of the fast path's checksum, computed in a child process beside the copy.

Forming a row's canonical text is mostly SQLite's work, but two parts are Python's: an MD5 per
row, and for PostgreSQL the rendering of every JSON value as ``jsonb`` prints it. Measured on
1,000,000 rows, that Python work was a third of the copy's time when it ran in the copying
thread; in a child of its own it runs on the other core while the copying thread waits on
SQLite and on the socket (``docs/benchmarks.md``, "Database transfer").

This module imports nothing from Django, so the child starts in a few milliseconds:
``python -m storage.checksum`` reads ``{"path": …, "tables": [[table, sql, json_columns], …]}``
on stdin and prints one JSON line per table, ``{"table", "rows", "high", "low"}``, in order. It
opens the snapshot file read-only; the parent only ever reads the snapshot too.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import sqlite3
import sys
from dataclasses import dataclass
from typing import Any

BATCH_ROWS = 5000

_loads_json = json.JSONDecoder(parse_float=decimal.Decimal).decode
_dump_scalar = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class Checksum:
    """Row count and the sums of each row's MD5 as two 64-bit halves, modulo 2**64 (so a
    server summing signed and one summing unsigned halves agree)."""

    rows: int
    high: int
    low: int

    @classmethod
    def of(cls, rows: int, high: Any, low: Any) -> Checksum:
        return cls(int(rows), int(high or 0) % 2**64, int(low or 0) % 2**64)


def _jsonb_key(key: str) -> tuple[int, bytes]:
    raw = key.encode("utf-8", "surrogatepass")
    return len(raw), raw


def _render_jsonb(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(_dump_scalar(k) + ": " + _render_jsonb(value[k])
                               for k in sorted(value, key=_jsonb_key)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render_jsonb(v) for v in value) + "]"
    if isinstance(value, decimal.Decimal):
        return format(abs(value) if value.is_zero() else value, "f")
    return _dump_scalar(value)


class _HasFraction(Exception):
    pass


def _no_fraction(text: str) -> Any:
    raise _HasFraction


_loads_integral_json = json.JSONDecoder(parse_float=_no_fraction).decode
_dump_sorted = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def _utf8_order(key: str) -> tuple[int, str]:
    # Code point order is UTF-8 byte order, so only the length needs the encoding.
    return len(key.encode("utf-8", "surrogatepass")), key


def _keys_sorted(value: Any) -> Any:
    if type(value) is dict:
        return {k: _keys_sorted(value[k]) for k in sorted(value, key=_utf8_order)}
    if type(value) is list:
        return [_keys_sorted(v) for v in value]
    return value


def render_jsonb(text: str | bytes) -> str:
    """JSON text as PostgreSQL prints the ``jsonb`` it parses from it: keys shorter first, then
    by their UTF-8 bytes; ``", "`` and ``": "``; non-ASCII as is; numbers as exact decimals.

    Values without a fractional or exponent number (nearly all the hub stores) are re-sorted
    and printed by the json module's C encoder; others go through the exact decimal renderer."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return _dump_sorted(_keys_sorted(_loads_integral_json(text)))
    except _HasFraction:
        return _render_jsonb(_loads_json(text))


class Summer:
    """Adds rows given as (canonical text formed in SQL, raw JSON values to render here)."""

    def __init__(self, json_columns: int) -> None:
        self.rows = self.high = self.low = 0
        self.json_columns = json_columns

    def add(self, canonical: bytes, json_values: tuple[bytes | None, ...]) -> None:
        if self.json_columns:
            parts = [canonical]
            for value in json_values:
                if value is None:
                    parts.append(b"N")
                else:
                    text = render_jsonb(value).encode("utf-8", "surrogatepass")
                    parts.append(b"%d:%s" % (len(text), text))
            canonical = b"".join(parts)
        digest = hashlib.md5(canonical, usedforsecurity=False).digest()
        self.rows += 1
        self.high += int.from_bytes(digest[:8], "big")
        self.low += int.from_bytes(digest[8:], "big")

    def result(self) -> Checksum:
        return Checksum.of(self.rows, self.high, self.low)


def table_checksum(source: sqlite3.Connection, sql: str, json_columns: int) -> Checksum:
    """``sql`` selects each row's canonical text, then its JSON columns' raw values."""
    summer = Summer(json_columns)
    cursor = source.execute(sql)
    try:
        while batch := cursor.fetchmany(BATCH_ROWS):
            for row in batch:
                summer.add(row[0], row[1:])
    finally:
        cursor.close()
    return summer.result()


def open_snapshot(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.text_factory = bytes
    return conn


def main() -> None:
    spec = json.loads(sys.stdin.read())
    source = open_snapshot(spec["path"])
    try:
        for table, sql, json_columns in spec["tables"]:
            checksum = table_checksum(source, sql, json_columns)
            print(json.dumps({"table": table, "rows": checksum.rows, "high": checksum.high, "low": checksum.low}),
                  flush=True)
    finally:
        source.close()


if __name__ == "__main__":
    main()
