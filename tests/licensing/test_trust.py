"""Trusted issuers kept in HUB_HOME/trusted_issuers: added by `license trust`, audited, shown on the
License panel, used at once (no restart); issuing for oneself can trust and apply in one step."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from licensing import keys, services
from notifications.models import AuditEvent
from tests.ready import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def home(settings, tmp_path):
    settings.HUB_HOME = tmp_path
    return tmp_path


def test_a_trusted_key_counts_at_once_without_a_restart(home, staff):
    issuer = keys.generate_private_key()
    public = keys.public_key_text(issuer.public_key())
    key = issue_key(private_key=issuer, licensee="New Co")
    with pytest.raises(ValidationError, match="does not trust"):
        services.apply_license(None, key)

    call_command("license", "trust", public)

    assert (home / "trusted_issuers").stat().st_mode & 0o777 == 0o600
    assert services.apply_license(None, key).licensee == "New Co"
    kid = keys.key_id(issuer.public_key())
    assert AuditEvent.objects.filter(action="license.issuer_trusted", target=kid).count() == 1
    call_command("license", "trust", public)  # again: nothing new, no second audit row
    assert AuditEvent.objects.filter(action="license.issuer_trusted").count() == 1

    client = Client()
    client.force_login(staff)
    panel = client.get("/admin/settings/").content.decode()
    assert f"{kid} (HUB_HOME/trusted_issuers)" in panel


def test_a_bad_key_is_refused_and_nothing_is_written(home):
    with pytest.raises(CommandError, match="Not an Ed25519 public key"):
        call_command("license", "trust", "not-a-key")
    assert not (home / "trusted_issuers").exists()
    assert not AuditEvent.objects.filter(action="license.issuer_trusted").exists()


def test_issuing_for_oneself_trusts_and_applies_in_one_step(home, capsys):
    call_command("license", "keygen", "--out", str(home / "issuer.pem"))
    call_command("license", "issue", "--key", str(home / "issuer.pem"), "--licensee", "Self Co", "--issuer", "Me",
                 "--max-users", "5", "--expires", "2099-01-01", "--apply")
    assert "License applied" in capsys.readouterr().out
    assert services.current().licensee == "Self Co"
