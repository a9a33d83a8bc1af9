"""Connection secrets are write-only in the API and the admin: set, unchanged, cleared, never shown."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.models import RepositoryConnection
from settings_app.security import vault
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-PLANT-4711"
URL = "/api/v1/connections/"


def _create(client, **extra):
    body = {"name": "tracker", "kind": "params_only", "url": "http://t.example", "options": {}, **extra}
    return client.post(URL, body, format="json")


def test_api_sets_secret_and_shows_only_its_name(staff_client):
    r = _create(staff_client, secrets={"token": SECRET})
    assert r.status_code == 201, r.json()
    assert r.json()["secrets_set"] == ["token"] and "secrets" not in r.json()
    assert SECRET not in r.content.decode()
    conn = RepositoryConnection.objects.get()
    assert conn.secrets == {"token": SECRET}
    listing = staff_client.get(URL)
    assert SECRET not in listing.content.decode() and listing.json()["results"][0]["secrets_set"] == ["token"]


def test_api_omitted_secret_is_unchanged_and_null_clears(staff_client):
    conn = ConnectionFactory(secrets={"token": SECRET})
    r = staff_client.patch(f"{URL}{conn.pk}/", {"url": "http://other.example"}, format="json")
    assert r.status_code == 200 and r.json()["secrets_set"] == ["token"]
    r = staff_client.patch(f"{URL}{conn.pk}/", {"secrets": {}}, format="json")
    assert r.json()["secrets_set"] == ["token"]
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": SECRET}
    r = staff_client.patch(f"{URL}{conn.pk}/", {"secrets": {"token": None}}, format="json")
    assert r.status_code == 200 and r.json()["secrets_set"] == []
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {}


def test_api_rejects_unknown_and_badly_typed_secrets_naming_the_field(staff_client):
    r = _create(staff_client, secrets={"password": SECRET, "token": 5})
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert "secrets" in fields
    assert "password: Unknown parameter" in r.json()["detail"] and "token: Must be text." in r.json()["detail"]
    assert SECRET not in r.content.decode()


def test_api_refuses_secret_change_while_locked_with_a_clear_message(staff_client, monkeypatch):
    conn = ConnectionFactory(secrets={"token": SECRET})
    vault.forget()
    monkeypatch.setattr(vault, "ensure_loaded", lambda: False)
    r = staff_client.patch(f"{URL}{conn.pk}/", {"secrets": {"token": "new"}}, format="json")
    assert r.status_code == 400
    assert "master password is not loaded" in r.json()["detail"]
    # A non-secret edit still works while locked.
    r = staff_client.patch(f"{URL}{conn.pk}/", {"url": "http://x.example"}, format="json")
    assert r.status_code == 200 and r.json()["secrets_set"] == ["token"]


def test_admin_secret_inputs_are_write_only(staff):
    conn = ConnectionFactory(secrets={"token": SECRET})
    client = Client()
    client.force_login(staff)
    url = f"/admin/integrations/repositoryconnection/{conn.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="secret__token"' in html and 'name="clear_secret__token"' in html
    assert SECRET not in html and "Set — leave empty to keep it." in html
    base = {"name": conn.name, "url": conn.url, "option__site": "main", "option__page_size": "100"}
    # Empty input: unchanged.
    r = client.post(url, {**base, "secret__token": ""})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": SECRET}
    # New value.
    r = client.post(url, {**base, "secret__token": "replaced-value"})
    assert r.status_code == 302
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": "replaced-value"}
    # Clear.
    r = client.post(url, {**base, "clear_secret__token": "on"})
    assert r.status_code == 302
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {}
    listing = client.get("/admin/integrations/repositoryconnection/")
    assert listing.status_code == 200 and SECRET not in listing.content.decode()


def test_admin_add_form_offers_secret_inputs(staff):
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/integrations/repositoryconnection/add/?kind=params_only")
    assert page.status_code == 200 and 'name="secret__token"' in page.content.decode()
    r = client.post("/admin/integrations/repositoryconnection/add/", {
        "name": "new-conn", "kind": "params_only", "url": "http://n.example", "secret__token": SECRET,
    })
    assert r.status_code == 302, r.content.decode()[:3000]
    assert RepositoryConnection.objects.get(name="new-conn").secrets == {"token": SECRET}
