"""Master password and vault: set, wrong password, change, interrupted change, reset, auto-load."""

from __future__ import annotations

import os
import stat

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.models import RepositoryConnection
from notifications.models import ActivityIssue, AuditEvent
from notifications.services import sync_condition_issues
from settings_app.models import VaultKey
from settings_app.security import master_password, password_store, vault
from tasktop_hub import conditions
from tests.factories import ConnectionFactory
from tests.ready import TEST_MASTER_PASSWORD

pytestmark = pytest.mark.django_db

NEW = "another long master phrase 77"
PLANT = "plant-TOKEN-0xC0FFEE"


def _fresh_process() -> None:
    """What a newly started process sees: nothing in memory, sources on disk/environment only."""
    vault.forget()


def _issues(key: str) -> list[ActivityIssue]:
    return list(ActivityIssue.objects.filter(key=key, status="open"))


# --- set and strength ------------------------------------------------------------------------


@pytest.mark.fresh_install
@pytest.mark.parametrize("weak,expected", [
    ("short", "at least 12 characters"),
    ("010203040506", "commonly used"),
    ("aaaaaaaaaaaaaaaa", "commonly used"),
    (" padded password x ", "whitespace"),
])
def test_weak_passwords_are_refused_with_the_rule(weak, expected):
    with pytest.raises(ValidationError) as info:
        master_password.set_password(None, weak)
    message = info.value.message_dict["password"][0]
    assert expected in message
    if expected != "whitespace":
        assert "at least 12 characters long and must not be a commonly used password" in message
    assert not VaultKey.objects.exists()


@pytest.mark.fresh_install
def test_set_stores_the_password_encrypted_0600_outside_the_db(settings):
    master_password.set_password(None, NEW, NEW)
    path = password_store.store_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert NEW.encode() not in path.read_bytes()
    row = VaultKey.objects.get()
    assert NEW.encode() not in bytes(row.wrapped_key) and row.kdf_n == settings.HUB_VAULT_SCRYPT_N and row.kdf_r == 8
    assert AuditEvent.objects.filter(action="master_password.set").exists()
    assert NEW not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    _fresh_process()
    assert vault.ensure_loaded() and vault.loaded_source() == "stored"
    with pytest.raises(ValidationError, match="already set"):
        master_password.set_password(None, "yet another master phrase 1")


@pytest.mark.fresh_install
def test_mismatched_confirmation_is_refused():
    with pytest.raises(ValidationError) as info:
        master_password.set_password(None, NEW, NEW + "x")
    assert "do not match" in info.value.message_dict["confirmation"][0]


# --- wrong password --------------------------------------------------------------------------


def test_wrong_password_is_refused_everywhere():
    with pytest.raises(vault.WrongPassword):
        vault.unlock("not the master password at all")
    with pytest.raises(ValidationError) as info:
        master_password.enter_password(None, "not the master password at all")
    assert info.value.message_dict["password"] == ["The master password is not correct."]
    with pytest.raises(ValidationError) as info:
        master_password.change_password(None, "not the master password at all", NEW)
    assert "not correct" in info.value.message_dict["current_password"][0]
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "master_password.enter_refused", "master_password.change_refused"}


# --- change ----------------------------------------------------------------------------------


def test_change_keeps_every_secret_and_retires_the_old_password():
    conn = ConnectionFactory(secrets={"token": PLANT})
    before = VaultKey.objects.get()
    master_password.change_password(None, TEST_MASTER_PASSWORD, NEW, NEW)
    after = VaultKey.objects.get()
    assert after.key_id == before.key_id and bytes(after.wrapped_key) != bytes(before.wrapped_key)
    _fresh_process()
    with pytest.raises(vault.WrongPassword):
        vault.unlock(TEST_MASTER_PASSWORD)
    assert vault.ensure_loaded()  # from the stored (new) password
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": PLANT}
    assert not password_store.pending_path().exists()


def test_change_with_same_password_or_weak_new_password_is_refused():
    with pytest.raises(ValidationError, match="must differ"):
        master_password.change_password(None, TEST_MASTER_PASSWORD, TEST_MASTER_PASSWORD)
    with pytest.raises(ValidationError, match="at least 12"):
        master_password.change_password(None, TEST_MASTER_PASSWORD, "short")


def test_interrupted_change_before_commit_leaves_the_old_password_working(monkeypatch):
    conn = ConnectionFactory(secrets={"token": PLANT})
    password_store.store(TEST_MASTER_PASSWORD)
    before = VaultKey.objects.get()

    def crash(*args, **kwargs):  # fault between re-wrapping the key and committing
        raise RuntimeError("power cut")

    monkeypatch.setattr(master_password, "record_audit", crash)
    with pytest.raises(RuntimeError):
        master_password.change_password(None, TEST_MASTER_PASSWORD, NEW)
    monkeypatch.undo()
    row = VaultKey.objects.get()
    assert bytes(row.wrapped_key) == bytes(before.wrapped_key)
    assert not password_store.pending_path().exists()
    _fresh_process()
    assert vault.ensure_loaded()  # the stored old password still unlocks
    vault.unlock(TEST_MASTER_PASSWORD)
    with pytest.raises(vault.WrongPassword):
        vault.unlock(NEW)
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": PLANT}


def test_interrupted_change_after_commit_recovers_the_new_password(monkeypatch):
    conn = ConnectionFactory(secrets={"token": PLANT})
    password_store.store(TEST_MASTER_PASSWORD)

    def crash():  # fault after the commit, before the new password file replaces the old one
        raise OSError("disk full")

    monkeypatch.setattr(password_store, "promote_pending", crash)
    master_password.change_password(None, TEST_MASTER_PASSWORD, NEW)
    monkeypatch.undo()
    assert password_store.pending_path().exists()
    _fresh_process()
    assert vault.ensure_loaded()  # old stored password fails, the pending one works
    assert not password_store.pending_path().exists()  # and was promoted
    _fresh_process()
    assert vault.ensure_loaded()
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": PLANT}


# --- reset -----------------------------------------------------------------------------------


def test_reset_wipes_every_secret_and_lists_them_in_one_issue(django_capture_on_commit_callbacks):
    a = ConnectionFactory(name="Jira prod", secrets={"token": PLANT})
    b = ConnectionFactory(name="GitHub", secrets={"token": PLANT + "2"})
    untouched = ConnectionFactory(name="No secrets")
    old_key_id = VaultKey.objects.get().key_id
    wiped = master_password.reset_password(None, NEW, NEW)
    assert {w.pk for w in wiped} == {a.pk, b.pk}
    assert VaultKey.objects.get().key_id != old_key_id
    for conn in (a, b, untouched):
        fresh = RepositoryConnection.objects.get(pk=conn.pk)
        assert fresh.secrets == {} and fresh.secret_names == []
    issue = ActivityIssue.objects.get(key=master_password.ISSUE_WIPED, status="open")
    assert "Jira prod" in issue.message and "GitHub" in issue.message and "No secrets" not in issue.message
    assert PLANT not in issue.message
    _fresh_process()
    with pytest.raises(vault.WrongPassword):
        vault.unlock(TEST_MASTER_PASSWORD)
    vault.unlock(NEW)
    # Re-entering every listed secret resolves the issue.
    for conn, value in ((a, "new-a"), (b, "new-b")):
        fresh = RepositoryConnection.objects.get(pk=conn.pk)
        fresh.secrets = {"token": value}
        with django_capture_on_commit_callbacks(execute=True):
            fresh.save()
        if conn is a:
            assert _issues(master_password.ISSUE_WIPED)
    assert not _issues(master_password.ISSUE_WIPED)


def test_process_holding_the_destroyed_key_notices_the_reset():
    conn = ConnectionFactory(secrets={"token": PLANT})
    stale = (vault.loaded_key_id(), vault._loaded.data_key)
    master_password.reset_password(None, NEW)
    fresh = RepositoryConnection.objects.get(pk=conn.pk)
    fresh.secrets = {"token": "after reset"}
    vault.install(stale[0], stale[1], "stored")  # another process that still has the old key
    fresh.save()  # must not seal with the destroyed key
    assert vault.token_key_id(RepositoryConnection.objects.filter(pk=conn.pk).values_list("secrets", flat=True)[0].token) \
        == VaultKey.objects.get().key_id
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": "after reset"}


# --- loading at start, missing password ------------------------------------------------------


def test_password_from_environment_and_file(monkeypatch, tmp_path):
    _fresh_process()
    monkeypatch.setenv("HUB_MASTER_PASSWORD", TEST_MASTER_PASSWORD)
    assert vault.ensure_loaded() and vault.loaded_source() == "environment"
    _fresh_process()
    monkeypatch.delenv("HUB_MASTER_PASSWORD")
    secret_file = tmp_path / "mp"
    secret_file.write_text(TEST_MASTER_PASSWORD + "\n")
    monkeypatch.setenv("HUB_MASTER_PASSWORD_FILE", str(secret_file))
    assert vault.ensure_loaded() and vault.loaded_source() == "file"


def test_wrong_environment_password_falls_back_to_the_store(monkeypatch):
    password_store.store(TEST_MASTER_PASSWORD)
    _fresh_process()
    monkeypatch.setenv("HUB_MASTER_PASSWORD", "an outdated master password")
    assert vault.ensure_loaded() and vault.loaded_source() == "stored"


def test_missing_password_blocks_processing_with_one_issue_until_entered():
    conn = ConnectionFactory(secrets={"token": PLANT})
    _fresh_process()  # nothing stored, no environment: the password is missing
    reason = conditions.processing_blocked_reason()
    assert reason and "master password is missing" in reason
    sync_condition_issues()
    sync_condition_issues()
    assert len(_issues(master_password.ISSUE_MISSING)) == 1
    with pytest.raises(vault.VaultLocked, match="no master password is loaded"):
        _ = RepositoryConnection.objects.get(pk=conn.pk).secrets
    master_password.enter_password(None, TEST_MASTER_PASSWORD)
    assert not _issues(master_password.ISSUE_MISSING)
    assert conditions.processing_blocked_reason() is None
    _fresh_process()
    assert vault.ensure_loaded()  # entering stored it for the next start


@pytest.mark.fresh_install
def test_not_set_blocks_processing():
    assert conditions.processing_blocked_reason()
    assert "No master password is set" in master_password.missing_reason()


# --- command ---------------------------------------------------------------------------------


def test_command_change_reset_status(tmp_path, capsys):
    current, new = tmp_path / "current", tmp_path / "new"
    current.write_text(TEST_MASTER_PASSWORD)
    new.write_text(NEW)
    call_command("masterpassword", "change", "--current-password-file", str(current), "--new-password-file", str(new),
                 "--no-input")
    with pytest.raises(CommandError, match="current_password: The current master password is not correct"):
        call_command("masterpassword", "change", "--current-password-file", str(current), "--new-password-file",
                     str(new), "--no-input")
    with pytest.raises(CommandError, match="--yes"):
        call_command("masterpassword", "reset", "--new-password-file", str(current), "--no-input")
    ConnectionFactory(name="Wiped one", secrets={"token": PLANT})
    call_command("masterpassword", "reset", "--new-password-file", str(current), "--no-input", "--yes")
    call_command("masterpassword", "status")
    out = capsys.readouterr().out
    assert "re-enter: " in out and "Wiped one" in out and "Set and loaded" in out
    assert NEW not in out and TEST_MASTER_PASSWORD not in out and PLANT not in out


def test_scrypt_cost_has_a_floor_and_a_system_check(settings):
    from django.core.checks import run_checks

    settings.HUB_VAULT_SCRYPT_N = 2**10
    assert "hub.E102" in {m.id for m in run_checks(tags=["hub"])}
    with pytest.raises(vault.VaultError, match="at least 16384"):
        master_password.change_password(None, TEST_MASTER_PASSWORD, NEW)
    settings.HUB_VAULT_SCRYPT_N = vault.PRODUCTION_SCRYPT_N
    assert "hub.E102" not in {m.id for m in run_checks(tags=["hub"])}


@pytest.mark.fresh_install
def test_command_set_from_environment(monkeypatch):
    with pytest.raises(CommandError, match="Neither HUB_MASTER_PASSWORD"):
        call_command("masterpassword", "set", "--from-environment")
    monkeypatch.setenv("HUB_MASTER_PASSWORD", NEW)
    call_command("masterpassword", "set", "--from-environment")
    _fresh_process()
    assert vault.ensure_loaded() and vault.loaded_source() == "environment"


def test_stale_pending_file_from_a_killed_change_is_discarded():
    password_store.store(TEST_MASTER_PASSWORD)
    password_store.write_pending(NEW)  # a change that died before its commit (no cleanup ran)
    _fresh_process()
    assert vault.ensure_loaded() and vault.loaded_source() == "stored"
    assert not password_store.pending_path().exists()
    vault.unlock(TEST_MASTER_PASSWORD)
