"""Trusted issuers kept in HUB_HOME/trusted_issuers: added by `license trust`, audited, shown on the
License panel, used at once (no restart); issuing for oneself can trust and apply in one step."""

from __future__ import annotations

from datetime import date

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


RSA_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMQb7Hf0v1Y0lUoB8rEtrAQpD2oQhEfp
n3mLBzr7mWq7Gbq3OJVHc3Hqkm7qz5Wn5PpU6WvRC0k7Z3xVZ2H0bq0CAwEAAQ==
-----END PUBLIC KEY-----"""


@pytest.mark.parametrize(("text", "message"), [
    ("", "no key was given"),
    ("-----BEGIN PUBLIC KEY-----\nAAAA", "the PEM text cannot be read; copy it whole"),
    (RSA_PUBLIC_PEM, "the PEM holds a key of another type (RSA); license issuers use Ed25519"),
    ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPrivateCanary\n-----END PRIVATE KEY-----",
     "this is a private key; give the issuer's public key"),
])
def test_each_kind_of_garbage_gets_a_message_saying_what_to_do(home, text, message):
    with pytest.raises(CommandError) as caught:
        call_command("license", "trust", text)
    assert message in str(caught.value)
    assert "cryptography.io" not in str(caught.value) and "PrivateCanary" not in str(caught.value)
    assert not (home / "trusted_issuers").exists()


def test_issuing_for_oneself_trusts_and_applies_in_one_step(home, capsys):
    call_command("license", "keygen", "--out", str(home / "issuer.pem"))
    call_command("license", "issue", "--key", str(home / "issuer.pem"), "--licensee", "Self Co", "--issuer", "Me",
                 "--max-users", "5", "--expires", "2099-01-01", "--apply")
    assert "License applied" in capsys.readouterr().out
    assert services.current().licensee == "Self Co"


def test_a_pasted_public_key_is_trusted_only_with_a_key_it_signed_that_is_applied(home, staff_client):
    vendor = keys.generate_private_key()
    public = keys.public_key_text(vendor.public_key())
    with pytest.raises(ValidationError) as refused:
        services.apply_license(None, issue_key(private_key=vendor, created=date(2019, 1, 1), expires=date(2020, 1, 1)), public)
    assert "expired on 2020-01-01" in str(refused.value.message_dict["key"])
    with pytest.raises(ValidationError) as garbled:
        services.apply_license(None, issue_key(private_key=vendor), "not a key")
    assert "Not an issuer public key" in str(garbled.value.message_dict["issuer_public_key"])
    assert not (home / "trusted_issuers").exists()
    assert not AuditEvent.objects.filter(action="license.issuer_trusted").exists()

    response = staff_client.post("/api/v1/license/", {"key": issue_key(private_key=vendor, licensee="API Co"),
                                                      "issuer_public_key": public}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["licensee"] == "API Co"
    assert public in (home / "trusted_issuers").read_text()
    assert AuditEvent.objects.filter(action="license.issuer_trusted").count() == 1


def test_license_apply_takes_the_issuers_public_key_too(home, capsys):
    vendor = keys.generate_private_key()
    call_command("license", "apply", issue_key(private_key=vendor, licensee="Cmd Co"),
                 "--issuer-public-key", keys.public_key_text(vendor.public_key()))
    assert "License applied" in capsys.readouterr().out
    assert services.current().licensee == "Cmd Co"

