"""The SQLite → PostgreSQL / MariaDB fast path: batch encoding, jsonb rendering, and that its
one-query verification catches a changed, missing or extra row."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction

from notifications.models import AuditEvent, BackgroundJob
from storage import checksum, fastcopy, services
from storage.transfer import snapshot_sqlite
from tests.storage.sample import AWKWARD, fill

ODD_VALUES = ["plain", "", AWKWARD, "\\N", "a\x1fb", "\x1d", "\x1c\x1d\x1e\x1f", "tail\\", "nul\x00byte", "😀\r\n"]


def _sqlite_batch(values: list[str | None], vendor: str) -> list[tuple]:
    """Rows (id, text) read as the fast path reads them."""
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE t ("id" integer, "v" text)')
    conn.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    conn.text_factory = bytes
    return conn.execute("SELECT coalesce(char(28) || id, char(29)), coalesce(char(28) || v, char(29)), char(30) "
                        "FROM t ORDER BY id").fetchall()


@pytest.mark.parametrize("vendor", ["postgresql", "mysql"])
def test_batch_encoding_escapes_every_value_and_falls_back_when_data_holds_a_separator(vendor):
    clean = [v for v in ODD_VALUES if not any(c in v for c in "\x1c\x1d\x1e\x1f")] + [None]
    batch = _sqlite_batch(clean, vendor)
    fast = fastcopy.encode_batch(batch, 2, vendor)
    assert fast == fastcopy.encode_rows(batch, 2, vendor)
    lines = fast.split(b"\n")
    assert len(lines) == len(clean) + 1 and lines[-1] == b""
    assert lines[clean.index("\\N")] == b"%d\t\\\\N" % clean.index("\\N")  # the text, not a NULL
    assert lines[len(clean) - 1].endswith(b"\t\\N")  # the NULL
    assert b"\\t" in lines[clean.index(AWKWARD)] and b"\t" not in lines[clean.index(AWKWARD)].split(b"\t", 1)[1]
    assert (b"nul\\0byte" if vendor == "mysql" else b"nul\x00byte") in fast
    # Data holding a separator byte cannot be told from the structure: that batch goes row by row.
    odd = _sqlite_batch(ODD_VALUES, vendor)
    encoded = fastcopy.encode_batch(odd, 2, vendor).split(b"\n")
    assert encoded[ODD_VALUES.index("a\x1fb")] == b"%d\ta\x1fb" % ODD_VALUES.index("a\x1fb")
    assert encoded[ODD_VALUES.index("\x1d")] == b"%d\t\x1d" % ODD_VALUES.index("\x1d")


def test_jsonb_rendering_orders_keys_as_postgresql_and_prints_exact_numbers():
    assert checksum.render_jsonb('{"bb": 1, "a": 2, "é": 3, "ab": [1.50, -0.0, 1e-7, 2E+3, null, true]}') == \
        '{"a": 2, "ab": [1.50, 0.0, 0.0000001, 2000, null, true], "bb": 1, "é": 3}'
    assert checksum.render_jsonb(b'"tab\\t \\u20ac \\u0001 /"') == '"tab\\t € \\u0001 /"'


@pytest.fixture
def tiny_target(request):
    """A fresh database of the parametrised vendor with the tables of users, audit and jobs."""
    target = request.getfixturevalue(request.param)
    vendor, entry = services.entry_from_input(target)
    from storage.connect import alias_for

    with alias_for(entry, "hub_transfer_test") as alias:
        with connections[alias].schema_editor() as editor:
            for model in (ContentType, Permission, Group, get_user_model(), AuditEvent, BackgroundJob):
                editor.create_model(model)
        yield vendor, alias


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tiny_target", ["pg_target", "maria_target"], indirect=True)
def test_fast_copy_verifies_and_its_checksum_catches_a_changed_missing_or_extra_row(tiny_target, tmp_path):
    vendor, alias = tiny_target
    fill()
    BackgroundJob.objects.filter(title="").update(finished_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    snapshot = snapshot_sqlite({}, tmp_path / "snap.sqlite3")["NAME"]
    source = fastcopy.open_source(snapshot)
    models = [get_user_model(), AuditEvent, BackgroundJob]
    expected = {}
    session = fastcopy.postgres_bulk_session(alias, [m._meta.db_table for m in models]) if vendor == "postgresql" \
        else fastcopy.mysql_bulk_session(alias)
    with fastcopy.SourceChecksums(snapshot, vendor, models) as child:
        with transaction.atomic(using=alias), session:
            for model in models:
                copied = fastcopy.copy_table(source, alias, vendor, model, lambda n: None)
                assert copied == model._base_manager.count()
        for model in models:
            expected[model] = child.get(model._meta.db_table)
    assert expected[AuditEvent].rows == AuditEvent.objects.count()
    for model in models:
        assert fastcopy.target_checksum(alias, vendor, model) == expected[model], model
        assert fastcopy.source_checksum(source, vendor, model) == expected[model]
    assert set(AuditEvent.objects.using(alias).values_list("details__text", flat=True)) >= {AWKWARD}

    job = BackgroundJob.objects.using(alias).filter(title="").order_by("pk").first()
    audit = AuditEvent.objects.using(alias).order_by("pk").last()
    audits = AuditEvent._base_manager.using(alias)  # past the append-only guard, as a damaged copy would be
    changes = [
        lambda: BackgroundJob.objects.using(alias).filter(pk=job.pk).update(
            finished_at=job.finished_at + dt.timedelta(microseconds=1)),
        lambda: audits.filter(pk=audit.pk).update(details={**audit.details, "n": -1}),
        lambda: audits.filter(pk=audit.pk).update(details={**audit.details, "text": AWKWARD.replace("\t", " ")}),
        lambda: audits.filter(pk=audit.pk).update(target=audit.target + " "),
        lambda: BackgroundJob.objects.using(alias).filter(pk=job.pk).update(result={"ok": False}),
        lambda: BackgroundJob.objects.using(alias).filter(pk=job.pk).delete(),
        lambda: AuditEvent.objects.using(alias).create(pk=audit.pk + 1000, action=audit.action, target=audit.target,
                                                       details=audit.details),
    ]
    for number, change in enumerate(changes):
        with transaction.atomic(using=alias):
            change()
            differs = [m for m in models if fastcopy.target_checksum(alias, vendor, m) != expected[m]]
            assert len(differs) == 1, number
            transaction.set_rollback(True, using=alias)
    assert all(fastcopy.target_checksum(alias, vendor, m) == expected[m] for m in models)
    source.close()


@pytest.mark.django_db
def test_jsonb_rendering_matches_postgresql(pg_target):
    vendor, entry = services.entry_from_input(pg_target)
    from storage.connect import alias_for

    texts = ['{"b": {"dd": 1, "c": [1, {"z": 0, "yy": 1.10}]}, "a": "é\\n\\u0007", "": null}', "[]", "{}", '"x"',
             "1e300", "-0.0", '{"a": 1, "a": 2}', '{"Z": 1, "a": 2, "é": 3, "ab": 4}', '{"k": "\\ud83d\\ude00 \\\\ /"}']
    with alias_for(entry) as alias, connections[alias].cursor() as cursor:
        for text in texts:
            cursor.execute("SELECT %s::jsonb::text", [text])
            assert checksum.render_jsonb(text) == cursor.fetchone()[0], text


@pytest.mark.django_db
def test_the_checksum_child_reports_why_it_stopped(tmp_path):
    """A snapshot the child cannot read fails the verification with the child's reason, not a hang."""
    missing = str(tmp_path / "gone.sqlite3")
    with fastcopy.SourceChecksums(missing, "postgresql", [AuditEvent]) as child:
        with pytest.raises(RuntimeError, match="Computing the source checksums stopped.*unable to open"):
            child.get(AuditEvent._meta.db_table)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tiny_target", ["pg_target"], indirect=True)
def test_indexes_are_rebuilt_beside_the_copy_and_a_failure_stops_the_builder(tiny_target, tmp_path):
    """Outside a caller's transaction each table's indexes are built on a second connection as
    soon as the table is reported copied; the session ends with the migrations' exact catalog.
    A failure inside the session stops the builder (no thread or connection left behind)."""
    import threading

    vendor, alias = tiny_target
    fill()
    snapshot = snapshot_sqlite({}, tmp_path / "snap.sqlite3")["NAME"]
    source = fastcopy.open_source(snapshot)
    models = [get_user_model(), AuditEvent, BackgroundJob]
    names = [m._meta.db_table for m in models]
    with connections[alias].cursor() as cursor:
        catalog = fastcopy._pg_catalog(cursor, names)
    assert catalog[1], "the tables have secondary indexes to rebuild"
    with fastcopy.postgres_bulk_session(alias, names) as table_copied:
        for model in models:
            with transaction.atomic(using=alias):
                fastcopy.copy_table(source, alias, vendor, model, lambda n: None)
            table_copied(model._meta.db_table)
            assert any(t.name == "hub-index-builder" for t in threading.enumerate())
    assert not any(t.name == "hub-index-builder" for t in threading.enumerate())
    with connections[alias].cursor() as cursor:
        assert fastcopy._pg_catalog(cursor, names) == catalog

    with connections[alias].cursor() as cursor:
        cursor.execute(f'TRUNCATE {", ".join(connections[alias].ops.quote_name(n) for n in names)} CASCADE')
    with pytest.raises(RuntimeError, match="stop here"):
        with fastcopy.postgres_bulk_session(alias, names) as table_copied:
            table_copied(names[0])
            raise RuntimeError("stop here")
    assert not any(t.name == "hub-index-builder" for t in threading.enumerate())
    source.close()
