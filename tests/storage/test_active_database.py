"""HUB_HOME/db/hub-db.json: the active database, its password encrypted with a key outside it."""

from __future__ import annotations

import base64
import os

import pytest

from tasktop_hub import database


def _entry():
    return {"ENGINE": "django.db.backends.postgresql", "NAME": "hub", "HOST": "db", "PORT": "5432", "USER": "hub",
            "PASSWORD": "s3cr3t-Pa55", "OPTIONS": {"sslmode": "require"}}


def test_password_is_encrypted_and_read_back(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_DB_KEY", raising=False)
    home, db_dir = tmp_path, tmp_path / "db"
    db_dir.mkdir()
    assert database.active_entry(home, db_dir)["ENGINE"] == "django.db.backends.sqlite3"
    database.write_record(home, db_dir, _entry(), "postgresql")
    raw = (db_dir / database.ACTIVE_FILE).read_bytes()
    for form in (b"s3cr3t-Pa55", base64.b64encode(b"s3cr3t-Pa55"), b"s3cr3t-Pa55".hex().encode()):
        assert form not in raw
    assert oct(os.stat(db_dir / database.ACTIVE_FILE).st_mode & 0o777) == "0o600"
    assert oct(os.stat(home / "keys" / "db.key").st_mode & 0o777) == "0o600"
    entry = database.active_entry(home, db_dir)
    assert entry["PASSWORD"] == "s3cr3t-Pa55" and entry["OPTIONS"] == {"sslmode": "require"}


def test_a_wrong_key_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_DB_KEY", raising=False)
    (tmp_path / "db").mkdir()
    database.write_record(tmp_path, tmp_path / "db", _entry(), "postgresql")
    monkeypatch.setenv("HUB_DB_KEY", base64.b64encode(b"k" * 32).decode())
    with pytest.raises(database.DatabaseConfigError, match="cannot be decrypted"):
        database.active_entry(tmp_path, tmp_path / "db")
    monkeypatch.setenv("HUB_DB_KEY", "c2hvcnQ=")
    with pytest.raises(database.DatabaseConfigError, match="exactly 32 bytes"):
        database.active_entry(tmp_path, tmp_path / "db")


def test_generation_counts_switches(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_DB_KEY", raising=False)
    (tmp_path / "db").mkdir()
    first = database.write_record(tmp_path, tmp_path / "db", _entry(), "postgresql")
    second = database.write_record(tmp_path, tmp_path / "db", {**_entry(), "HOST": "db2"}, "postgresql")
    assert (first["generation"], second["generation"]) == (1, 2)
