"""Database transfer benchmark: one SQLite hub database, moved by every method on the same file.

    .venv/bin/python bench/storage_transfer.py --rows 200000 [--no-loaddata]

Builds a hub database with ``--rows`` rows across pairs, pending work, audit, jobs and Activity
errors (SQLite, under a temporary HUB_HOME), then, each into a fresh database:

* the hub's transfer (``manage.py storage transfer --foreground``) to PostgreSQL and MariaDB —
  schema, copy, sequences, verification (the job's own phase times are reported);
* raw ``COPY`` (psycopg) and raw ``LOAD DATA LOCAL INFILE`` of the same tables and rows into the
  same migrated schema, no verification — the floor;
* pgloader (Debian package) into that schema, if installed;
* ``dumpdata`` + ``loaddata`` (PostgreSQL), unless ``--no-loaddata``.

Prints a table (wall seconds, rows/s, peak RSS of the process doing it); copy it into
docs/benchmarks.md with the command line.
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-loaddata", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    base = work / "base"
    env = base_env(base)
    manage(env, "migrate", "--no-input")
    manage(env, "createcachetable")
    start = time.perf_counter()
    manage(env, "shell", "-c", FILL, stdin=str(args.rows))
    sqlite_file = base / "db" / "hub.sqlite3"
    print(f"built {args.rows} rows in {time.perf_counter() - start:.0f} s; SQLite file "
          f"{sqlite_file.stat().st_size / 1e6:.0f} MB", flush=True)
    tables = json.loads(manage(env, "shell", "-c", TABLES).stdout.strip().splitlines()[-1])
    with sqlite3.connect(sqlite_file) as conn:
        total = sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t, _ in tables)
    results = []

    def row(method, target, seconds, rss, note=""):
        results.append((method, target, seconds, total / seconds if seconds else 0, rss, note))
        print(f"{method:<40} {target:<9} {seconds:8.1f} s {total / seconds:10.0f} rows/s {rss:7.0f} MB  {note}",
              flush=True)

    with fresh_postgres_db("benchhub") as url:
        seconds, rss, result = transfer(copy_home(base, work / "t-pg"), url)
        s = result["seconds"]
        row("hub transfer (whole job)", "PG", seconds, rss, f"schema {s['schema']:.1f} s, copy {s['copy']:.1f} s, "
            f"verify {s['verify']:.1f} s")
        row("hub transfer: copy phase (COPY)", "PG", s["copy"], rss)
    with fresh_mariadb_db("benchhub") as url:
        seconds, rss, result = transfer(copy_home(base, work / "t-my"), url)
        s = result["seconds"]
        row("hub transfer (whole job)", "MariaDB", seconds, rss, f"schema {s['schema']:.1f} s, copy {s['copy']:.1f} s, "
            f"verify {s['verify']:.1f} s")
        row("hub transfer: copy phase (LOAD DATA)", "MariaDB", s["copy"], rss)
    with fresh_postgres_db("benchraw") as url:
        migrated_schema(url, work / "raw-pg")
        spec = json.dumps({"sqlite": str(sqlite_file), "url": url, "tables": tables})
        seconds, rss, done = timed([sys.executable, "-c", RAW_COPY], stdin=spec)
        assert done.returncode == 0, done.stderr
        row("raw COPY (sqlite3 rows → psycopg)", "PG", seconds, rss, "no verification")
        if shutil.which("pgloader"):
            names = ", ".join(f"'{t}'" for t, _ in tables)
            load = work / "load.pgl"
            load.write_text(f"LOAD DATABASE FROM sqlite://{sqlite_file} INTO {url}\n"
                            f" WITH data only, truncate, reset sequences, batch rows = 25000\n"
                            f" INCLUDING ONLY TABLE NAMES LIKE {names};\n")
            seconds, rss, done = timed(["pgloader", str(load)])
            row("pgloader (data only, same schema)", "PG", seconds, rss,
                "ok" if done.returncode == 0 else f"FAILED: {done.stdout[-300:]}")
    with fresh_mariadb_db("benchraw") as url:
        migrated_schema(url, work / "raw-my")
        p = urlsplit(url)
        spec = json.dumps({"sqlite": str(sqlite_file), "tables": tables, "conn": {
            "host": p.hostname, "port": p.port or 3306, "user": p.username or "root", "passwd": p.password or "",
            "db": p.path.lstrip("/"), "charset": "utf8mb4"}})
        seconds, rss, done = timed([sys.executable, "-c", RAW_LOAD], stdin=spec)
        assert done.returncode == 0, done.stderr
        row("raw LOAD DATA (sqlite3 rows → TSV)", "MariaDB", seconds, rss, "no verification")
    if not args.no_loaddata:
        with fresh_postgres_db("benchload") as url:
            dump = work / "dump.jsonl"
            seconds_d, rss_d, done = timed([sys.executable, str(ROOT / "manage.py"), "dumpdata", "--format", "jsonl",
                                            "-e", "contenttypes", "-e", "auth.permission", "-e", "storage",
                                            "-o", str(dump)], base_env(base))
            assert done.returncode == 0, done.stderr
            env_pg = migrated_schema(url, work / "load-pg")
            seconds_l, rss_l, done = timed([sys.executable, str(ROOT / "manage.py"), "loaddata", str(dump)], env_pg)
            row("dumpdata + loaddata (jsonl)", "PG", seconds_d + seconds_l, max(rss_d, rss_l),
                "ok" if done.returncode == 0 else f"FAILED: {done.stderr[-300:]}")
    shutil.rmtree(work, ignore_errors=True)
    print(f"\n{total} rows in {len(tables)} tables.")


if __name__ == "__main__":
    main()
