"""The external databases the hub can use: location formats, validation, drivers.

A *location* is what the user types, as on the seed's screen: ``host[:port]/database`` (SQL
Server also ``host[:port];databaseName=db``; Oracle ``host[:port]/service``). Together with a
username, a password and TLS options it becomes a Django ``DATABASES`` entry.

Oracle and SQL Server are supported through their Django backends but have not been verified
against a live server (none can run where the hub is developed); the Drivers list says so.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Vendor:
    key: str
    label: str
    engine: str
    default_port: int
    module: str  # the Python driver's import name
    distribution: str  # its package name (for the version)
    extra: str  # the project's extra that installs it
    location_format: str
    tls_modes: tuple[str, ...]
    verified_live: bool
    # Modules the entry also needs at connect time, beyond the backend itself (SQL Server: the
    # entry selects Microsoft's mssql-python driver, which the backend imports only then).
    also_imports: tuple[str, ...] = ()
    # TLS when none is chosen: "prefer" where the driver can fall back; SQL Server encrypts (its
    # driver's own default); Oracle listeners speak plain TCP unless a TCPS listener was set up.
    default_tls: str = "prefer"


VENDORS: dict[str, Vendor] = {v.key: v for v in [
    Vendor("postgresql", "PostgreSQL", "django.db.backends.postgresql", 5432, "psycopg", "psycopg", "",
           "host[:port]/database", ("disable", "prefer", "require", "verify-ca", "verify-full"), True),
    Vendor("mysql", "MySQL / MariaDB", "django.db.backends.mysql", 3306, "MySQLdb", "mysqlclient", "mysql",
           "host[:port]/database", ("disable", "prefer", "require", "verify-ca", "verify-full"), True),
    Vendor("oracle", "Oracle", "django.db.backends.oracle", 1521, "oracledb", "oracledb", "oracle",
           "host[:port]/service_name", ("disable", "require"), False, default_tls="disable"),
    Vendor("sqlserver", "Microsoft SQL Server", "mssql", 1433, "mssql", "mssql-django", "mssql",
           "host[:port]/database  or  host[:port];databaseName=database", ("disable", "require", "verify-full"), False,
           ("mssql_python",), default_tls="require"),
]}

WINDOWS_AUTH_REFUSED = (
    "Windows authentication is not supported: use SQL Server authentication (mixed mode with a SQL login "
    "and password)."
)

_HOST = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)$")
_NAME = re.compile(r"^[A-Za-z0-9_$.-]{1,128}$")


@dataclass(frozen=True)
class Location:
    vendor: str
    host: str
    port: int
    database: str


def carries_credentials(text: str) -> bool:
    """Whether a location holds a user name or password ("user:pw@host", "?password=", ";pwd=")."""
    raw = re.sub(r"^jdbc:[a-z]+:(thin:@)?(//)?", "", (text or "").strip())
    return "@" in raw or bool(re.search(r"[?;&](user|uid|password|pwd)\s*=", raw, re.I))


def parse_location(vendor_key: str, text: str) -> Location:
    """Parse and validate a location; a precise ValidationError says what is wrong."""
    vendor = VENDORS.get(vendor_key)
    if vendor is None:
        raise ValidationError({"vendor": f"Unknown database type '{vendor_key}'. Choose one of: {', '.join(VENDORS)}."})
    raw = (text or "").strip()
    # A JDBC URL from the seed's screen is accepted as such.
    raw = re.sub(r"^jdbc:[a-z]+:(thin:@)?(//)?", "", raw)
    # A URL pasted whole may carry the user name and password ("user:pw@host", "?password=",
    # ";password="): they have their own fields, and no message below may echo the text back,
    # since a refusal is shown on the screen, returned by the API and printed by the command.
    if carries_credentials(raw):
        raise ValidationError({"location": "Give the user name and password in their own fields, not in the location "
                                           f"({vendor.label} locations look like {vendor.location_format})."})
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", raw):
        raise ValidationError({"location": f"Give the location without a URL scheme: {vendor.label} locations look "
                                           f"like {vendor.location_format}."})
    if "?" in raw:
        raise ValidationError({"location": "A location takes no '?' options: choose TLS in its own field "
                                           f"({vendor.label} locations look like {vendor.location_format})."})
    if vendor.key == "sqlserver" and re.search(r"integratedSecurity\s*=\s*true|trusted_connection\s*=\s*yes", raw, re.I):
        raise ValidationError({"location": WINDOWS_AUTH_REFUSED})
    host_port, database = raw, ""
    if vendor.key == "sqlserver" and ";" in raw:
        host_port, _, params = raw.partition(";")
        pairs = dict(p.split("=", 1) for p in params.split(";") if "=" in p)
        database = next((v for k, v in pairs.items() if k.strip().lower() in ("databasename", "database")), "")
    elif "/" in raw:
        host_port, _, database = raw.partition("/")
    database = database.strip()
    if not database:
        raise ValidationError({"location": f"Give the {'service name' if vendor.key == 'oracle' else 'database'}: "
                                           f"{vendor.label} locations look like {vendor.location_format}."})
    if not _NAME.match(database):
        raise ValidationError({"location": f"'{database}' is not a valid database name (letters, digits, _ $ . -)."})
    host, port = host_port, vendor.default_port
    match = re.match(r"^(.*):(\d+)$", host_port)
    if match and not host_port.endswith("]"):
        host, port = match.group(1), int(match.group(2))
        if not 1 <= port <= 65535:
            raise ValidationError({"location": f"Port {port} is out of range (1-65535)."})
    elif re.match(r"^(\[[^]]*\]|[^:\[\]]+):[^:]*$", host_port):  # host:something that is not a port number
        raise ValidationError({"location": f"The port must be a number from 1 to 65535, not "
                                           f"'{host_port.rpartition(':')[2][:20]}'."})
    if not host or not _HOST.match(host):
        raise ValidationError({"location": f"'{host}' is not a host name or address; "
                                           f"{vendor.label} locations look like {vendor.location_format}."})
    return Location(vendor.key, host.strip("[]"), port, database)


def build_entry(location: Location, username: str, password: str, tls: str = "",
                ca_file: str = "") -> dict[str, Any]:
    """The Django DATABASES entry for a location and SQL credentials (``tls`` empty: the vendor's default)."""
    vendor = VENDORS[location.vendor]
    tls = tls or vendor.default_tls
    if location.vendor == "sqlserver" and "\\" in (username or ""):
        raise ValidationError({"username": WINDOWS_AUTH_REFUSED})
    if tls not in vendor.tls_modes:
        raise ValidationError({"tls": f"TLS mode for {vendor.label} must be one of: {', '.join(vendor.tls_modes)}."})
    if not username:
        raise ValidationError({"username": "A username is required (SQL authentication)."})
    if ca_file and location.vendor in ("oracle", "sqlserver"):
        # Accepted and ignored, it would look like a verified connection that is not one.
        raise ValidationError({"ca_file": f"A CA file is used for PostgreSQL and MySQL/MariaDB only; {vendor.label} "
                                          "checks the server against the system's certificate store: leave it empty."})
    options: dict[str, Any] = {}
    if location.vendor == "postgresql":
        options["sslmode"] = tls
        if ca_file:
            options["sslrootcert"] = ca_file
        options["connect_timeout"] = 10
    elif location.vendor == "mysql":
        options.update({"charset": "utf8mb4", "local_infile": 1, "connect_timeout": 10})
        if tls != "disable":
            ssl_mode = {"prefer": "PREFERRED", "require": "REQUIRED", "verify-ca": "VERIFY_CA",
                        "verify-full": "VERIFY_IDENTITY"}[tls]
            options["ssl_mode"] = ssl_mode
            if ca_file:
                options["ssl"] = {"ca": ca_file}
    elif location.vendor == "sqlserver":
        encrypt = "no" if tls == "disable" else "yes"
        trust = "no" if tls == "verify-full" else "yes"
        # mssql-python (mssql-django 2's alternative to pyodbc): the one pip command installs it all,
        # where pyodbc would also need Microsoft's ODBC driver installed on the system.
        options.update({"python_driver": "mssql_python",
                        "extra_params": f"Encrypt={encrypt};TrustServerCertificate={trust}"})
    entry: dict[str, Any] = {
        "ENGINE": vendor.engine, "NAME": location.database, "HOST": location.host, "PORT": str(location.port),
        "USER": username, "PASSWORD": password, "OPTIONS": options, "CONN_HEALTH_CHECKS": True,
    }
    if location.vendor == "oracle":
        # Django's Oracle backend takes the service in NAME as an Easy Connect string,
        # host:port/service; "require" asks python-oracledb for TLS with the tcps:// protocol.
        host = f"[{location.host}]" if ":" in location.host else location.host
        dsn = f"{host}:{location.port}/{location.database}"
        entry.update({"NAME": f"tcps://{dsn}" if tls == "require" else dsn, "HOST": "", "PORT": ""})
    return entry


def oracle_host_port(name: str) -> tuple[str, int]:
    """Host and port of an Oracle entry's NAME (``[tcps://]host:port/service``)."""
    host_port = name.removeprefix("tcps://").split("/")[0]
    match = re.match(r"^(\[[^]]+\]|[^:]+)(?::(\d+))?$", host_port)
    if match is None:
        return host_port, VENDORS["oracle"].default_port
    return match.group(1).strip("[]"), int(match.group(2) or VENDORS["oracle"].default_port)


def vendor_of_entry(entry: dict[str, Any]) -> str:
    engine = entry.get("ENGINE", "")
    for vendor in VENDORS.values():
        if engine == vendor.engine:
            return vendor.key
    return "sqlite" if "sqlite" in engine else engine


def describe_entry(entry: dict[str, Any]) -> str:
    vendor = vendor_of_entry(entry)
    if vendor == "sqlite":
        return f"Internal database (SQLite) {entry.get('NAME')}"
    label = VENDORS[vendor].label if vendor in VENDORS else vendor
    if vendor == "oracle":
        return f"{label} {entry.get('NAME')}"
    return f"{label} database {entry.get('NAME')} on {entry.get('HOST') or 'localhost'}:{entry.get('PORT') or ''}"


@dataclass(frozen=True)
class DriverStatus:
    vendor: str
    label: str
    installed: bool
    version: str
    install_command: str
    verified_live: bool
    problem: str = ""


def driver_status(vendor_key: str) -> DriverStatus:
    vendor = VENDORS[vendor_key]
    command = f"pip install 'tasktop_hub[{vendor.extra}]'" if vendor.extra else "(installed with the hub)"
    try:
        version = importlib.metadata.version(vendor.distribution)
    except importlib.metadata.PackageNotFoundError:
        return DriverStatus(vendor.key, vendor.label, False, "", command, vendor.verified_live)
    try:
        for module in (vendor.module, *vendor.also_imports):
            importlib.import_module(module)
    except ImportError as exc:  # installed, but a system library or a module it needs is missing
        return DriverStatus(vendor.key, vendor.label, False, version, command, vendor.verified_live,
                            problem=f"installed but cannot be loaded: {exc}")
    return DriverStatus(vendor.key, vendor.label, True, version, command, vendor.verified_live)


def all_drivers() -> list[DriverStatus]:
    return [driver_status(key) for key in VENDORS]
