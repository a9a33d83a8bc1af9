import pytest
from django.core.management import CommandError, call_command

from settings_app.services import get_settings
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def test_set_and_show(capsys):
    call_command("hub_settings", "set", "--change-detection-interval", "120", "--disable-full-scan")
    hub = get_settings()
    assert hub.change_detection_interval == 120 and hub.full_scan_enabled is False
    assert "2 minutes" in capsys.readouterr().out


def test_out_of_range_is_a_clear_error():
    with pytest.raises(CommandError, match="between 1 and 100 artifacts"):
        call_command("hub_settings", "set", "--max-concurrency", "0")
    assert get_settings().max_concurrency == 10


def test_effective_for_a_missing_integration():
    with pytest.raises(CommandError, match="Integration 999 does not exist"):
        call_command("hub_settings", "effective", "--integration", "999")


def test_effective(capsys):
    integration = IntegrationFactory(change_detection_interval=30)
    call_command("hub_settings", "effective", "--integration", str(integration.pk))
    out = capsys.readouterr().out
    assert "change_detection_interval: 30" in out and "change_detection_source: integration" in out
