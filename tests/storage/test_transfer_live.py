"""Transfers against the machine's PostgreSQL and MariaDB: SQLite → each, and between them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from notifications.models import AuditEvent, BackgroundJob
from storage import services, tables
from storage.connect import alias_for
from tasktop_hub import database
from tests.storage.sample import AWKWARD, fill

pytestmark = pytest.mark.django_db(transaction=True)

CONFIRM = "I understand the warning"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.HUB_TRANSFER_DRAIN_SECONDS = 0


def _entry(data: dict) -> dict:
    return services.entry_from_input(data)[1]


def _run_transfer(target: dict) -> BackgroundJob:
    job = services.start_transfer(target, CONFIRM, None)  # tasks run inline in tests
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("target_fixture", ["pg_target", "maria_target"])
def test_transfer_from_internal_copies_verifies_and_switches(request, target_fixture):
    target = request.getfixturevalue(target_fixture)
    fill()
    source_counts = {m._meta.db_table: m._base_manager.count() for m in tables.transfer_models()}

    job = _run_transfer(target)

    assert job.status == BackgroundJob.Status.SUCCEEDED, job.error + job.log
    assert job.result["verified"] is True
    # The transfer's own job row and its "job.enqueue" audit row were written before the snapshot.
    source_counts["notifications_backgroundjob"] += 1
    source_counts["notifications_auditevent"] += 1
    assert job.result["rows"] == sum(source_counts.values())
    record = json.loads((Path(settings.HUB_DB_DIR) / database.ACTIVE_FILE).read_text())
    assert record["vendor"] == target["vendor"]
    assert "PASSWORD" not in record["entry"]
    with alias_for(_entry(target)) as alias:
        for model in tables.transfer_models():
            assert model._base_manager.using(alias).count() == source_counts[model._meta.db_table], model
        texts = set(AuditEvent.objects.using(alias).filter(action="sample.change").values_list("details__text", flat=True))
        assert texts == {AWKWARD}
        # Sequences were reset: a new row gets a fresh id instead of colliding with a copied one.
        user = get_user_model().objects.using(alias).create(username="after-transfer")
        assert user.pk > max(get_user_model().objects.values_list("pk", flat=True))
        assert get_user_model().objects.using(alias).filter(username="admin1").exists()
        assert connections[alias].introspection.table_names().count("hub_transfer_marker") == 0
        from django_q.models import OrmQ, Task

        # django-q2's queue ids go on far past the source's (tables.leave_queue_ids_behind), and
        # the placeholder that moved them is gone.
        assert not OrmQ.objects.using(alias).filter(key="hub_transfer_marker").exists()
        assert OrmQ.objects.using(alias).create(key="after", payload="").pk > tables.QUEUE_ID_GAP

        from integrations.models import RepositoryConnection

        assert Task.objects.using(alias).get().result == {"ok": AWKWARD}
        with connections[alias].cursor() as cursor:  # the sealed secret is copied as stored, not decrypted
            cursor.execute("SELECT secrets FROM integrations_repositoryconnection")
            stored = cursor.fetchone()[0]
        assert "s3cret-token-value" not in stored
        assert RepositoryConnection.objects.using(alias).get().secrets == {"token": "s3cret-token-value"}
    # The internal database is untouched (but for the "storage.transfer" audit row and django-q2's
    # result row, written after the job) and a dated backup of it was kept.
    after = {m._meta.db_table: m._base_manager.count() for m in tables.transfer_models()}
    assert after == {**source_counts, "notifications_auditevent": source_counts["notifications_auditevent"] + 1,
                     "django_q_task": source_counts["django_q_task"] + 1}
    assert Path(job.result["backup"]).exists()


def test_between_external_databases_both_directions(pg_target, maria_target, pg_target2, monkeypatch):
    fill()
    first = _run_transfer(pg_target)
    assert first.status == BackgroundJob.Status.SUCCEEDED, first.error
    with alias_for(_entry(pg_target)) as alias:
        expected = {m._meta.db_table: m._base_manager.using(alias).count() for m in tables.transfer_models()}

    # PostgreSQL → MariaDB → PostgreSQL again: the whole job the panel starts (pause, drain, copy,
    # verify, switch), with the hub's "current database" being the external source. (This test
    # process keeps its own database; tests/system/test_storage_transfer.py switches real ones.)
    from storage import transfer

    for source, target in ((pg_target, maria_target), (maria_target, pg_target2)):
        monkeypatch.setattr(transfer, "current_entry", lambda source=source: _entry(source))
        monkeypatch.setattr(services, "current_entry", lambda source=source: _entry(source))
        job = _run_transfer(target)
        assert job.status == BackgroundJob.Status.SUCCEEDED, job.error + job.log
        assert job.result["verified"] is True and "backup" not in job.result
        record = json.loads((Path(settings.HUB_DB_DIR) / database.ACTIVE_FILE).read_text())
        assert record["vendor"] == target["vendor"] and record["entry"]["NAME"] == _entry(target)["NAME"]
        with alias_for(_entry(target)) as alias:
            got = {m._meta.db_table: m._base_manager.using(alias).count() for m in tables.transfer_models()}
        assert got == expected


# A target with a failed transfer's partial tables (refused, then cleaned up): test_transfer_failures.py.
