"""Test connection (admin action and API): the connector is called, the verdict and its time are
recorded on the connection, and a failure says in words what failed."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations import services
from integrations.models import RepositoryConnection
from notifications.models import AuditEvent
from settings_app.security import vault
from tests.factories import ConnectionFactory
from tests.fakes.tracker import FakeTracker

pytestmark = pytest.mark.django_db


@pytest.fixture
def tracker():
    with FakeTracker() as t:
        yield t


def _redmine(url: str, key: str = "fake-api-key") -> RepositoryConnection:
    return ConnectionFactory(kind="redmine", url=url, options={}, secrets={"api_key": key})


def test_api_test_records_ok_with_time(staff_client, tracker):
    conn = _redmine(tracker.base_url)
    assert conn.status == "unknown"
    body = staff_client.post(f"/api/v1/connections/{conn.pk}/test/").json()
    assert body["ok"] is True and body["problem"] == "" and "Connected to Redmine as admin" in body["message"]
    conn.refresh_from_db()
    assert conn.status == "ok" and conn.status_checked_at is not None and "admin" in conn.status_message
    assert AuditEvent.objects.filter(action="connection.test", details__ok=True).exists()


def test_wrong_key_says_authentication_failed(staff_client, tracker):
    conn = _redmine(tracker.base_url, key="wrong")
    body = staff_client.post(f"/api/v1/connections/{conn.pk}/test/").json()
    assert body["ok"] is False and body["problem"] == "authentication"
    assert body["message"].startswith("Authentication failed")
    assert "wrong" not in body["message"]  # the secret itself never comes back
    conn.refresh_from_db()
    assert conn.status == "failing" and conn.status_message == body["message"]


def test_unreachable_tool_is_named(staff_client):
    conn = _redmine("http://127.0.0.1:9")  # discard port: nothing listens
    body = staff_client.post(f"/api/v1/connections/{conn.pk}/test/").json()
    assert body["ok"] is False and body["problem"] == "unreachable"
    assert body["message"].startswith("The tool is unreachable")


def test_locked_vault_is_named_not_a_500(staff_client, tracker):
    conn = _redmine(tracker.base_url)
    vault.forget()
    fresh = RepositoryConnection.objects.get(pk=conn.pk)
    result = services.test_connection(fresh, None)
    assert not result.ok and result.problem == "locked"
    assert RepositoryConnection.objects.get(pk=conn.pk).status == "failing"


def test_viewers_cannot_test(user_client, tracker):
    conn = _redmine(tracker.base_url)
    assert user_client.post(f"/api/v1/connections/{conn.pk}/test/").status_code == 403
    assert RepositoryConnection.objects.get(pk=conn.pk).status == "unknown"


def test_admin_action_tests_and_reports(staff, tracker):
    good, bad = _redmine(tracker.base_url), _redmine(tracker.base_url, key="wrong")
    client = Client()
    client.force_login(staff)
    response = client.post("/admin/integrations/repositoryconnection/", {
        "action": "test_connection", "_selected_action": [good.pk, bad.pk]}, follow=True)
    page = response.content.decode()
    assert f"Connection &#x27;{good.name}&#x27;: Connected to Redmine as admin" in page
    assert f"Connection &#x27;{bad.name}&#x27;: Authentication failed" in page
    assert RepositoryConnection.objects.get(pk=good.pk).status == "ok"
    assert RepositoryConnection.objects.get(pk=bad.pk).status == "failing"
