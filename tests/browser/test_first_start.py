"""The first start as a newcomer does it, in the browser, on real processes: a fresh HUB_HOME,
`manage.py hub_setup` (as `make run` does), `manage.py serve` (gunicorn and a django-q2 cluster),
then on the setup page the master password and a license key from an issuer this hub has never
heard of, with that issuer's public key pasted beside it — no command, no restart — until
`/api/health` answers 200."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ready import issue_key
from tests.system.conftest import ADMIN_PASSWORD, ADMIN_USER, Hub, serving

pytestmark = [pytest.mark.browser, pytest.mark.system]

MASTER_PASSWORD = "first start master password 42"


@pytest.fixture
def fresh_hub(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL", "DJANGO_"))}
    env.update({"HUB_HOME": str(tmp_path / "home"), "HUB_ADMIN_USER": ADMIN_USER,
                "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"})
    hub = Hub(home=tmp_path / "home", env=env, log=tmp_path / "hub.log")
    setup = hub.manage("hub_setup", "--no-input")  # as `make run` does, on the fresh HUB_HOME
    assert setup.returncode == 0, setup.stdout + setup.stderr
    with serving(hub):
        yield hub


def test_first_start_in_the_browser_reaches_health_200(fresh_hub, page):
    from licensing import keys

    hub = fresh_hub
    assert "First start" in hub.log.read_text() and "/admin/setup/" in hub.log.read_text()
    page.goto(f"{hub.base_url}/admin/")
    page.fill("#id_username", ADMIN_USER)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{hub.base_url}/admin/setup/")
    # Nothing on the page leads back to it: no app sidebar, no Settings button.
    assert page.locator("#nav-sidebar").count() == 0 and page.locator("#hub-settings-button").count() == 0
    assert "comes from your vendor" in page.locator("#setup-license").inner_text()

    step = page.locator("#setup-master_password")
    step.locator("input[name=password]").fill(MASTER_PASSWORD)
    step.locator("input[name=confirmation]").fill(MASTER_PASSWORD)
    step.locator("input[type=submit]").click()
    page.wait_for_url(f"{hub.base_url}/admin/setup/")
    assert "The master password is set." in page.locator(".messagelist").inner_text()

    vendor = keys.generate_private_key()  # an issuer this hub does not trust
    step = page.locator("#setup-license")
    step.locator("textarea[name=key]").fill(issue_key(private_key=vendor, licensee="First Start Co"))
    step.locator("textarea[name=issuer_public_key]").fill(keys.public_key_text(vendor.public_key()))
    step.locator("input[type=submit]").click()
    page.wait_for_url(f"{hub.base_url}/admin/settings/")
    assert "License applied" in page.locator(".messagelist").inner_text()
    assert "First Start Co" in page.locator("#panel-license").inner_text()

    hub.wait_for(lambda: hub.request("GET", "/api/health")[0] == 200, 30, "health 200")
    assert (hub.home / "trusted_issuers").read_text().count(keys.public_key_text(vendor.public_key())) == 1
