"""The ``database`` connector against SQLite, and the real PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.connectors import registry
from integrations.connectors.base import ConnectorError
from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.dbtargets import fresh_mariadb_db, fresh_postgres_db

OPTIONS = {"table": "items", "people_table": "people", "page_size": 3}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mysql", marks=pytest.mark.mariadb)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "items.db"
        path.touch()
        yield f"sqlite:///{path}"
    elif request.param == "postgresql":
        with fresh_postgres_db() as url:
            yield url
    else:
        with fresh_mariadb_db() as url:
            yield url


@pytest.fixture
def connector(db_url):
    create_work_item_table(db_url, "items", ["summary", "status", "assignee"], people_table="people")
    c = DatabaseConnector(db_url, OPTIONS, {})
    yield c
    c.close()


def test_registered():
    assert registry.get("database") is DatabaseConnector


def test_create_read_update_find(connector):
    created = connector.create("ALPHA", {"summary": "first", "status": "New"}, hub_key="hub:1:L:9")
    assert created.id
    (read,) = connector.read([created.id])
    assert read.fields["summary"] == "first" and read.hub_key == "hub:1:L:9" and read.project == "ALPHA"
    updated = connector.update(created.id, {"status": "Done"})
    assert updated.updated_at >= created.updated_at
    (read,) = connector.read([created.id])
    assert read.fields["status"] == "Done" and read.version == updated.version
    assert connector.find_by_hub_key("ALPHA", "hub:1:L:9").id == created.id
    assert connector.find_by_hub_key("ALPHA", "hub:1:L:10") is None
    assert connector.projects() == ["ALPHA"]
    assert set(connector.fields()) == {"summary", "status", "assignee"}
    assert "1 row" in connector.test_connection()


def test_keyset_paging_with_ties_never_skips_or_repeats(connector, monkeypatch):
    # Ten rows share one timestamp; pages hold three; keys must come out once each, in order.
    stamp = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    monkeypatch.setattr("integrations.connectors.database.connector._now", lambda: stamp)
    ids = [connector.create("ALPHA", {"summary": str(n)}, hub_key="").id for n in range(10)]
    seen, after = [], None
    while True:
        page = connector.changes_after("ALPHA", None, after, 3)
        seen += [a.id for a in page.artifacts]
        if page.artifacts:
            after = (page.artifacts[-1].updated_at, page.artifacts[-1].id)
        if page.done:
            break
    assert seen == ids
    later = connector.changes_after("ALPHA", stamp + timedelta(seconds=1), None, 3)
    assert later.artifacts == [] and later.done


def test_unknown_column_is_a_named_permanent_error(connector):
    with pytest.raises(ConnectorError) as info:
        connector.create("ALPHA", {"nope": 1}, hub_key="")
    assert "nope" in str(info.value) and not info.value.transient


def test_missing_row_update_is_permanent(connector):
    with pytest.raises(ConnectorError) as info:
        connector.update("999999", {"summary": "x"})
    assert not info.value.transient


def test_people(connector):
    assert connector.people() == []


def test_unreachable_and_bad_settings():
    with pytest.raises(ConnectorError) as info:
        DatabaseConnector("postgresql://postgres@127.0.0.1:1/none", {"table": "items"}, {}).projects()
    assert info.value.unreachable and info.value.transient
    with pytest.raises(ConnectorError, match="identifier"):
        DatabaseConnector("sqlite:////tmp/x.db", {"table": "items; drop"}, {})
    with pytest.raises(ConnectorError, match="URL"):
        DatabaseConnector("ftp://x", {"table": "items"}, {})


@pytest.mark.postgres
def test_wrong_postgres_password_is_auth_failure():
    with fresh_postgres_db() as url:
        # trust auth accepts anything for postgres; an unknown role is still refused at login.
        bad = url.replace("postgres@", "no_such_role@")
        with pytest.raises(ConnectorError) as info:
            DatabaseConnector(bad, {"table": "items"}, {"password": "x"}).projects()
        assert info.value.auth


@pytest.mark.mariadb
def test_wrong_mariadb_password_is_auth_failure():
    with fresh_mariadb_db() as url:
        with pytest.raises(ConnectorError) as info:
            DatabaseConnector(url, {"table": "items"}, {"password": "definitely-wrong"}).projects()
        assert info.value.auth
