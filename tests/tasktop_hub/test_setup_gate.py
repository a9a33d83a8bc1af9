"""The first-run gate: a fresh installation refuses work until both are set (admin and API)."""

from __future__ import annotations

import pytest
from django.test import Client

from licensing.models import License
from settings_app.models import VaultKey
from tests.factories import StaffFactory
from tests.ready import TEST_MASTER_PASSWORD, issue_key

pytestmark = [pytest.mark.django_db, pytest.mark.fresh_install]

STRONG = "a long and unusual master phrase 42"


def test_fresh_install_api_refuses_everything_but_setup_auth_and_health(staff_client):
    response = staff_client.get("/api/v1/connections/")
    assert response.status_code == 503
    body = response.json()
    assert body["setup_required"] == ["master_password", "license"]
    assert {e["field"] for e in body["errors"]} == {"master_password", "license"}
    assert "No master password is set" in body["detail"] and "No license is applied" in body["detail"]
    assert staff_client.get("/api/v1/security/setup/").json()["set_up"] is False
    assert staff_client.get("/api/v1/license/").json()["state"] == "unlicensed"
    assert staff_client.get("/api/health").status_code in (200, 503)  # reachable, whatever its verdict


def test_fresh_install_admin_leads_to_setup_page():
    admin = StaffFactory(username="first-admin")
    client = Client()
    client.force_login(admin)
    for url in ("/admin/", "/admin/integrations/repositoryconnection/", "/admin/settings/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/admin/setup/", url
    page = client.get("/admin/setup/")
    assert page.status_code == 200
    assert b"Set master password" in page.content and b"Apply new license" in page.content
    assert client.get("/admin/login/").status_code in (200, 302)


def test_setup_through_the_api_opens_the_hub(staff_client):
    r = staff_client.post("/api/v1/security/master-password/set/", {"password": STRONG}, format="json")
    assert r.status_code == 200, r.json()
    blocked = staff_client.get("/api/v1/connections/")
    assert blocked.status_code == 503 and blocked.json()["setup_required"] == ["license"]
    r = staff_client.post("/api/v1/license/", {"key": issue_key()}, format="json")
    assert r.status_code == 201, r.json()
    assert staff_client.get("/api/v1/connections/").status_code == 200


def test_setup_through_the_admin_pages():
    admin = StaffFactory(username="first-admin")
    client = Client()
    client.force_login(admin)
    weak = client.post("/admin/security/master-password/set/", {"password": "short", "confirmation": "short"})
    assert weak.status_code == 200 and b"at least 12 characters" in weak.content
    assert b'value="short"' not in weak.content  # a refused password is not sent back
    r = client.post("/admin/security/master-password/set/", {"password": STRONG, "confirmation": STRONG})
    assert r.status_code == 302 and r["Location"] == "/admin/setup/"
    assert client.get("/admin/").status_code == 302
    r = client.post("/admin/security/license/apply/", {"key": issue_key()})
    assert r.status_code == 302
    assert VaultKey.objects.count() == 1 and License.objects.count() == 1
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/setup/")["Location"] == "/admin/"


def test_setup_through_the_commands(tmp_path, settings, capsys):
    from django.core.management import call_command

    settings.HUB_HOME = tmp_path
    pw = tmp_path / "pw"
    pw.write_text(TEST_MASTER_PASSWORD + "\n")
    call_command("masterpassword", "set", "--password-file", str(pw), "--no-input")
    key_file = tmp_path / "license.txt"
    key_file.write_text(issue_key(licensee="Acme"))
    call_command("license", "apply", "--file", str(key_file))
    call_command("license", "show")
    call_command("masterpassword", "status")
    out = capsys.readouterr().out
    assert "Licensee: Acme" in out and "Set and loaded" in out
    assert TEST_MASTER_PASSWORD not in out


def test_non_administrators_cannot_complete_setup(user_client):
    r = user_client.post("/api/v1/security/master-password/set/", {"password": STRONG}, format="json")
    assert r.status_code == 403
    assert VaultKey.objects.count() == 0


@pytest.mark.django_db
def test_admin_pages_warn_while_nothing_is_processed(monkeypatch):
    from tests import ready

    ready.make_vault_ready()
    ready.make_license_ready()
    admin = StaffFactory(username="watcher")
    client = Client()
    client.force_login(admin)
    assert b"hub-processing-warnings" not in client.get("/admin/").content
    from settings_app.security import vault

    vault.forget()  # the master password is missing from this process
    page = client.get("/admin/integrations/integration/").content.decode()
    assert "Nothing is processed: The master password is missing or wrong" in page


def test_setup_messages_name_the_page_that_opens_before_setup(staff_client):
    """Health and the API's 503 point to /admin/setup/ (which opens), not to a Settings page the gate blocks."""
    checks = staff_client.get("/api/health").json()["checks"]
    blocked = staff_client.get("/api/v1/connections/").json()
    for text in (checks["master_password"]["message"], checks["license"]["message"], blocked["detail"]):
        assert "/admin/setup/" in text and "Settings" not in text, text
    admin = Client()
    admin.force_login(StaffFactory(username="first-admin"))
    assert admin.get("/admin/setup/").status_code == 200
