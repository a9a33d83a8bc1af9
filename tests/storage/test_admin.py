"""The Storage panel and its admin pages."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_panel_shows_database_lease_and_offers_external_database(admin_client):
    page = admin_client.get("/admin/settings/").content.decode()
    assert "Internal database (SQLite)" in page
    assert "Instance lease holder" in page and "(this installation)" in page
    assert "/admin/storage/external/" in page and "Use External Database" in page


def test_managed_by_the_environment_offers_no_transfer(admin_client, settings):
    settings.HUB_DATABASE_MANAGED_BY_ENV = True
    page = admin_client.get("/admin/settings/").content.decode()
    assert "managed by the environment" in page
    assert "/admin/storage/external/" not in page
    assert admin_client.get("/admin/storage/external/").status_code == 302
    refused = admin_client.post("/api/v1/storage/transfer/", {
        "vendor": "postgresql", "location": "127.0.0.1:1/x", "username": "u", "password": "p",
        "confirm": "I understand"}, content_type="application/json")
    assert refused.status_code == 400 and "managed by the environment" in refused.content.decode()


def test_test_connection_page_reports_unreachable_in_words(admin_client):
    page = admin_client.post("/admin/storage/external/", {
        "vendor": "postgresql", "location": "127.0.0.1:1/hub", "username": "hub", "password": "pw-not-shown-123",
        "tls": "prefer", "action": "test"}).content.decode()
    assert "Cannot reach 127.0.0.1:1" in page
    assert "pw-not-shown-123" not in page


def test_transfer_needs_the_confirmation(admin_client):
    page = admin_client.post("/admin/storage/external/", {
        "vendor": "postgresql", "location": "127.0.0.1:1/hub", "username": "hub", "password": "x",
        "tls": "prefer", "action": "transfer"}).content.decode()
    assert "I understand" in page and "to transfer" in page


def test_panel_shows_vendor_version_and_the_last_transfer(admin_client):
    from django.db import connection

    from notifications.models import BackgroundJob
    from storage.transfer import TransferJob

    version = ".".join(map(str, connection.get_database_version()))
    BackgroundJob.objects.create(kind=TransferJob.kind, title="Database transfer", params={},
                                 status=BackgroundJob.Status.FAILED, error="The target disk is full.")
    page = admin_client.get("/admin/settings/").content.decode()
    assert "Vendor and version" in page and f"sqlite {version}" in page
    assert "Last transfer" in page and "failed" in page and "The target disk is full." in page
