"""What a user gets wrong, through each door (command, API, admin): a precise message, no traceback,
no password echoed anywhere, and nothing done for anyone but an administrator."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from notifications.models import AuditEvent, BackgroundJob
from tasktop_hub import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CANARY = "Canary-PW-4471"
WITH_CREDENTIALS = f"hub:{CANARY}@127.0.0.1:1/hub"


def test_a_password_file_that_cannot_be_read_is_named_not_a_traceback(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read the password file .*missing\.txt: No such file or directory\."):
        call_command("storage", "test", vendor="postgresql", location="127.0.0.1:1/hub", username="hub",
                     password_file=tmp_path / "missing.txt")


def test_the_command_refuses_a_location_holding_a_password_without_printing_it(capsys):
    with pytest.raises(CommandError) as caught:
        call_command("storage", "test", vendor="postgresql", location=WITH_CREDENTIALS, username="hub")
    assert "user name and password in their own fields" in str(caught.value)
    assert CANARY not in str(caught.value) + capsys.readouterr().out


@pytest.mark.parametrize("path", ["test", "transfer", "cleanup", "relocate"])
def test_the_api_refuses_a_location_holding_a_password_naming_the_field_and_never_the_password(
        staff_client, caplog, path):
    caplog.set_level(logging.DEBUG)
    body = {"vendor": "postgresql", "location": WITH_CREDENTIALS, "username": "hub", "password": CANARY,
            "confirm": "I understand"}
    if path in ("test", "cleanup"):
        body.pop("confirm")
    response = staff_client.post(f"/api/v1/storage/{path}/", body, format="json")
    assert response.status_code == 400, response.content
    assert "location" in response.content.decode() and "own fields" in response.content.decode()
    assert CANARY not in response.content.decode()
    assert CANARY not in caplog.text
    assert not any(CANARY in str(e.details) for e in AuditEvent.objects.all())
    assert not BackgroundJob.objects.exists()


def test_the_admin_page_refuses_it_and_does_not_fill_the_password_back_in(client, staff):
    client.force_login(staff)
    page = client.post("/admin/storage/external/", {
        "vendor": "postgresql", "location": WITH_CREDENTIALS, "username": "hub", "password": CANARY,
        "tls": "prefer", "action": "test"}).content.decode()
    assert "own fields" in page
    assert CANARY not in page


@pytest.mark.parametrize("role", [roles.INTEGRATORS, roles.VIEWERS])
def test_the_storage_admin_pages_are_for_administrators_only(role):
    user = UserFactory(username=f"staff-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    for url in ("/admin/storage/external/", "/admin/storage/override/", "/admin/storage/abort/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/storage/override/", {"confirm": "on"}).status_code == 403
    assert client.post("/admin/storage/external/", {
        "vendor": "postgresql", "location": "127.0.0.1:1/hub", "username": "hub", "password": "x", "tls": "prefer",
        "action": "transfer", "confirm": "on"}).status_code == 403
    assert client.post("/admin/storage/abort/").status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="storage.").exists()
    assert not BackgroundJob.objects.exists()
