"""The first-run setup page, walked as an administrator would: license first, then password."""

import re

import pytest
from django.contrib.messages import get_messages

from licensing import keys
from notifications.models import AuditEvent
from tests.ready import issue_key

pytestmark = [pytest.mark.django_db, pytest.mark.fresh_install]

STRONG = "a long and unusual master password"


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


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="(/[^"]*)"', html)) - {"#"}


def test_the_setup_page_offers_only_reachable_links_and_says_where_a_key_comes_from(client, staff):
    client.force_login(staff)
    page = client.get("/admin/setup/").content.decode()
    assert 'id="nav-sidebar"' not in page and "hub-settings-button" not in page and "View site" not in page
    assert "comes from your vendor" in page and "license keygen" in page and "license issue" in page
    for href in _links(page):
        if href.startswith("/static/"):
            continue
        response = client.get(href)
        # Either the setup page itself or a page that opens (not a redirect back to setup).
        assert href == "/admin/setup/" or response.status_code == 200, (href, response.status_code)


def test_an_untrusted_issuers_key_is_applied_with_its_public_key_pasted_beside_it(client, staff, settings, tmp_path):
    settings.HUB_HOME = tmp_path
    client.force_login(staff)
    client.post("/admin/security/master-password/set/", {"password": STRONG, "confirmation": STRONG})
    vendor = keys.generate_private_key()
    key = issue_key(private_key=vendor, licensee="Vendor's customer")

    untrusted = client.post("/admin/security/license/apply/", {"key": key}).content.decode()
    assert "does not trust" in untrusted
    other = keys.public_key_text(keys.generate_private_key().public_key())
    wrong = client.post("/admin/security/license/apply/", {"key": key, "issuer_public_key": other}).content.decode()
    assert "did not sign the license key" in wrong
    assert not (tmp_path / "trusted_issuers").exists()

    public = keys.public_key_text(vendor.public_key())
    done = client.post("/admin/security/license/apply/", {"key": key, "issuer_public_key": public})
    assert done.status_code == 302 and done["Location"] == "/admin/settings/"
    assert public in (tmp_path / "trusted_issuers").read_text()
    assert AuditEvent.objects.filter(action="license.issuer_trusted", target=keys.key_id(vendor.public_key())).exists()
    assert client.get("/admin/settings/").status_code == 200


def test_a_master_password_set_but_not_loaded_is_explained_on_the_setup_page(client, staff):
    from settings_app.security import password_store, vault

    client.force_login(staff)
    client.post("/admin/security/master-password/set/", {"password": STRONG, "confirmation": STRONG})
    password_store.remove()  # as after a restart whose HUB_HOME lost the stored copy
    vault.forget()
    page = client.get("/admin/setup/").content.decode()
    assert "missing or wrong" in page and "/admin/security/master-password/enter/" in page
    assert client.get("/admin/security/master-password/enter/").status_code == 200
