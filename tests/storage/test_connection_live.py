"""The connection test against live servers, through the command: each check in words a person
can act on, and the password never printed."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import psycopg
import pytest
from django.core.management import CommandError, call_command

from storage import services
from tests.integrations.dbtargets import POSTGRES_URL

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "Canary-PW-5523"


def _run(capsys, monkeypatch, action: str, target: dict, password: str = "") -> tuple[str, str]:
    monkeypatch.setenv("HUB_STORAGE_PASSWORD", password or target["password"])
    error = ""
    try:
        call_command("storage", action, vendor=target["vendor"], location=target["location"],
                     username=target["username"], tls=target["tls"])
    except CommandError as exc:
        error = str(exc)
    return capsys.readouterr().out, error


def test_an_empty_postgresql_database_passes_every_check(pg_target, capsys, monkeypatch):
    out, error = _run(capsys, monkeypatch, "test", pg_target)
    assert not error, out
    lines = out.splitlines()
    assert lines[0].startswith("[ok  ] reachable: ") and "answers" in lines[0]
    assert lines[1] == f"[ok  ] authentication: Signed in as {pg_target['username']}."
    assert lines[2].startswith("[info] tls: Connection ")
    assert lines[3].startswith("[ok  ] version: Server version ") and "is supported (minimum 14" in lines[3]
    assert lines[4] == "[ok  ] create_table: The user may create tables."
    assert lines[5].startswith("[info] contents: The database holds none of the hub's tables: ready for a transfer.")


def test_a_user_who_may_not_create_tables_is_told_to_grant_it(pg_target):
    role = f"hub_nocreate_{uuid.uuid4().hex[:8]}"
    database = pg_target["location"].rsplit("/", 1)[1]
    url = urlsplit(POSTGRES_URL)
    with psycopg.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres",
                         dbname=database, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        try:
            report = services.test({**pg_target, "username": role})
        finally:
            admin.execute(f'DROP ROLE "{role}"')
    failed = {c.name: c.message for c in report.checks if c.ok is False}
    assert list(failed) == ["create_table"]
    assert failed["create_table"].startswith("The user may not create tables (") and "Grant it" in failed["create_table"]


def test_a_wrong_mariadb_password_is_named_as_such_and_never_printed(maria_target, capsys, monkeypatch):
    out, error = _run(capsys, monkeypatch, "test", maria_target, password=CANARY)
    assert "[FAIL] authentication: The server refused the username or password (SQL authentication)." in out
    assert error == "The connection test failed."
    assert CANARY not in out + error


def test_cleanup_of_a_database_with_nothing_to_remove_says_so(pg_target, capsys, monkeypatch):
    out, error = _run(capsys, monkeypatch, "cleanup", pg_target)
    assert not error
    assert out.strip() == "Nothing to clean up: the target holds no tables of a transfer of this hub."


def test_the_transfer_command_needs_yes_then_shows_progress_and_completes(pg_target, capsys, monkeypatch):
    from notifications.models import BackgroundJob

    monkeypatch.setenv("HUB_STORAGE_PASSWORD", pg_target["password"])
    args = dict(vendor=pg_target["vendor"], location=pg_target["location"], username=pg_target["username"],
                tls=pg_target["tls"])
    with pytest.raises(CommandError, match="confirm with --yes"):
        call_command("storage", "transfer", **args)
    assert not BackgroundJob.objects.exists()
    capsys.readouterr()
    call_command("storage", "transfer", yes=True, foreground=True, **args)
    out = capsys.readouterr().out
    assert re.search(r"\[[#.]{40}\] \d+/\d+ rows ", out), out  # the progress bar
    assert "Database transfer completed: " in out and '"verified": true' in out
