"""The admin refuses the same bad input as the API, with the same messages."""

import pytest

from integrations.models import Route
from notifications.models import AuditEvent
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def test_route_to_a_project_outside_the_collection_is_refused(client, staff):
    client.force_login(staff)
    integration = IntegrationFactory()
    response = client.post("/admin/integrations/route/add/", {
        "integration": integration.pk, "left_project": "GAMMA", "right_project": "ALPHA",
    })
    assert response.status_code == 200
    assert "Project &#x27;GAMMA&#x27; is not in the left collection" in response.content.decode()
    assert not Route.objects.exists()


def test_admin_save_goes_through_the_service(client, staff):
    client.force_login(staff)
    integration = IntegrationFactory()
    response = client.post("/admin/integrations/route/add/", {
        "integration": integration.pk, "left_project": "ALPHA", "right_project": "BETA",
    })
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="route.create", actor=staff).exists()


def test_settings_admin_refuses_out_of_range(client, staff):
    client.force_login(staff)
    client.get("/admin/settings/")
    response = client.post("/admin/settings_app/hubsettings/1/change/", {
        "instance_label": "", "change_detection_interval": 5, "full_scan_enabled": "on",
        "full_scan_interval": 86400, "max_concurrency": 10,
    })
    assert response.status_code == 200
    assert "between 10 and 86400 seconds" in response.content.decode()
