"""Security system checks, health entries and the API shape of vault errors."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from settings_app.security import vault
from tasktop_hub.api.errors import exception_handler


def _ids() -> set[str]:
    return {m.id for m in run_checks(tags=["hub"])}


def test_trusted_key_checks(settings, monkeypatch, tmp_path):
    settings.HUB_HOME = tmp_path  # no trusted_issuers file
    settings.HUB_LICENSE_TRUSTED_KEYS = []
    monkeypatch.setattr("sys.argv", ["manage.py", "check"])
    assert "hub.W111" in _ids()
    monkeypatch.setattr("sys.argv", ["manage.py", "serve"])
    assert "hub.W111" in _ids()
    # Not on every other command, before the user could act on it (first start: masterpassword set …).
    monkeypatch.setattr("sys.argv", ["manage.py", "masterpassword", "set"])
    assert "hub.W111" not in _ids()
    settings.HUB_LICENSE_TRUSTED_KEYS = ["not-a-key"]
    assert "hub.E111" in _ids()


@pytest.mark.django_db
def test_health_reports_master_password_and_license(staff_client, monkeypatch):
    body = staff_client.get("/api/health").json()
    assert body["checks"]["master_password"] == {"ok": True, "message": "Set and loaded"}
    assert body["checks"]["license"]["ok"] is True and "Test Co" in body["checks"]["license"]["message"]
    vault.forget()
    body = staff_client.get("/api/health").json()
    assert body["checks"]["master_password"]["ok"] is False


def test_vault_errors_become_503_in_the_error_shape():
    response = exception_handler(vault.VaultLocked(), {})
    assert response.status_code == 503
    assert response.data["errors"][0]["field"] is None and "vault is locked" in response.data["detail"]
