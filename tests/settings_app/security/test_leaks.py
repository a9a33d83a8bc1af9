"""The leak test: distinctive secrets planted in every secret field must appear nowhere.

Planted: every encrypted field of every model (discovered, so a new secret field must get a
planting recipe here or this test fails), the master password, and secrets sent in requests
(valid and invalid). Searched: every API response (JSON and browsable HTML), every admin
page, the log records and the log file, and a full ``dumpdata`` export.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client

from settings_app.security import master_password
from settings_app.security.fields import encrypted_fields
from tests.factories import ConnectionFactory, IntegrationFactory
from tests.leak_sweep import assert_clean, sweep_admin, sweep_api, sweep_database, sweep_logs

pytestmark = pytest.mark.django_db

MASTER = "MASTER-leak-canary-9f3a7c51 long"
CANARIES = ["CANARY-conn-token-5d1e", "CANARY-api-token-77aa", "CANARY-bad-param-13f0"]


def _plant_connection_secrets(value: str) -> list[str]:
    """One connection per registered connector kind, every sensitive parameter planted."""
    from integrations.connectors import registry

    planted = []
    for kind, _label in registry.choices():
        secrets = {p.name: f"{value}-{kind}-{p.name}" for p in registry.get(kind).secret_parameters()}
        if secrets:
            # Saved without validation on purpose: options need not be valid to hold secrets.
            ConnectionFactory(name=f"leak-{kind}", kind=kind, secrets=secrets)
            planted.extend(secrets.values())
    return planted


def _plant_email_password(value: str) -> list[str]:
    from settings_app.email import services as email

    email.save(None, {"to_address": "ops@example.com", "from_address": "hub@example.com", "host": "127.0.0.1",
                      "server_url": "https://hub.example.com", "username": "mailer"}, password=value)
    return [value]


def _plant_in_every_secret_field() -> list[str]:
    planted = []
    recipes = {
        "integrations.repositoryconnection.secrets": _plant_connection_secrets,
        "settings_app.emailsettings.password": _plant_email_password,
    }
    for field in encrypted_fields():
        label = f"{field.model._meta.label_lower}.{field.name}"
        assert label in recipes, f"New secret field {label}: add a planting recipe to tests/settings_app/security/test_leaks.py"
        value = f"CANARY-{label}-c4f9e2"
        planted.extend(recipes[label](value))
    return planted


def _plant_gateway_token() -> str:
    """A gateway collection's token (only its digest is stored, so it is no encrypted field):
    issued, then used by a sender (accepted) and sent wrong (refused)."""
    from integrations.gateway import services as gateway

    conn = ConnectionFactory(name="leak-gateway", kind="gateway", url="", options={})
    collection = apps.get_model("integrations", "Collection").objects.create(
        name="leak-gateway", connection=conn, projects=["HOOKS"], field_mapping={"summary": "summary"})
    token = gateway.regenerate_token(collection, None)
    sender = Client()
    for sent in (token, token + "x"):
        sender.post(f"/api/v1/gateway/{collection.pk}/", {"summary": "hello"}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {sent}")
    return token


def test_no_secret_leaks_anywhere(staff, caplog, settings):
    caplog.set_level(logging.DEBUG)
    log_file = Path(settings.HUB_LOG_DIR) / "hub.log"
    log_start = log_file.stat().st_size if log_file.exists() else 0

    master_password.reset_password(None, MASTER)  # the master password itself is a canary
    canaries = [MASTER, *CANARIES, *_plant_in_every_secret_field()]
    IntegrationFactory()  # something to show on every list
    gateway_token = _plant_gateway_token()
    canaries.append(gateway_token)

    api = Client()
    api.force_login(staff)
    # Secrets sent in: a valid create, an invalid one (unknown parameter and wrong type), a patch.
    r = api.post("/api/v1/connections/", {"name": "sent", "kind": "params_only", "secrets": {"token": CANARIES[1]}},
                 content_type="application/json")
    assert r.status_code == 201
    assert_clean(r.content.decode(), "POST /api/v1/connections/", canaries)
    r = api.post("/api/v1/connections/", {"name": "bad", "kind": "params_only",
                                          "secrets": {"nope": CANARIES[2], "token": [CANARIES[2]]}},
                 content_type="application/json")
    assert r.status_code == 400
    assert_clean(r.content.decode(), "a refused POST", canaries)
    r = api.post("/api/v1/security/master-password/change/",
                 {"current_password": MASTER, "new_password": MASTER + "x", "confirmation": MASTER + "y"},
                 content_type="application/json")
    assert r.status_code == 400
    assert_clean(r.content.decode(), "a refused password change", canaries)

    # Every API endpoint (JSON and the browsable HTML), lists and the planted objects' details.
    # Details of the test-only connector's connection: real connectors would reach for the network.
    planted_conn = apps.get_model("integrations", "RepositoryConnection").objects.get(name="leak-params_only")
    sweep_api(api, canaries, {"/api/v1/connections/": str(planted_conn.pk)})
    for conn in apps.get_model("integrations", "RepositoryConnection").objects.all():
        response = api.get(f"/api/v1/connections/{conn.pk}/")
        assert response.status_code == 200
        assert_clean(response.content.decode(), f"GET /api/v1/connections/{conn.pk}/", canaries)

    for path in ("/api/v1/notifications/email/", "/admin/settings/email/", "/admin/settings/"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert_clean(response.content.decode(), f"GET {path}", canaries)
    sweep_admin(api, canaries, ("/admin/security/master-password/change/", "/admin/security/master-password/reset/",
                                "/admin/security/license/apply/"))
    sweep_logs(caplog.records, log_file, log_start, canaries)
    dump = sweep_database(canaries)
    assert re.search(r"hv1\.[0-9a-f]+\.", dump), "the export should carry the encrypted tokens"
