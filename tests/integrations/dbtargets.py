"""Fresh, throw-away databases on the machine's PostgreSQL and MariaDB for connector tests.

``HUB_TEST_POSTGRES_URL`` / ``HUB_TEST_MARIADB_URL`` point at the servers (defaults: the
loopback services ``.ci/services.sh`` starts). Each fixture creates a uniquely named database
and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from tests.conftest import require_service

POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MARIADB_URL = os.environ.get("HUB_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/mysql")


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def _pg_admin():
    import psycopg

    p = urlsplit(POSTGRES_URL)
    return psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                           password=p.password, dbname=p.path.lstrip("/") or "postgres", autocommit=True,
                           connect_timeout=3)


def _maria_admin():
    import MySQLdb

    p = urlsplit(MARIADB_URL)
    conn = MySQLdb.connect(host=p.hostname, port=p.port or 3306, user=p.username or "root", password=p.password or "",
                           connect_timeout=3)
    conn.autocommit(True)
    return conn


def postgres_available() -> tuple[bool, str]:
    try:
        _pg_admin().close()
        return True, ""
    except Exception as exc:  # noqa: BLE001
        return False, f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}"


def mariadb_available() -> tuple[bool, str]:
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        return False, "mysqlclient is not installed (pip install '.[mysql]')"
    try:
        _maria_admin().close()
        return True, ""
    except Exception as exc:  # noqa: BLE001
        return False, f"MariaDB is not reachable at {MARIADB_URL}: {exc}"


@contextmanager
def fresh_postgres_db(prefix: str = "hubt", template: str = "") -> Iterator[str]:
    """A new database; with ``template``, a copy of that (idle) database (tests/system/hub_template.py)."""
    ok, reason = postgres_available()
    require_service(ok, reason)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _with_db(POSTGRES_URL, name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def fresh_mariadb_db(prefix: str = "hubt") -> Iterator[str]:
    ok, reason = mariadb_available()
    require_service(ok, reason)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _maria_admin()
    admin.cursor().execute(f"CREATE DATABASE `{name}`")
    try:
        yield _with_db(MARIADB_URL, name)
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
