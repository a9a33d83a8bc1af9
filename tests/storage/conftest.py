from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.integrations.dbtargets import fresh_mariadb_db, fresh_postgres_db


def as_input(url: str) -> dict:
    """A test server's URL as the Storage form's input (vendor, location, username, password)."""
    p = urlsplit(url)
    vendor = "postgresql" if p.scheme.startswith("postgres") else "mysql"
    port = p.port or (5432 if vendor == "postgresql" else 3306)
    return {"vendor": vendor, "location": f"{p.hostname}:{port}{p.path}", "username": p.username or "root",
            "password": p.password or "", "tls": "prefer" if vendor == "postgresql" else "disable"}


@pytest.fixture
def pg_target():
    with fresh_postgres_db("hubstore") as url:
        yield as_input(url)


@pytest.fixture
def maria_target():
    with fresh_mariadb_db("hubstore") as url:
        yield as_input(url)


@pytest.fixture
def pg_target2():
    with fresh_postgres_db("hubstore") as url:
        yield as_input(url)


class _DynamicAliasesAllowed:
    """Django's test case refuses connections to aliases it did not know at class set-up unless
    they are "dynamically created"; the storage app's temporary aliases are exactly that."""

    def __init__(self, real):
        self._real = real

    def __contains__(self, alias):
        return not str(alias).startswith(("hub_storage", "hub_transfer")) and alias in self._real

    def __iter__(self):
        return iter(self._real)

    def __getitem__(self, alias):
        return self._real[alias]

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture(autouse=True)
def _allow_storage_aliases(monkeypatch):
    import django.test.testcases as testcases

    monkeypatch.setattr(testcases, "connections", _DynamicAliasesAllowed(testcases.connections))
