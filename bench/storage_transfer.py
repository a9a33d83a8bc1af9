"""Database transfer benchmark: one SQLite hub database, moved by every method on the same file.

    .venv/bin/python bench/storage_transfer.py --rows 1000000 --repeat 2 --keep /var/tmp/hub-bench

Builds a hub database with ``--rows`` rows across pairs, pending work, audit, jobs and Activity
errors (SQLite, under a temporary HUB_HOME), then, each into a fresh database:

* the hub's transfer (``manage.py storage transfer --foreground``) to PostgreSQL and MariaDB —
  schema, copy, sequences, verification (the job's own phase times are reported);
* raw ``COPY`` (psycopg) and raw ``LOAD DATA LOCAL INFILE`` of the same tables and rows into the
  same migrated schema, no verification — the floor;
* pgloader (Debian package) into that schema, if installed;
* ``dumpdata`` + ``loaddata`` (PostgreSQL), unless ``--no-loaddata``: the whole file is dumped;
  ``loaddata`` (about 100 rows/s) loads the dump's first ``--loaddata-sample`` objects and its
  time is extrapolated to every row (said so in the output).

``--repeat N`` runs every method N times, interleaved (the machine's load drifts), and the table
keeps each method's best wall time, with every run listed. ``--keep DIR`` builds the source once.
Prints a Markdown table (wall seconds, rows/s, peak RSS of the process doing it, ratio to the raw
bulk load of the same target and to pgloader); copy it into docs/benchmarks.md with the command.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

POSTGRES = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MARIADB = os.environ.get("HUB_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/mysql")


@contextmanager
def fresh_postgres_db(prefix):
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_mariadb_db(prefix):
    import MySQLdb

    p = urlsplit(MARIADB)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = MySQLdb.connect(host=p.hostname, port=p.port or 3306, user=p.username or "root", password=p.password or "")
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    try:
        yield MARIADB.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def as_input(url):
    p = urlsplit(url)
    vendor = "postgresql" if p.scheme.startswith("postgres") else "mysql"
    port = p.port or (5432 if vendor == "postgresql" else 3306)
    return {"vendor": vendor, "location": f"{p.hostname}:{port}{p.path}", "username": p.username or "root",
            "tls": "prefer" if vendor == "postgresql" else "disable"}

FILL = r"""
import datetime as dt, sys
from django.utils import timezone
from integrations.models import RepositoryConnection, Collection, Integration, Route, ArtifactPair
from integrations.engine.models import PendingWork
from notifications.models import AuditEvent, ActivityError, BackgroundJob
n = int(sys.argv[-1]) if sys.argv[-1].isdigit() else int(open(0).read())
cols = []
for side in ("left", "right"):
    c = RepositoryConnection.objects.create(name=side, kind="database", url="sqlite:////tmp/x.sqlite3", options={})
    cols.append(Collection.objects.create(name=side, connection=c, projects=["ALPHA"], field_mapping={"summary": "summary"}))
i = Integration.objects.create(name="bench", left_collection=cols[0], right_collection=cols[1])
r = Route.objects.create(integration=i, left_project="ALPHA", right_project="ALPHA")
now = timezone.now()
text = "tab\tnewline\nbackslash\\ quote' € " * 3
share = {"pairs": .3, "pending": .2, "audit": .2, "errors": .15, "jobs": .15}
B = 5000
def chunks(total, make):
    for start in range(0, total, B):
        yield [make(k) for k in range(start, min(total, start + B))]
for batch in chunks(int(n * share["pairs"]), lambda k: ArtifactPair(integration=i, route=r, left_id=f"L{k}", right_id=f"R{k}",
        base={"summary": f"item {k}", "status": "New", "n": k}, left_version=str(k), right_version=str(k))):
    ArtifactPair.objects.bulk_create(batch)
for batch in chunks(int(n * share["pending"]), lambda k: PendingWork(integration=i, side="left", artifact_id=f"P{k}",
        project="ALPHA", detected_at=now - dt.timedelta(seconds=k))):
    PendingWork.objects.bulk_create(batch)
for batch in chunks(int(n * share["audit"]), lambda k: AuditEvent(action="bench", target=f"x:{k}", details={"k": k, "t": text})):
    AuditEvent.objects.bulk_create(batch)
for batch in chunks(int(n * share["errors"]), lambda k: ActivityError(integration_name="bench", message=text, artifact=f"A{k}")):
    ActivityError.objects.bulk_create(batch)
for batch in chunks(int(n * share["jobs"]), lambda k: BackgroundJob(kind="bench", title=f"job {k}", params={"k": k}, log=text,
        status="succeeded", started_at=now, finished_at=now)):
    BackgroundJob.objects.bulk_create(batch)
"""


def manage(env, *args, stdin=None, check=True):
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done


def timed(cmd, env=None, stdin=None):
    """(seconds, peak RSS MB of that process, completed) — wait4 gives the process's own peak."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True)
        if stdin:
            proc.stdin.write(stdin)
        proc.stdin.close()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return seconds, usage.ru_maxrss / 1024, done


def base_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL"))}
    env.update(HUB_HOME=str(home), HUB_TRANSFER_DRAIN_SECONDS="0", HUB_STORAGE_PASSWORD="", PYTHONUNBUFFERED="1")
    return env


def copy_home(src, dst):
    shutil.copytree(src, dst)
    return dst


def transfer(home, target):
    env = base_env(home)
    t = as_input(target)
    cmd = [sys.executable, str(ROOT / "manage.py"), "storage", "transfer", "--vendor", t["vendor"], "--location",
           t["location"], "--username", t["username"], "--tls", t["tls"], "--yes", "--foreground"]
    seconds, rss, done = timed(cmd, env)
    if done.returncode != 0:
        raise SystemExit(f"transfer failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.split("Database transfer completed: ", 1)[1].strip().splitlines()[0])
    return seconds, rss, result


def migrated_schema(url, home):
    env = dict(base_env(home), DATABASE_URL=url)
    manage(env, "migrate", "--no-input")
    manage(env, "createcachetable")
    return env


TABLES = """
import json
from storage import tables
print(json.dumps([[m._meta.db_table, [f.column for f in m._meta.concrete_fields]] for m in tables.transfer_models()]))
"""


RAW_COPY = r"""
import json, sqlite3, sys, psycopg
spec = json.loads(sys.stdin.read())
src = sqlite3.connect(spec["sqlite"])
with psycopg.connect(spec["url"]) as pg:
    names = ", ".join('"%s"' % t for t, _ in spec["tables"])
    pg.execute(f"TRUNCATE {names} CASCADE")
    for table, cols in spec["tables"]:
        qcols = ", ".join('"%s"' % c for c in cols)
        with pg.cursor().copy(f'COPY "{table}" ({qcols}) FROM STDIN') as cp:
            for row in src.execute(f'SELECT {qcols} FROM "{table}"'):
                cp.write_row(row)
"""

RAW_LOAD = r"""
import json, sqlite3, sys, tempfile, os, MySQLdb
spec = json.loads(sys.stdin.read())
src = sqlite3.connect(spec["sqlite"])
esc = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"})
def enc(v):
    return "\\N" if v is None else str(v).translate(esc)
db = MySQLdb.connect(local_infile=1, **spec["conn"])
c = db.cursor()
c.execute("SET FOREIGN_KEY_CHECKS=0")
for table, cols in spec["tables"]:
    c.execute(f"DELETE FROM `{table}`")
    fd, path = tempfile.mkstemp(suffix=".tsv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        for row in src.execute("SELECT " + ", ".join('"%s"' % x for x in cols) + f' FROM "{table}"'):
            fh.write("\t".join(enc(v) for v in row) + "\n")
    c.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' "
              f"ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (" + ", ".join(f"`{x}`" for x in cols) + ")", [path])
    os.unlink(path)
db.commit()
"""


def build_source(base, rows):
    """Migrate and fill the internal database under ``base`` (reused when it is already there)."""
    sqlite_file = base / "db" / "hub.sqlite3"
    env = base_env(base)
    if (base / "built").exists():
        manage(env, "migrate", "--no-input")  # the code may have gained migrations since
        print(f"reusing {sqlite_file} ({sqlite_file.stat().st_size / 1e6:.0f} MB)", flush=True)
        return sqlite_file
    manage(env, "migrate", "--no-input")
    manage(env, "createcachetable")
    start = time.perf_counter()
    manage(env, "shell", "-c", FILL, stdin=str(rows))
    (base / "built").write_text(str(rows))
    print(f"built {rows} rows in {time.perf_counter() - start:.0f} s; SQLite file "
          f"{sqlite_file.stat().st_size / 1e6:.0f} MB", flush=True)
    return sqlite_file


def load():
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-loaddata", action="store_true")
    parser.add_argument("--loaddata-sample", type=int, default=20_000,
                        help="loaddata only the first N objects of the full dump and extrapolate (0: all)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every method; the best wall time counts")
    parser.add_argument("--keep", type=Path, help="build the source here once and reuse it on later runs")
    parser.add_argument("--only", choices=["postgresql", "mariadb"], help="one target vendor only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    base = (args.keep / f"rows-{args.rows}") if args.keep else work / "base"
    sqlite_file = build_source(base, args.rows)
    tables = json.loads(manage(base_env(base), "shell", "-c", TABLES).stdout.strip().splitlines()[-1])
    with sqlite3.connect(sqlite_file) as conn:
        total = sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t, _ in tables)
    runs = {}  # method → list of (seconds, rss, note)

    def record(method, seconds, rss, note=""):
        runs.setdefault(method, []).append((seconds, rss, note))
        print(f"  {method:<44} {seconds:8.1f} s {total / seconds:10.0f} rows/s {rss:7.0f} MB  load {load()}  {note}",
              flush=True)

    def hub(vendor_label, fresh, copy_label):
        with fresh("benchhub") as url:
            seconds, rss, result = transfer(copy_home(base, work / f"t-{uuid.uuid4().hex[:6]}"), url)
        s = result["seconds"]
        record(f"hub transfer, whole job | {vendor_label}", seconds, rss,
               f"schema {s['schema']:.1f} s, copy {s['copy']:.1f} s (indexes {s.get('indexes', 0):.1f} s), "
               f"verify {s['verify']:.1f} s")
        record(f"hub transfer, {copy_label} | {vendor_label}", s["copy"], rss)
        record(f"hub transfer, copy + verify | {vendor_label}", s["copy"] + s["verify"], rss)

    def raw_pg():
        with fresh_postgres_db("benchraw") as url:
            migrated_schema(url, work / f"raw-{uuid.uuid4().hex[:6]}")
            spec = json.dumps({"sqlite": str(sqlite_file), "url": url, "tables": tables})
            seconds, rss, done = timed([sys.executable, "-c", RAW_COPY], stdin=spec)
            assert done.returncode == 0, done.stderr
            record("raw COPY (sqlite3 rows → psycopg write_row) | PostgreSQL", seconds, rss, "no verification")
            if shutil.which("pgloader"):
                names = ", ".join(f"'{t}'" for t, _ in tables)
                script = work / "load.pgl"
                script.write_text(f"LOAD DATABASE FROM sqlite://{sqlite_file} INTO {url}\n"
                                  f" WITH data only, truncate, reset sequences, batch rows = 25000,"
                                  f" prefetch rows = 25000\n"
                                  f" INCLUDING ONLY TABLE NAMES LIKE {names};\n")
                seconds, rss, done = timed(["pgloader", str(script)])
                record("pgloader, data only into the same schema | PostgreSQL", seconds, rss,
                       "no verification" if done.returncode == 0 else f"FAILED: {done.stdout[-300:]}")

    def raw_my():
        with fresh_mariadb_db("benchraw") as url:
            migrated_schema(url, work / f"raw-{uuid.uuid4().hex[:6]}")
            p = urlsplit(url)
            spec = json.dumps({"sqlite": str(sqlite_file), "tables": tables, "conn": {
                "host": p.hostname, "port": p.port or 3306, "user": p.username or "root", "passwd": p.password or "",
                "db": p.path.lstrip("/"), "charset": "utf8mb4"}})
            seconds, rss, done = timed([sys.executable, "-c", RAW_LOAD], stdin=spec)
            assert done.returncode == 0, done.stderr
            record("raw LOAD DATA LOCAL (sqlite3 rows → TSV) | MariaDB", seconds, rss, "no verification")

    for round_ in range(args.repeat):
        print(f"round {round_ + 1} of {args.repeat}", flush=True)
        if args.only != "mariadb":
            hub("PostgreSQL", fresh_postgres_db, "copy phase (COPY)")
            raw_pg()
        if args.only != "postgresql":
            hub("MariaDB", fresh_mariadb_db, "copy phase (LOAD DATA)")
            raw_my()
    if not args.no_loaddata:
        dumpdata_loaddata(base, work, total, record, args.loaddata_sample)
    print_table(runs, total, len(tables))
    shutil.rmtree(work, ignore_errors=True)


def dumpdata_loaddata(base, work, total, record, sample):
    """dumpdata of the whole file; loaddata of all of it, or of its first ``sample`` objects
    (dumpdata writes parents first) with the time extrapolated to every row."""
    with fresh_postgres_db("benchload") as url:
        dump = work / "dump.jsonl"
        seconds_d, rss_d, done = timed([sys.executable, str(ROOT / "manage.py"), "dumpdata", "--format", "jsonl",
                                        "-e", "contenttypes", "-e", "auth.permission", "-e", "storage",
                                        "-o", str(dump)], base_env(base))
        assert done.returncode == 0, done.stderr
        objects = sum(1 for _ in dump.open())
        part = dump
        if sample and sample < objects:
            part = work / "dump-sample.jsonl"
            with dump.open() as src, part.open("w") as out:
                for _ in range(sample):
                    out.write(src.readline())
        loaded = min(sample, objects) if sample else objects
        env_pg = migrated_schema(url, work / "load-pg")
        seconds_l, rss_l, done = timed([sys.executable, str(ROOT / "manage.py"), "loaddata", str(part)], env_pg)
        status = "ok" if done.returncode == 0 else f"FAILED: {done.stderr[-300:]}"
        extrapolated = seconds_l * objects / loaded
        record("dumpdata + loaddata (jsonl) | PostgreSQL", seconds_d + extrapolated, max(rss_d, rss_l),
               f"dumpdata {seconds_d:.1f} s ({objects} objects); loaddata {seconds_l:.1f} s for {loaded}"
               f"{', extrapolated' if loaded < objects else ''}; {status}")


def print_table(runs, total, tables):
    """Markdown rows: the best wall time of each method, its ratio to raw and to pgloader."""
    best = {m: min(r, key=lambda x: x[0]) for m, r in runs.items()}
    floor = {"PostgreSQL": best.get("raw COPY (sqlite3 rows → psycopg write_row) | PostgreSQL"),
             "MariaDB": best.get("raw LOAD DATA LOCAL (sqlite3 rows → TSV) | MariaDB")}
    pgloader = best.get("pgloader, data only into the same schema | PostgreSQL")
    print(f"\n{total} rows in {tables} tables; best of {max(len(r) for r in runs.values())} round(s).\n")
    print(f"| {total:,} rows | Target | Wall | Rows/s | Peak RSS | × raw | × pgloader | All runs |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for method, (seconds, rss, note) in best.items():
        name, target = method.split(" | ")
        raw = floor.get(target)
        ratio_raw = f"{seconds / raw[0]:.2f}" if raw else ""
        ratio_pgl = f"{seconds / pgloader[0]:.2f}" if pgloader and target == "PostgreSQL" else ""
        every = ", ".join(f"{r[0]:.1f}" for r in runs[method])
        print(f"| {name}{' (' + note + ')' if note else ''} | {target} | {seconds:.1f} s | {total / seconds:,.0f} | "
              f"{rss:.0f} MB | {ratio_raw} | {ratio_pgl} | {every} |")


if __name__ == "__main__":
    main()
