"""Connections to a database other than the one in use, and the connection test.

The test reports, in words a person can act on: reachability, TLS, authentication, the
server's version against the minimum Django supports, the privilege to create tables, and
what the target holds (nothing of the hub's, this hub's data, another hub's, or partial
tables from a failed transfer — which cleanup removes).
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from storage import tables
from storage.vendors import VENDORS, driver_status, oracle_host_port, vendor_of_entry


@contextmanager
def alias_for(entry: dict[str, Any], prefix: str = "hub_storage") -> Iterator[str]:
    """A temporary connection alias for ``entry``, closed and removed afterwards."""
    alias = f"{prefix}_{secrets.token_hex(4)}"
    configured = {"default": {}, alias: {**entry, "OPTIONS": dict(entry.get("OPTIONS") or {})}}
    connections.configure_settings(configured)
    connections.settings[alias] = configured[alias]
    try:
        yield alias
    finally:
        try:
            connections[alias].close()
        finally:
            local = connections._connections  # type: ignore[attr-defined]  # the per-thread connections
            if hasattr(local, alias):
                delattr(local, alias)
            connections.settings.pop(alias, None)


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked (an earlier check failed) or only informative
    message: str


@dataclass
class TestReport:
    checks: list[Check] = field(default_factory=list)
    contents: str = "unknown"  # empty | this_hub | other_hub | partial | unknown
    server_version: str = ""
    database_id: str = ""

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def add(self, name: str, ok: bool | None, message: str) -> None:
        self.checks.append(Check(name, ok, message))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "contents": self.contents, "server_version": self.server_version,
                "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in self.checks]}


def _reachable(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as exc:
        return f"Cannot reach {host}:{port} ({exc.strerror or exc}). Check the host, the port and any firewall."


def _tls_state(alias: str, vendor: str) -> str:
    with connections[alias].cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            row = cursor.fetchone()
            return f"encrypted ({row[1]})" if row and row[0] else "not encrypted"
        if vendor == "mysql":
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            row = cursor.fetchone()
            return f"encrypted ({row[1]})" if row and row[1] else "not encrypted"
    return "not determined for this database type"


def _auth_message(exc: Exception) -> str:
    text = str(exc)
    lowered = text.lower()
    if "password" in lowered or "access denied" in lowered or "authentication" in lowered or "login failed" in lowered:
        return "The server refused the username or password (SQL authentication)."
    if "does not exist" in lowered or "unknown database" in lowered:
        return f"The server has no such database: {text.splitlines()[0][:200]}"
    if "ssl" in lowered or "tls" in lowered or "certificate" in lowered:
        return f"TLS failed: {text.splitlines()[0][:200]}"
    return f"Connecting failed: {text.splitlines()[0][:200] if text else exc.__class__.__name__}"


def classify_contents(present: set[str], identity: str | None, own_identity: str | None) -> str:
    hub = tables.hub_table_names()
    found = present & hub
    if tables.MARKER in present:
        return "partial"
    if not found:
        return "empty"
    if identity:
        return "this_hub" if identity == own_identity else "other_hub"
    return "partial"


CONTENT_WORDS = {
    "empty": "The database holds none of the hub's tables: ready for a transfer.",
    "this_hub": "The database already holds this hub's data (the same database identity): no transfer is needed; "
                "save the new location instead.",
    "other_hub": "The database holds another hub installation's data. Transferring into it is refused; choose an "
                 "empty database.",
    "partial": "The database holds some of the hub's tables but no complete hub database (a failed or aborted "
               "transfer). Run cleanup to remove them, then transfer.",
}


def test_connection(entry: dict[str, Any], own_identity: str | None) -> TestReport:
    report = TestReport()
    vendor = vendor_of_entry(entry)
    if vendor in VENDORS:
        drv = driver_status(vendor)
        if not drv.installed:
            report.add("driver", False, f"The {drv.label} driver is not installed: {drv.install_command}"
                       + (f" ({drv.problem})" if drv.problem else ""))
            return report
        host = entry.get("HOST") or ""
        port = int(entry.get("PORT") or VENDORS[vendor].default_port)
        if vendor == "oracle":
            host, port = oracle_host_port(str(entry["NAME"]))
        problem = _reachable(host, port)
        report.add("reachable", problem is None, problem or f"{host}:{port} answers.")
        if problem:
            return report
    with alias_for(entry) as alias:
        conn = connections[alias]
        try:
            conn.ensure_connection()
        except Exception as exc:  # noqa: BLE001 — every driver raises its own class; the text says why
            report.add("authentication", False, _auth_message(exc))
            return report
        report.add("authentication", True, f"Signed in as {entry.get('USER') or '(default user)'}.")
        report.add("tls", None, f"Connection {_tls_state(alias, vendor)}.")
        version = conn.get_database_version()
        minimum = getattr(conn.features, "minimum_database_version", None)
        report.server_version = ".".join(str(p) for p in version)
        if minimum and version < minimum:
            report.add("version", False, f"Server version {report.server_version} is older than the "
                       f"{'.'.join(map(str, minimum))} Django 5.2 requires. Upgrade the server.")
        else:
            report.add("version", True, f"Server version {report.server_version} is supported"
                       + (f" (minimum {'.'.join(map(str, minimum))})." if minimum else "."))
        probe = f"hub_privilege_probe_{secrets.token_hex(3)}"
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"CREATE TABLE {conn.ops.quote_name(probe)} (id INTEGER)")
                cursor.execute(f"DROP TABLE {conn.ops.quote_name(probe)}")
            report.add("create_table", True, "The user may create tables.")
        except Exception as exc:  # noqa: BLE001
            report.add("create_table", False, f"The user may not create tables ({str(exc).splitlines()[0][:160]}). "
                       "Grant it, or the hub cannot create its schema.")
        present = tables.existing_tables(alias)
        identity = read_identity(alias) if "storage_databaseidentity" in present else None
        report.database_id = identity or ""
        report.contents = classify_contents(present, identity, own_identity)
        others = len(present - tables.hub_table_names())
        report.add("contents", None, CONTENT_WORDS[report.contents]
                   + (f" It also holds {others} other table(s), which the hub leaves alone." if others else ""))
    return report


def read_identity(alias: str) -> str | None:
    from storage.models import DatabaseIdentity

    try:
        row = DatabaseIdentity.objects.using(alias).order_by("pk").first()
    except Exception:  # noqa: BLE001 — the table may be half-made; then there is no identity
        return None
    return str(row.database_id) if row else None
