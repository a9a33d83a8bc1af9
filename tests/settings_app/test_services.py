import pytest
from django.core.exceptions import ValidationError

from notifications.models import AuditEvent
from settings_app import services
from tests.factories import CollectionFactory, ConnectionFactory, IntegrationFactory

pytestmark = pytest.mark.django_db


def test_defaults_match_the_product():
    hub = services.get_settings()
    assert hub.change_detection_interval == 60
    assert hub.full_scan_interval == 24 * 3600
    assert hub.full_scan_enabled is True
    assert hub.max_concurrency == 10


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("change_detection_interval", 0, "between 10 and 86400 seconds"),
        ("change_detection_interval", -5, "between 10 and 86400 seconds"),
        ("change_detection_interval", 10**9, "got 1000000000"),
        ("full_scan_interval", 60, "between 300 and 2592000 seconds"),
        ("max_concurrency", 0, "between 1 and 100 artifacts"),
        ("max_concurrency", 5000, "between 1 and 100 artifacts"),
    ],
)
def test_out_of_range_values_are_refused_with_the_allowed_range(staff, field, value, fragment):
    with pytest.raises(ValidationError) as exc:
        services.update_settings(staff, **{field: value})
    assert fragment in " ".join(exc.value.message_dict[field])
    assert getattr(services.get_settings(), field) != value


def test_a_refused_change_saves_nothing_of_the_batch(staff):
    with pytest.raises(ValidationError):
        services.update_settings(staff, instance_label="Prod", max_concurrency=0)
    assert services.get_settings().instance_label == ""


def test_unknown_setting_is_refused(staff):
    with pytest.raises(ValidationError) as exc:
        services.update_settings(staff, polling=5)
    assert "Unknown setting" in exc.value.message_dict["polling"][0]


def test_update_is_audited(staff):
    services.update_settings(staff, change_detection_interval=120)
    event = AuditEvent.objects.get(action="settings.update")
    assert event.actor == staff
    assert event.details["changes"]["change_detection_interval"] == [60, 120]


def test_effective_settings_precedence():
    integration = IntegrationFactory()
    eff = services.effective_settings(integration)
    assert (eff.change_detection_interval, eff.change_detection_source) == (60, "global")

    left = integration.left_collection.connection
    left.change_detection_interval = 300
    left.save()
    integration.refresh_from_db()
    eff = services.effective_settings(integration)
    assert (eff.change_detection_interval, eff.change_detection_source) == (300, "connection")

    integration.change_detection_interval = 30
    integration.save()
    eff = services.effective_settings(integration)
    assert (eff.change_detection_interval, eff.change_detection_source) == (30, "integration")


def test_two_connection_overrides_take_the_shorter_interval():
    left = CollectionFactory(connection=ConnectionFactory(change_detection_interval=600))
    right = CollectionFactory(connection=ConnectionFactory(change_detection_interval=120))
    eff = services.effective_settings(IntegrationFactory(left_collection=left, right_collection=right))
    assert eff.change_detection_interval == 120


def test_full_scan_can_be_disabled_globally_and_enabled_per_integration(staff):
    services.update_settings(staff, full_scan_enabled=False)
    integration = IntegrationFactory()
    assert services.effective_settings(integration).full_scan_interval is None
    integration.full_scan_enabled = True
    integration.full_scan_interval = 3600
    integration.save()
    eff = services.effective_settings(integration)
    assert (eff.full_scan_interval, eff.full_scan_source) == (3600, "integration")


def test_connection_can_disable_full_scans():
    integration = IntegrationFactory()
    conn = integration.left_collection.connection
    conn.full_scan_enabled = False
    conn.save()
    integration.refresh_from_db()
    assert services.effective_settings(integration).full_scan_interval is None


def test_concurrency_comes_from_the_global_setting(staff):
    services.update_settings(staff, max_concurrency=4)
    assert services.effective_settings(IntegrationFactory()).max_concurrency == 4
