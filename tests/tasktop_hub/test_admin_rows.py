"""The fast changelist rows (tasktop_hub/admin_rows.py) are Django's rows, byte for byte."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.test import Client
from django.utils import timezone

from integrations.gateway.models import GatewayDelivery
from notifications import services as activity
from notifications.models import BackgroundJob
from tasktop_hub import admin_rows
from tests.factories import CollectionFactory, PairFactory, UserFactory

pytestmark = pytest.mark.django_db

LISTS = [
    "/admin/integrations/artifactpair/",
    "/admin/integrations/artifactpair/?integration__id__exact={integration}",  # links keep the filter
    "/admin/notifications/activityerror/",
    "/admin/notifications/activityerror/?status__exact=ignored&q=x",
    "/admin/notifications/backgroundjob/",
    "/admin/notifications/auditevent/",
    "/admin/notifications/auditevent/?action=test.%3Cb%3E",
    "/admin/integrations/gatewaydelivery/",
]


@pytest.fixture
def rows_of_every_shape(staff):
    """Rows with the values that format differently: HTML in text, blank and null values, choices,
    a foreign key set and unset, times, numbers past a thousand."""
    pair = PairFactory(left_id='<b>"L&1"</b>', right_id=" ")
    PairFactory(route=pair.route, left_id="L2", right_id="R2")
    error = activity.record_error(artifact="x:<1>", message="a & b <i>", integration_id=pair.integration_id,
                                  integration_name="bugs & <fixes>")
    activity.ignore_error(error.pk, staff)
    activity.record_error(artifact="x:2", message="", integration_id=None)
    now = timezone.now()
    BackgroundJob.objects.create(kind="purge_activity", title="<t>", progress_total=12345, progress_done=1,
                                 started_at=now, finished_at=now + timedelta(hours=3))
    BackgroundJob.objects.create(kind="purge_activity", title="", status=BackgroundJob.Status.FAILED)
    activity.record_audit(UserFactory(username="ann<&>"), "test.<b>", "target <x>")
    activity.record_audit(None, "test.system", "")
    GatewayDelivery.objects.create(collection=CollectionFactory(name="gw & co"), idempotency_key=None, payload={},
                                   received_at=now, artifact_id="")
    return pair.integration_id


@pytest.mark.parametrize("path", LISTS)
def test_the_fast_rows_are_djangos_rows(staff, rows_of_every_shape, path):
    client = Client()
    client.force_login(staff)
    response = client.get(path.format(integration=rows_of_every_shape))
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_list, "the list shows rows"
    fast = admin_rows.rows(cl)
    assert fast is not None
    django_rows = ["".join(items) for items in admin_list.results(cl)]
    assert fast == django_rows
    page = response.content.decode()
    assert all(f"<tr>{row}</tr>" in page for row in fast)  # the page is built from them


def test_a_column_it_does_not_cover_leaves_the_rows_to_django(staff, rows_of_every_shape, monkeypatch):
    model_admin = admin.site._registry[BackgroundJob]
    monkeypatch.setattr(type(model_admin), "list_display", ["title", "percent"])  # a property
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/notifications/backgroundjob/")
    cl = response.context["cl"]
    assert admin_rows.rows(cl) is None
    assert "12345" not in response.content.decode() and "0.0" in response.content.decode()  # 1 of 12,345: 0.0 %
