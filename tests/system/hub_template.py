"""One set-up hub database per test session, copied for each test that needs a hub as processes.

A fresh `hub_setup` (migrate, createcachetable, collectstatic, the first administrator) costs a
system test about 12 s on the shared 2-core machine, and every such test used to pay it before
doing what it tests. Here the real commands run once per session, lazily, into a *template*:

* SQLite (the embedded default): `manage.py hub_setup --no-input` into a template HUB_HOME; each
  test's HUB_HOME gets a copy of its database file and of its collected static files — what the
  command leaves there — and nothing else: the secret key, the installation id, the instance-lease
  record, the master password and the logs are made by the test's own processes, so no test sees
  another's.
* PostgreSQL: `migrate` and `createcachetable` into a template database; each test gets
  ``CREATE DATABASE … TEMPLATE`` (a file copy inside the server).

The template must hold only rows every installation's `hub_setup` writes alike (permissions,
role groups, schedules, the administrator): :func:`check_shareable` refuses one that holds more
— an instance lease, a database identity, a vault key — because a test would then start as a
second installation, or with another test's secrets. The tests that are about `hub_setup` or
`migrate` themselves (tests/browser/test_first_start.py, tests/tasktop_hub/test_migrations.py)
keep running them for real.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tests.integrations.dbtargets import fresh_postgres_db

# Tables a template may hold rows in: the same rows on every installation after `hub_setup`.
SHAREABLE_TABLES = frozenset({
    "django_migrations", "django_content_type", "auth_permission", "auth_group", "auth_group_permissions",
    "auth_user",  # the first administrator (HUB_ADMIN_USER/HUB_ADMIN_PASSWORD, the same for every test)
    "django_q_schedule",  # the periodic tasks (tasktop_hub/periodic.py): all due at once, copy or not
    "sqlite_sequence",
})

ROOT = Path(__file__).resolve().parents[2]
DB_FILE = Path("db") / "hub.sqlite3"


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


def check_shareable(counts: dict[str, int], where: str) -> None:
    """Refuse a template that holds rows only one installation may have."""
    extra = sorted(f"{table} ({n})" for table, n in counts.items() if n and table not in SHAREABLE_TABLES)
    assert not extra, (
        f"The template hub database ({where}) holds rows in {', '.join(extra)}: copies of it would share "
        "them between tests. Either those rows are the same on every fresh installation (add the table to "
        "SHAREABLE_TABLES in tests/system/hub_template.py) or a test must make them itself.")


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def build_sqlite_template(env: dict[str, str], home: Path) -> Path:
    """`hub_setup --no-input` on a fresh HUB_HOME, once; returns that HUB_HOME."""
    manage(dict(env, HUB_HOME=str(home)), "hub_setup", "--no-input")
    check_shareable(_sqlite_counts(home / DB_FILE), str(home / DB_FILE))
    return home


def seed_home(template: Path, home: Path) -> None:
    """Give ``home`` (absent) what `hub_setup` left in ``template``: the database and the static files.

    The database is copied with SQLite's backup API (a consistent copy whatever the WAL holds);
    directories are private (0700) as the hub makes them (tasktop_hub/home.py).
    """
    (home / DB_FILE.parent).mkdir(parents=True, mode=0o700)
    os.chmod(home, 0o700)
    with closing(sqlite3.connect(template / DB_FILE)) as source, closing(sqlite3.connect(home / DB_FILE)) as copy:
        source.backup(copy)
    shutil.copytree(template / "static", home / "static")


@contextmanager
def postgres_template(env: dict[str, str], home: Path) -> Iterator[str]:
    """A PostgreSQL database with `migrate` and `createcachetable` done (as hub_setup does); its name.

    Dropped at the end; ``fresh_postgres_db(template=name)`` copies it.
    """
    import psycopg

    with fresh_postgres_db("hubtmpl") as url:
        run_env = dict(env, HUB_HOME=str(home), DATABASE_URL=url)
        for command in (("migrate", "--no-input"), ("createcachetable",)):
            manage(run_env, *command)
        with psycopg.connect(url) as db:
            tables = [t for (t,) in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        check_shareable(counts, url)
        yield url.rsplit("/", 1)[1]  # no connection left open: PostgreSQL copies only an idle template
