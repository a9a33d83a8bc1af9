"""The first-run setup page, walked as an administrator would: license first, then password."""

import pytest
from django.contrib.messages import get_messages

from tests.ready import issue_key

pytestmark = [pytest.mark.django_db, pytest.mark.fresh_install]


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_license_first_then_master_password(client, staff):
    client.force_login(staff)
    assert client.get("/admin/").url == "/admin/setup/"

    response = client.post("/admin/security/license/apply/", {"key": issue_key()}, follow=True)
    texts = _messages(response)
    assert any(t.startswith("License applied") for t in texts), texts
    assert not any("already set" in t for t in texts), texts
    assert response.redirect_chain[-1][0] == "/admin/setup/"
    assert "Set master password" in response.content.decode()

    response = client.post("/admin/security/master-password/set/", {
        "password": "a long and unusual master password", "confirmation": "a long and unusual master password",
    }, follow=True)
    assert response.redirect_chain[-1][0] == "/admin/settings/", _messages(response)
