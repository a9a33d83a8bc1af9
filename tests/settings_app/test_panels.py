"""The Settings screen's first panel: its title says what it holds, and it holds every such setting."""

from __future__ import annotations

import re

import pytest

from settings_app import runtime, services

pytestmark = pytest.mark.django_db


def test_the_configuration_panel_is_titled_for_all_it_holds_and_shows_each_value(client, staff):
    services.update_settings(staff, instance_label="Prod EU", max_concurrency=3)
    client.force_login(staff)
    page = client.get("/admin/settings/").content.decode()
    panel = re.search(r'<section class="hub-panel[^"]*" id="panel-polling">(.*?)</section>', page, re.S)
    assert panel, "no polling panel"
    body = panel.group(1)
    # Not "Polling": the panel also holds the instance label and the concurrency limit.
    assert re.search(r"<h2>\s*Configuration\s*</h2>", body)
    for setting in runtime.in_section("polling"):
        assert setting.label in body, setting.name
    assert "Prod EU" in body and "Integration maximum concurrency" in body
    assert "the label shown in the header" in body and "concurrency limit" in body
