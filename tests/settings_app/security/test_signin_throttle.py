"""Password guessing is limited per account and per client address, on the admin login and the
token endpoint alike; each lockout is audited and shown to administrators (throttle.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from notifications.models import AuditEvent
from settings_app.security.throttle import LOCKED_ACTION
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.HUB_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.HUB_SIGNIN_MAX_FAILURES_PER_ADDRESS = 6
    settings.HUB_SIGNIN_LOCKOUT_SECONDS = 600
    # A cheap hasher: each refused guess checks a password (even for a name that is no account).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _token(username: str, password: str, address: str = "10.0.0.1", **extra):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address, **extra)


def test_account_is_locked_after_repeated_failures_even_for_the_right_password():
    UserFactory(username="alice")
    for _ in range(3):
        assert _token("alice", "guess").status_code == 400
    refused = _token("alice", PASSWORD, address="10.0.0.2")  # another address: the account is what is locked
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed sign-ins" in refused.json()["detail"]
    (event,) = AuditEvent.objects.filter(action=LOCKED_ACTION)
    assert event.target == "account alice"
    assert event.details["scope"] == "account" and event.details["address"] == "10.0.0.1"
    # Other accounts are untouched.
    UserFactory(username="bob")
    assert _token("bob", PASSWORD, address="10.0.0.2").status_code == 200


def test_a_success_clears_the_account_count():
    UserFactory(username="carol")
    for _ in range(2):
        assert _token("carol", "guess").status_code == 400
    assert _token("carol", PASSWORD).status_code == 200
    for _ in range(2):
        assert _token("carol", "guess").status_code == 400
    assert _token("carol", PASSWORD).status_code == 200
    assert not AuditEvent.objects.filter(action=LOCKED_ACTION).exists()


def test_address_is_locked_after_failures_across_many_account_names():
    UserFactory(username="dave")
    for n in range(6):
        assert _token(f"nobody-{n}", "hunter2-typed-as-name").status_code == 400
    assert _token("dave", PASSWORD, address="10.0.0.1").status_code == 429
    assert _token("dave", PASSWORD, address="10.0.0.9").status_code == 200
    events = list(AuditEvent.objects.filter(action=LOCKED_ACTION))
    assert [e.target for e in events] == ["address 10.0.0.1"]


def test_audit_never_records_a_name_that_is_no_account():
    # People type passwords into the user name field: a name that is no account is not written down.
    for _ in range(3):
        _token("S3cret-typed-in-the-wrong-box", "x", address="10.0.0.3")
    (event,) = AuditEvent.objects.filter(action=LOCKED_ACTION)
    assert "S3cret" not in str(event.target) + str(event.details)


def test_behind_the_proxy_the_last_forwarded_hop_is_the_client(settings):
    settings.HUB_BEHIND_HTTPS_PROXY = True
    UserFactory(username="erin")
    for n in range(6):
        # The client forges the first entry; the proxy appends the real one.
        _token(f"x{n}", "guess", address="127.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.7")
    assert _token("erin", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert _token("erin", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


def test_admin_login_is_throttled_and_the_lockout_shows_on_the_settings_screen():
    StaffFactory(username="frank")
    browser = Client(REMOTE_ADDR="10.0.0.4")
    for _ in range(3):
        page = browser.post("/admin/login/", {"username": "frank", "password": "guess"})
        assert page.status_code == 200 and "_auth_user_id" not in browser.session
    page = browser.post("/admin/login/", {"username": "frank", "password": PASSWORD})
    assert "Too many failed sign-ins" in page.content.decode()
    assert "_auth_user_id" not in browser.session
    # The API refuses the same account: one count for every way in.
    assert _token("frank", PASSWORD, address="10.0.0.5").status_code == 429

    admin = Client()
    admin.force_login(StaffFactory(username="grace"))
    settings_page = admin.get("/admin/settings/").content.decode()
    assert "Sign-in Protection" in settings_page
    assert "account frank (locked;" in settings_page
