"""Each runtime setting is declared once (settings_app/runtime.py); the admin form, the API, the
command, the Settings panel and the validation all follow the declaration."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from settings_app import runtime
from settings_app.admin import HubSettingsAdmin
from settings_app.api.serializers import HubSettingsSerializer
from settings_app.models import HubSettings
from settings_app.services import get_settings

pytestmark = pytest.mark.django_db


def _changed_value(setting: runtime.RuntimeSetting):
    if setting.type is bool:
        return not setting.default
    if setting.type is int:
        return setting.bound.minimum if setting.default != setting.bound.minimum else setting.bound.maximum
    return "Changed"


def test_every_declared_setting_is_a_column_with_its_default_and_bound():
    hub = HubSettings()
    for setting in runtime.SETTINGS:
        assert getattr(hub, setting.name) == (setting.default if setting.type is not str else "")
        field = HubSettings._meta.get_field(setting.name)
        if setting.bound:
            assert setting.bound.allowed() in str(field.help_text)


def test_admin_form_and_serializer_carry_exactly_the_declared_settings():
    assert list(HubSettingsAdmin.fields) == list(runtime.NAMES)
    writable = {n for n, f in HubSettingsSerializer().fields.items() if not f.read_only}
    assert writable == set(runtime.NAMES)


def test_the_command_sets_and_shows_each_declared_setting(capsys):
    for setting in runtime.SETTINGS:
        value = _changed_value(setting)
        if setting.type is bool:
            args = [setting.switches[0] if value else setting.switches[1]]
        else:
            args = [setting.option, str(value)]
        call_command("hub_settings", "set", *args)
        assert getattr(get_settings(), setting.name) == value, setting.name
        assert f"{setting.label.lower()}:" in capsys.readouterr().out


def test_the_bound_refuses_everywhere(staff_client):
    for setting in runtime.SETTINGS:
        if not setting.bound:
            continue
        too_big = setting.bound.maximum + 1
        with pytest.raises(CommandError, match=setting.bound.allowed().split(" (")[0]):
            call_command("hub_settings", "set", setting.option, str(too_big))
        response = staff_client.patch("/api/v1/settings/", {setting.name: too_big}, format="json")
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == setting.name


def test_the_panel_shows_each_declared_setting_of_its_section(staff):
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/settings/").content.decode()
    for setting in runtime.in_section("polling"):
        assert setting.label in page
