"""Artifact pairs in and out of the hub (the seed's "Import Artifact Pair Information").

Pairs produced elsewhere (another hub, another sync product, a spreadsheet) are imported so
that switching to this hub creates no duplicate. The layout (CSV or JSON) is in
``docs/routes-and-pairs.md``. :func:`check` is the dry run: every row is classified as an add,
already present, a conflict, unknown (integration, connection or route) or malformed, with its
line. :func:`apply` is all or nothing and never writes to a tool: imported pairs carry
``establish_base`` and a pending row, so the integration's next run reads both artifacts (in
batches) and takes their current values as the base, without writing anything.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from integrations.engine import detection
from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair, Integration, Route
from notifications.services import Actor, record_audit

REQUIRED = ("integration", "left_connection", "left_id", "right_connection", "right_id")
OPTIONAL = ("left_project", "right_project")
COLUMNS = REQUIRED + OPTIONAL
CHUNK = 2000
MAX_ISSUES = 1000  # listed per category; the counts stay exact


@dataclass
class Row:
    line: int
    integration: str
    left_connection: str
    left_id: str
    right_connection: str
    right_id: str
    left_project: str = ""
    right_project: str = ""


@dataclass
class Report:
    """The dry run's answer. ``adds`` holds what a real import creates (not serialised)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("rows", "add", "present", "conflict", "unknown", "malformed", "missing"), 0))
    issues: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {
        "conflict": [], "unknown": [], "malformed": [], "missing": []})
    # integration, route, left id, right id, left project, line
    adds: list[tuple[int, int, str, str, str, int]] = field(default_factory=list)

    def problem(self, kind: str, line: int, message: str) -> None:
        self.counts[kind] += 1
        if len(self.issues[kind]) < MAX_ISSUES:
            self.issues[kind].append({"line": line, "message": message})

    @property
    def ok(self) -> bool:
        return not any(self.counts[k] for k in ("conflict", "unknown", "malformed", "missing"))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts, "issues": self.issues}


class FormatError(ValidationError):
    """The file as a whole cannot be read (not CSV/JSON, unknown columns)."""


def detect_format(name: str, text: str) -> str:
    if name.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
        return "json"
    return "csv"


def parse(text: str, fmt: str, report: Report) -> Iterator[Row]:
    """Rows of the file; a malformed row is reported (with its line) and skipped."""
    if fmt == "json":
        yield from _parse_json(text, report)
    elif fmt == "csv":
        yield from _parse_csv(text, report)
    else:
        raise FormatError(f"Unknown format '{fmt}': use csv or json.")


def _parse_csv(text: str, report: Report) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FormatError("The file is empty: the first line names the columns.") from None
    except csv.Error as exc:
        raise FormatError(f"Line 1: not CSV ({exc}).") from None
    _check_columns(header, "Line 1")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.counts["rows"] += 1
            report.problem("malformed", reader.line_num, f"not CSV: {exc}")
            continue
        if not any(v.strip() for v in values):
            continue
        report.counts["rows"] += 1
        if len(values) != len(header):
            report.problem("malformed", reader.line_num,
                           f"{len(values)} value(s) where the header names {len(header)} column(s)")
            continue
        row = _row(reader.line_num, dict(zip(header, (v.strip() for v in values), strict=True)), report)
        if row is not None:
            yield row


def _parse_json(text: str, report: Report) -> Iterator[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"Line {exc.lineno}: not JSON ({exc.msg}).") from None
    items = data.get("pairs") if isinstance(data, dict) else data
    if isinstance(data, dict) and set(data) - {"pairs", "format"}:
        raise FormatError(f"Unknown key(s) {', '.join(sorted(set(data) - {'pairs', 'format'}))}: "
                          "give {\"pairs\": [...]} or a list.")
    if not isinstance(items, list):
        raise FormatError('Give a list of pair objects, or {"pairs": [...]}.')
    lines = _item_lines(text, len(items))
    for n, item in enumerate(items):
        report.counts["rows"] += 1
        line = lines[n] if n < len(lines) else n + 1
        if not isinstance(item, dict):
            report.problem("malformed", line, "not an object")
            continue
        unknown = sorted(set(item) - set(COLUMNS))
        if unknown:
            report.problem("malformed", line, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}")
            continue
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in item.values()):
            report.problem("malformed", line, "every value must be text (an id may be a number)")
            continue
        row = _row(line, {k: str(v).strip() for k, v in item.items()}, report)
        if row is not None:
            yield row


def _item_lines(text: str, count: int) -> list[int]:
    """The line each top-level object of the list starts on (the export writes one per line)."""
    lines, depth, line, in_string, escape = [], 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        elif in_string:
            escape = not escape and ch == "\\"
            if ch == '"' and not escape:
                in_string = False
            continue
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if ch == "{" and depth == (3 if text.lstrip().startswith("{") else 2):
                lines.append(line)
        elif ch in "]}":
            depth -= 1
        if len(lines) >= count:
            break
    return lines


def _check_columns(header: list[str], where: str) -> None:
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        parts = []
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if len(set(header)) != len(header):
            parts.append("a column is named twice")
        raise FormatError(f"{where}: {'; '.join(parts)}. Columns: {', '.join(COLUMNS)} (the last two optional).")


def _row(line: int, values: dict[str, str], report: Report) -> Row | None:
    empty = [c for c in REQUIRED if not values.get(c)]
    if empty:
        report.problem("malformed", line, f"empty {', '.join(empty)}")
        return None
    if bool(values.get("left_project")) != bool(values.get("right_project")):
        report.problem("malformed", line, "give both left_project and right_project, or neither")
        return None
    too_long = [c for c in ("left_id", "right_id") if len(values[c]) > 200]
    if too_long:
        report.problem("malformed", line, f"{', '.join(too_long)} longer than 200 characters")
        return None
    return Row(line=line, **{c: values.get(c, "") for c in COLUMNS})


@dataclass
class _Target:
    integration: Integration
    connections: tuple[str, str]
    routes: dict[tuple[str, str], int]
    left: dict[str, str] = field(default_factory=dict)  # left id → right id, as stored
    right: dict[str, str] = field(default_factory=dict)
    loaded: bool = False


def check(rows: Iterable[Row], report: Report | None = None) -> Report:
    """The dry run: classify every row. Reads the hub's database only."""
    report = report or Report()
    targets: dict[str, _Target | None] = {}
    in_file: dict[tuple[int, str, str], int] = {}
    for row in rows:
        t = targets.get(row.integration, ...)
        if t is ...:
            t = targets[row.integration] = _load_target(row.integration)
        if t is None:
            report.problem("unknown", row.line, f"no integration named '{row.integration}'")
            continue
        left_id, right_id = row.left_id, row.right_id
        lp, rp = row.left_project, row.right_project
        conns = (row.left_connection, row.right_connection)
        if conns == t.connections[::-1] and conns != t.connections:  # written the other way round
            left_id, right_id, lp, rp = right_id, left_id, rp, lp
        elif conns != t.connections:
            report.problem("unknown", row.line, f"integration '{row.integration}' connects '{t.connections[0]}' "
                                                f"(left) and '{t.connections[1]}' (right), not "
                                                f"'{conns[0]}' and '{conns[1]}'")
            continue
        route = _route(t, lp, rp)
        if isinstance(route, str):
            report.problem("unknown", row.line, route)
            continue
        if not t.loaded:
            _load_pairs(t)
        if t.left.get(left_id) == right_id:
            report.counts["present"] += 1
            continue
        clash = _clash(t, left_id, right_id, in_file, row.line)
        if clash:
            report.problem("conflict", row.line, clash)
            continue
        pk = t.integration.pk
        in_file[(pk, "left", left_id)] = in_file[(pk, "right", right_id)] = row.line
        report.counts["add"] += 1
        project = next(k for k, v in t.routes.items() if v == route)[0]
        report.adds.append((pk, route, left_id, right_id, project, row.line))
    return report


def _load_target(name: str) -> _Target | None:
    i = Integration.objects.select_related("left_collection__connection", "right_collection__connection").filter(
        name=name).first()
    if i is None:
        return None
    routes = {(r.left_project, r.right_project): r.pk for r in Route.objects.filter(integration=i)}
    return _Target(i, (i.left_collection.connection.name, i.right_collection.connection.name), routes)


def _load_pairs(t: _Target) -> None:
    for left_id, right_id in ArtifactPair.objects.filter(integration=t.integration).values_list(
            "left_id", "right_id").iterator(chunk_size=5000):
        t.left[left_id], t.right[right_id] = right_id, left_id
    t.loaded = True


def _route(t: _Target, lp: str, rp: str) -> int | str:
    if lp:
        found = t.routes.get((lp, rp))
        return found if found else f"integration '{t.integration.name}' has no route {lp} ↔ {rp}"
    if len(t.routes) == 1:
        return next(iter(t.routes.values()))
    return (f"integration '{t.integration.name}' has {len(t.routes)} routes: give left_project and "
            "right_project to say which")


def _clash(t: _Target, left_id: str, right_id: str, in_file: dict, line: int) -> str:
    pk = t.integration.pk
    if left_id in t.left:
        return f"left artifact {left_id} is already paired with {t.left[left_id]}, not {right_id}"
    if right_id in t.right:
        return f"right artifact {right_id} is already paired with {t.right[right_id]}, not {left_id}"
    for side, ident in (("left", left_id), ("right", right_id)):
        if (pk, side, ident) in in_file:
            return f"{side} artifact {ident} is paired twice in the file (also on line {in_file[(pk, side, ident)]})"
    return ""


def apply(report: Report, actor: Actor, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Create the pairs a clean dry run found, all or nothing; nothing is written to a tool."""
    if not report.ok:
        raise ValidationError("The file has conflicts, unknown names or malformed rows: nothing imported. "
                              "Run a dry run to see them with their line numbers.")
    total = len(report.adds)
    with transaction.atomic():
        for start in range(0, total, CHUNK):
            chunk = report.adds[start:start + CHUNK]
            _insert_pairs(chunk)
            by_integration: dict[int, list[tuple[str, str]]] = {}
            for i, _, left, _, project, _ in chunk:
                by_integration.setdefault(i, []).append((left, project))
            for i, items in by_integration.items():
                # The next run reads both artifacts and takes them as the base (engine/reconcile.establish).
                _queue(i, items)
            if progress:
                progress(min(start + CHUNK, total), total)
        record_audit(actor, "pair.import", f"{total} pair(s)", added=total, present=report.counts["present"])
    return {"added": total, "present": report.counts["present"]}


ROWS_PER_STATEMENT = 500


def _insert_pairs(chunk: list[tuple[int, int, str, str, str, int]]) -> None:
    """Multi-row INSERTs: the ORM's bulk_create spent most of an import building SQL, and one
    statement per row costs a round trip each on PostgreSQL (bench/pairs_import_bench.py)."""
    meta = ArtifactPair._meta
    now = meta.get_field("created_at").get_db_prep_value(timezone.now(), db)
    empty = meta.get_field("base").get_db_prep_value({}, db)
    _insert_many(meta.db_table, ["integration_id", "route_id", "left_id", "right_id", "base", "left_version",
                                 "right_version", "establish_base", "created_at", "updated_at"],
                 [(i, r, left, right, empty, "", "", True, now, now) for i, r, left, right, _, _ in chunk])


def _queue(integration_id: int, items: list[tuple[str, str]]) -> None:
    """Pending rows for the left artifacts, so the next run establishes the bases (an existing
    row becomes ready again, as in engine/detection.record)."""
    if db.vendor not in ("sqlite", "postgresql"):
        detection.record(integration_id, "left", items)
        return
    meta = PendingWork._meta
    q = db.ops.quote_name
    stamp = meta.get_field("detected_at").get_db_prep_save(timezone.now(), db)
    conflict = (f" ON CONFLICT ({q('integration_id')}, {q('side')}, {q('artifact_id')}) DO UPDATE SET "
                f"{q('status')} = excluded.{q('status')}, {q('detected_at')} = excluded.{q('detected_at')}, "
                f"{q('not_before')} = NULL, {q('attempts')} = 0")
    _insert_many(meta.db_table, ["integration_id", "side", "artifact_id", "project", "status", "detected_at",
                                 "attempts", "last_error"],
                 [(integration_id, "left", a, p, PendingWork.Status.READY.value, stamp, 0, "") for a, p in dict(
                     items).items()], suffix=conflict)


def _insert_many(table: str, cols: list[str], rows: list[tuple], suffix: str = "") -> None:
    q = db.ops.quote_name
    if db.vendor == "postgresql":
        _insert_postgresql(table, cols, rows, suffix)
        return
    head = f"INSERT INTO {q(table)} ({', '.join(q(c) for c in cols)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(cols)) + ")"
    with db.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[start:start + ROWS_PER_STATEMENT]
            cursor.execute(head + ", ".join([one] * len(part)) + suffix, [v for row in part for v in row])


def _insert_postgresql(table: str, cols: list[str], rows: list[tuple], suffix: str) -> None:
    """PostgreSQL: the hub's cursors bind values client-side, which for these statements spent
    most of the time splitting queries and waiting on the server; COPY is several times faster."""
    import psycopg

    db.ensure_connection()
    q = db.ops.quote_name
    names = ", ".join(q(c) for c in cols)
    with psycopg.Cursor(db.connection) as cursor:
        target = table
        if suffix:  # an upsert: COPY into a scratch table, then one INSERT … SELECT … ON CONFLICT
            target = f"{table}_import"
            cursor.execute(f"CREATE TEMP TABLE {q(target)} AS SELECT {names} FROM {q(table)} WITH NO DATA")
        with cursor.copy(f"COPY {q(target)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if suffix:
            cursor.execute(f"INSERT INTO {q(table)} ({names}) SELECT {names} FROM {q(target)}{suffix}")
            cursor.execute(f"DROP TABLE {q(target)}")


def export(integration: Integration | None = None) -> Iterator[dict[str, str]]:
    """Every pair in the import layout, read as plain values (names looked up once)."""
    integrations = {i.pk: (i.name, i.left_collection.connection.name, i.right_collection.connection.name)
                    for i in Integration.objects.select_related("left_collection__connection",
                                                                "right_collection__connection")}
    routes = {r["pk"]: (r["left_project"], r["right_project"])
              for r in Route.objects.values("pk", "left_project", "right_project")}
    qs = ArtifactPair.objects.all()
    if integration is not None:
        qs = qs.filter(integration=integration)
    for integration_id, route_id, left_id, right_id in qs.order_by("integration_id", "pk").values_list(
            "integration_id", "route_id", "left_id", "right_id").iterator(chunk_size=5000):
        name, left_conn, right_conn = integrations[integration_id]
        lp, rp = routes[route_id]
        yield {"integration": name, "left_connection": left_conn, "left_id": left_id,
               "right_connection": right_conn, "right_id": right_id, "left_project": lp, "right_project": rp}


def write_export(rows: Iterable[dict[str, str]], fmt: str, out: io.TextIOBase | Any) -> int:
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            n += 1
        return n
    if fmt != "json":
        raise ValidationError(f"Unknown format '{fmt}': use csv or json.")
    out.write('{"pairs": [')
    for row in rows:
        out.write(("," if n else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        n += 1
    out.write("\n]}\n")
    return n


def dry_run(text: str, fmt: str, *, verify: bool = False, factory: Any = None) -> Report:
    report = Report()
    check(parse(text, fmt, report), report)
    if verify:
        verify_artifacts(report, factory)
    return report


def verify_artifacts(report: Report, factory: Any = None) -> None:
    """Read every artifact to add through its connector, a page of ids per call, and report
    the ones the tool does not have (a pair with a missing artifact would only be dropped)."""
    from integrations.engine import connections
    from integrations.engine.context import with_retries

    build = factory or connections.build
    for integration_id in sorted({a[0] for a in report.adds}):
        integration = Integration.objects.select_related(
            "left_collection__connection", "right_collection__connection").get(pk=integration_id)
        adds = [a for a in report.adds if a[0] == integration_id]
        for side, index in (("left", 2), ("right", 3)):
            connection = getattr(integration, f"{side}_collection").connection
            connector = build(connection)
            size = max(1, getattr(connector, "page_size", 100))
            try:
                for start in range(0, len(adds), size):
                    chunk = adds[start:start + size]
                    ids = [str(a[index]) for a in chunk]
                    found = {art.id for art in with_retries(partial(connector.read, ids))}
                    for a in chunk:
                        if a[index] not in found:
                            report.problem("missing", a[5], f"{side} artifact {a[index]} does not exist in "
                                                            f"'{connection.name}'")
            finally:
                connections.close(connector)
