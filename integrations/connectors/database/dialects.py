"""The three SQL dialects the ``database`` connector speaks, each over its own DB-API driver.

The hub's own database goes through Django; a work-item table is someone else's database,
so it gets a plain DB-API connection (sqlite3, psycopg, mysqlclient) that Django never sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from integrations.connectors.base import ConnectorError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_identifier(name: str, what: str) -> str:
    """Column and table names are interpolated into SQL, so only plain identifiers pass."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise ValueError(f"{what} '{name}' is not a plain SQL identifier (letters, digits, underscore).")
    return name


@dataclass(frozen=True)
class Target:
    scheme: str  # sqlite | postgresql | mysql
    host: str = ""
    port: int | None = None
    user: str = ""
    database: str = ""
    path: str = ""


def parse_url(url: str) -> Target:
    """``sqlite:////abs/file.db``, ``postgresql://user@host:5432/db``, ``mysql://user@host:3306/db``."""
    parts = urlsplit(url or "")
    scheme = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql",
              "sqlite": "sqlite"}.get(parts.scheme)
    if scheme is None:
        raise ValueError("Use a sqlite:///path, postgresql://user@host:port/db or mysql://user@host:port/db URL.")
    if scheme == "sqlite":
        path = unquote(parts.path)
        if not path:
            raise ValueError("Give the SQLite file path, e.g. sqlite:////var/lib/items.db.")
        return Target(scheme, path=path)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError("Give the database name at the end of the URL, e.g. postgresql://user@host:5432/items.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("The port in the URL is not a number.") from None
    return Target(scheme, host=parts.hostname or "127.0.0.1", port=port, user=unquote(parts.username or ""),
                  database=database)


class Dialect:
    placeholder = "%s"
    returning = False  # INSERT … RETURNING id
    vendor = ""

    def __init__(self, target: Target, password: str) -> None:
        self.target = target
        self.password = password

    def checked_address(self) -> str:
        """Resolve the server, refuse it if the reach policy does (reach.py: never the hub's own
        database, never a denied network), and return the address to connect to — the one just
        checked, so a DNS answer changing between check and connect cannot matter. "" = local
        socket (no host, or localhost), which is checked as this machine."""
        from integrations.connectors import reach

        t = self.target
        local = t.host in ("", "localhost")
        addresses = [] if local else reach.resolve(t.host, t.port)
        why = reach.host_refusal(t.host or "localhost", t.port, resolved=addresses or None) or \
            reach.database_refusal(self.vendor, t.host, t.port, t.database, addresses or None)
        if why:
            raise reach.Refused(f"Refused by the hub's network policy: {why}.")
        return "" if local or not addresses else str(addresses[0])

    def quote(self, name: str) -> str:
        return f'"{name}"'

    def connect(self) -> Any:
        raise NotImplementedError

    def to_db_time(self, value: datetime) -> Any:
        # Naive UTC: the same wall-clock value in every dialect, compared as such.
        return value.astimezone(UTC).replace(tzinfo=None)

    def from_db_time(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def classify(self, exc: Exception, *, connecting: bool) -> ConnectorError:
        return ConnectorError(f"Database error: {exc}", transient=connecting, unreachable=connecting)


class SQLiteDialect(Dialect):
    placeholder = "?"
    returning = True

    def connect(self) -> Any:
        import sqlite3
        from pathlib import Path

        from integrations.connectors import reach

        why = reach.sqlite_refusal(self.target.path)  # checked at every connect, not only when saved
        if why:
            raise reach.Refused(f"Refused: {why}.")
        if not Path(self.target.path).exists():
            raise ConnectorError(f"SQLite file {self.target.path} does not exist.", unreachable=True)
        conn = sqlite3.connect(self.target.path, timeout=20, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes of any app
        return conn

    def to_db_time(self, value: datetime) -> Any:
        # Fixed-width text sorts like the time it encodes.
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def classify(self, exc: Exception, *, connecting: bool) -> ConnectorError:
        text = str(exc)
        transient = connecting or "locked" in text or "busy" in text
        return ConnectorError(f"SQLite error: {text}", transient=transient, unreachable=connecting)


class PostgresDialect(Dialect):
    returning = True
    vendor = "postgresql"

    def connect(self) -> Any:
        import psycopg

        t = self.target
        address = self.checked_address()
        return psycopg.connect(
            host=t.host, hostaddr=address or None, port=t.port or 5432, user=t.user or None,
            password=self.password or None, dbname=t.database, autocommit=True, connect_timeout=10,
        )

    def classify(self, exc: Exception, *, connecting: bool) -> ConnectorError:
        import psycopg

        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if connecting and ("authentication" in text or ("role" in text and "does not exist" in text)):
            return ConnectorError(f"PostgreSQL refused the credentials: {text}", auth=True)
        if connecting:
            return ConnectorError(f"PostgreSQL is unreachable: {text}", transient=True, unreachable=True)
        transient = isinstance(exc, psycopg.OperationalError) or getattr(exc, "sqlstate", "") in ("40001", "40P01")
        return ConnectorError(f"PostgreSQL error: {text}", transient=transient)


class MySQLDialect(Dialect):
    vendor = "mysql"

    def quote(self, name: str) -> str:
        return f"`{name}`"

    def connect(self) -> Any:
        try:
            import MySQLdb
        except ImportError:
            raise ConnectorError("The MySQL/MariaDB driver is not installed: pip install 'tasktop_hub[mysql]'.") from None
        t = self.target
        address = self.checked_address()
        conn = MySQLdb.connect(host=address or t.host, port=t.port or 3306, user=t.user or "root", password=self.password or "",
                               database=t.database, connect_timeout=10, charset="utf8mb4")
        conn.autocommit(True)
        return conn

    def classify(self, exc: Exception, *, connecting: bool) -> ConnectorError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if code in (1044, 1045, 1698):
            return ConnectorError(f"MariaDB/MySQL refused the credentials: {text}", auth=True)
        if connecting or code in (2002, 2003, 2006, 2013):
            return ConnectorError(f"MariaDB/MySQL is unreachable: {text}", transient=True, unreachable=True)
        transient = code in (1205, 1213)  # lock wait timeout, deadlock
        return ConnectorError(f"MariaDB/MySQL error: {text}", transient=transient)


def dialect_for(url: str, password: str) -> Dialect:
    target = parse_url(url)
    cls = {"sqlite": SQLiteDialect, "postgresql": PostgresDialect, "mysql": MySQLDialect}[target.scheme]
    return cls(target, password)
