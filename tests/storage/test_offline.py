"""What can be checked without a database server: locations, drivers, batching, values, checksums."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.metadata
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from storage import bulk, tables
from storage.vendors import build_entry, driver_status, oracle_host_port, parse_location


@pytest.mark.parametrize(("vendor", "text", "expected"), [
    ("postgresql", "db.example:6543/hub", ("db.example", 6543, "hub")),
    ("postgresql", "jdbc:postgresql://db.example/hub", ("db.example", 5432, "hub")),
    ("mysql", "10.0.0.5/hub_data", ("10.0.0.5", 3306, "hub_data")),
    ("oracle", "ora.example:1522/ORCLPDB1", ("ora.example", 1522, "ORCLPDB1")),
    ("oracle", "jdbc:oracle:thin:@//ora.example/FREEPDB1", ("ora.example", 1521, "FREEPDB1")),
    ("sqlserver", "sql.example:1434;databaseName=Hub", ("sql.example", 1434, "Hub")),
    ("sqlserver", "sql.example/Hub", ("sql.example", 1433, "Hub")),
])
def test_locations_parse_per_vendor(vendor, text, expected):
    loc = parse_location(vendor, text)
    assert (loc.host, loc.port, loc.database) == expected


@pytest.mark.parametrize(("vendor", "text", "message"), [
    ("postgresql", "db.example", "Give the database"),
    ("postgresql", "db.example:99999/hub", "out of range"),
    ("postgresql", "db example/hub", "not a host"),
    ("mysql", "h/hub; DROP TABLE x", "not a valid database name"),
    ("oracle", "ora.example:1521", "service name"),
    ("sqlserver", "sql.example;databaseName=Hub;integratedSecurity=true", "Windows authentication is not supported"),
    ("db2", "h/x", "Unknown database type"),
    ("postgresql", "db.example:abc/hub", "port must be a number from 1 to 65535, not 'abc'"),
    ("postgresql", "db.example:/hub", "port must be a number"),
    ("postgresql", "https://db.example/hub", "without a URL scheme"),
    ("mysql", "db.example/hub?sslmode=require", "choose TLS in its own field"),
])
def test_bad_locations_are_refused_precisely(vendor, text, message):
    with pytest.raises(ValidationError, match=message):
        parse_location(vendor, text)


@pytest.mark.parametrize(("vendor", "text"), [
    ("postgresql", "postgresql://hub:Canary-PW-93@db.example:5432/hub"),
    ("postgresql", "jdbc:postgresql://db.example/hub?user=hub&password=Canary-PW-93"),
    ("mysql", "hub:Canary-PW-93@db.example/hub"),
    ("oracle", "hub/Canary-PW-93@ora.example:1521/SVC"),
    ("sqlserver", "sql.example;databaseName=Hub;user=sa;password=Canary-PW-93"),
])
def test_a_location_carrying_credentials_is_refused_without_echoing_them(vendor, text):
    """The refusal is shown on the page, returned by the API and printed by the command: never the password."""
    with pytest.raises(ValidationError) as caught:
        parse_location(vendor, text)
    message = " ".join(caught.value.messages)
    assert "user name and password in their own fields" in message
    assert "Canary-PW-93" not in message


def test_windows_accounts_are_refused_for_sql_server():
    with pytest.raises(ValidationError, match="SQL Server authentication"):
        build_entry(parse_location("sqlserver", "sql.example/Hub"), r"CORP\alice", "pw")


def test_entries_carry_tls_and_bulk_options():
    pg = build_entry(parse_location("postgresql", "h/hub"), "u", "p", "verify-full", "/etc/ca.pem")
    assert pg["OPTIONS"]["sslmode"] == "verify-full" and pg["OPTIONS"]["sslrootcert"] == "/etc/ca.pem"
    my = build_entry(parse_location("mysql", "h/hub"), "u", "p", "require")
    assert my["OPTIONS"]["local_infile"] == 1 and my["OPTIONS"]["ssl_mode"] == "REQUIRED"
    ora = build_entry(parse_location("oracle", "h:1521/SVC"), "u", "p", "disable")
    assert ora["ENGINE"] == "django.db.backends.oracle" and ora["NAME"] == "h:1521/SVC"
    ms = build_entry(parse_location("sqlserver", "h/Hub"), "u", "p", "verify-full")
    assert ms["ENGINE"] == "mssql" and "TrustServerCertificate=no" in ms["OPTIONS"]["extra_params"]
    with pytest.raises(ValidationError, match="TLS mode"):
        build_entry(parse_location("oracle", "h/SVC"), "u", "p", "verify-ca")


def test_each_vendor_has_a_tls_default_and_oracle_require_means_tcps():
    assert build_entry(parse_location("postgresql", "h/hub"), "u", "p")["OPTIONS"]["sslmode"] == "prefer"
    assert "Encrypt=yes" in build_entry(parse_location("sqlserver", "h/Hub"), "u", "p")["OPTIONS"]["extra_params"]
    assert build_entry(parse_location("oracle", "h:1522/SVC"), "u", "p")["NAME"] == "h:1522/SVC"
    # Accepted and then ignored, "require" would have been a plain-text connection.
    tcps = build_entry(parse_location("oracle", "h:2484/SVC"), "u", "p", "require")["NAME"]
    assert tcps == "tcps://h:2484/SVC"
    assert oracle_host_port(tcps) == ("h", 2484)
    assert oracle_host_port("ora.example/SVC") == ("ora.example", 1521)
    assert oracle_host_port(build_entry(parse_location("oracle", "[fd00::5]:1600/SVC"), "u", "p")["NAME"]) == \
        ("fd00::5", 1600)
    for vendor in ("oracle", "sqlserver"):
        with pytest.raises(ValidationError, match="CA file is used for PostgreSQL and MySQL/MariaDB only"):
            build_entry(parse_location(vendor, "h:1521/SVC"), "u", "p", "require", "/etc/ca.pem")


def test_driver_detection_reports_version_or_the_install_command(monkeypatch):
    assert driver_status("postgresql").installed
    assert driver_status("postgresql").version == importlib.metadata.version("psycopg")
    real = importlib.metadata.version

    def missing_oracledb(name):
        if name == "oracledb":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", missing_oracledb)
    oracle = driver_status("oracle")
    assert not oracle.installed and oracle.install_command == "pip install 'tasktop_hub[oracle]'"
    assert oracle.verified_live is False


def test_sql_server_counts_as_installed_only_with_the_driver_its_entry_selects(monkeypatch):
    """The entry asks mssql-django for Microsoft's mssql-python driver: the backend alone is not enough."""
    import types

    real_version, real_import = importlib.metadata.version, importlib.import_module
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "2.0.0" if name == "mssql-django" else real_version(name))

    def backend_without_its_driver(name, *args):
        if name == "mssql":
            return types.ModuleType("mssql")
        if name == "mssql_python":
            raise ImportError("No module named 'mssql_python'")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", backend_without_its_driver)
    status = driver_status("sqlserver")
    assert not status.installed and "mssql_python" in status.problem
    assert status.install_command == "pip install 'tasktop_hub[mssql]'"


def test_the_drivers_command_lists_every_vendor_with_its_format_and_says_which_are_not_verified(capsys):
    from django.core.management import call_command

    call_command("storage", "drivers")
    out = capsys.readouterr().out
    for label, location in (("PostgreSQL", "host[:port]/database"), ("Oracle", "host[:port]/service_name"),
                            ("Microsoft SQL Server", "host[:port];databaseName=database")):
        assert label in out and location in out
    lines = out.splitlines()
    assert "not verified against a live server" not in next(line for line in lines if line.startswith("PostgreSQL"))
    assert "not verified against a live server" in next(line for line in lines if line.startswith("Oracle"))
    assert f"installed {importlib.metadata.version('psycopg')}" in out


def test_batches_bound_memory_and_keep_every_row():
    rows = ((i, f"r{i}") for i in range(2503))
    sizes = [len(b) for b in bulk.batches(rows, 1000)]
    assert sizes == [1000, 1000, 503]
    with pytest.raises(ValueError, match="at least 1"):
        list(bulk.batches([], 0))


class _Fields:
    char = models.CharField(max_length=10)
    json = models.JSONField()
    when = models.DateTimeField()
    flag = models.BooleanField()
    ident = models.UUIDField()
    amount = models.DecimalField(max_digits=8, decimal_places=2)


def test_generic_values_for_oracle_and_sql_server():
    aware = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    u = uuid.UUID("12345678123456781234567812345678")
    for vendor in ("oracle", "sqlserver"):
        assert bulk.adapt_generic(aware, _Fields.when, vendor) == dt.datetime(2026, 12, 1, 21, 0)
        assert bulk.adapt_generic(True, _Fields.flag, vendor) == 1
        assert bulk.adapt_generic(u, _Fields.ident, vendor) == u.hex
        assert bulk.adapt_generic({"b": 1}, _Fields.json, vendor) == '{"b": 1}'
    assert bulk.adapt_generic("", _Fields.char, "oracle") is None
    assert bulk.adapt_generic("", _Fields.char, "sqlserver") == ""


def test_load_data_text_escapes_what_would_split_a_row():
    assert bulk.tsv_value("a\tb\nc\\d\r\x00", _Fields.char) == "a\\tb\\nc\\\\d\\r\\0"
    assert bulk.tsv_value(None, _Fields.char) == "\\N"
    assert bulk.tsv_value("\\N", _Fields.char) == "\\\\N"  # the text, not a NULL
    assert bulk.tsv_value(dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), _Fields.when) == "2026-01-02 03:04:05.000006"


def test_checksum_canonicalises_what_vendors_return_differently():
    fields = [_Fields.char, _Fields.json, _Fields.when, _Fields.amount, _Fields.ident]
    utc = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    plus2 = utc.astimezone(dt.timezone(dt.timedelta(hours=2)))
    u = uuid.uuid4()
    a = [("x", {"b": 1, "a": [1, 2]}, utc, decimal.Decimal("1.5"), u)]
    b = [("x", '{"a": [1, 2], "b": 1}', plus2, decimal.Decimal("1.50"), u.hex)]
    assert tables.combine(a, fields, False) == tables.combine(b, fields, False)
    # Order does not matter (vendors sort text keys differently) but every value does.
    rows = [("x", None, utc, decimal.Decimal(1), u), ("y", None, utc, decimal.Decimal(2), u)]
    assert tables.combine(rows, fields, False) == tables.combine(rows[::-1], fields, False)
    assert tables.combine(rows, fields, False) != tables.combine([rows[0], rows[0]], fields, False)


def test_oracle_empty_string_is_null_in_the_checksum_only_when_oracle_is_involved():
    fields = [_Fields.char]
    assert tables.combine([("",)], fields, True) == tables.combine([(None,)], fields, True)
    assert tables.combine([("",)], fields, False) != tables.combine([(None,)], fields, False)


def test_tables_are_ordered_parents_first_and_include_queue_cache_and_sessions():
    order = [m._meta.db_table for m in tables.transfer_models()]
    assert order.index("auth_user") < order.index("auth_user_groups")
    assert order.index("django_content_type") < order.index("auth_permission")
    assert {"django_q_ormq", "django_q_task", "hub_cache", "django_session"} <= set(order)
    assert "storage_instancelease" not in order and "storage_databaseidentity" not in order
    for model in tables.transfer_models():
        for field in model._meta.concrete_fields:
            parent = getattr(field, "related_model", None)
            if field.is_relation and parent is not None and parent is not model:
                assert order.index(parent._meta.db_table) < order.index(model._meta.db_table), (model, field)


def test_contents_are_classified_for_the_connection_test():
    from storage.connect import classify_contents

    assert classify_contents({"customer_table"}, None, "me") == "empty"
    assert classify_contents({"hub_transfer_marker"}, None, "me") == "partial"  # killed before the first table
    assert classify_contents({"auth_user", "django_q_task"}, None, "me") == "partial"
    assert classify_contents({"auth_user", "storage_databaseidentity"}, "me", "me") == "this_hub"
    assert classify_contents({"auth_user", "storage_databaseidentity"}, "other", "me") == "other_hub"
