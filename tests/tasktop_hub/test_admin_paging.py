"""Admin lists of unbounded tables never count the whole table (tasktop_hub/admin_paging.py)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from notifications.models import AuditEvent
from notifications.services import record_audit
from tasktop_hub import admin_paging
from tests.factories import PairFactory, RouteFactory

pytestmark = pytest.mark.django_db

LISTS = {
    "/admin/integrations/artifactpair/": "integrations_artifactpair",
    "/admin/notifications/auditevent/": "notifications_auditevent",
    "/admin/notifications/activityerror/": "notifications_activityerror",
    "/admin/notifications/backgroundjob/": "notifications_backgroundjob",
}


def _unbounded_counts(queries: list[dict], table: str) -> list[str]:
    """COUNT queries over the table with no LIMIT inside: they read every row."""
    return [q["sql"] for q in queries
            if re.search(r"COUNT\(", q["sql"], re.I) and table in q["sql"] and "LIMIT" not in q["sql"].upper()]


@pytest.mark.parametrize("path,table", LISTS.items())
def test_list_pages_count_at_most_the_cap(staff, path, table, monkeypatch):
    client = Client()
    client.force_login(staff)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
        assert client.get(path + "?p=1&q=x").status_code == 200
    assert _unbounded_counts(ctx.captured_queries, table) == []


def test_the_count_stops_at_the_cap_and_pages_still_work(staff, monkeypatch):
    monkeypatch.setattr(admin_paging, "COUNT_CAP", 30)
    route = RouteFactory()
    PairFactory.create_batch(45, route=route)
    for n in range(5):
        record_audit(None, "test.event", f"t{n}")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/integrations/artifactpair/").content.decode()
    assert "30 artifact pairs" in page  # capped, not 45
    assert client.get("/admin/integrations/artifactpair/?p=1").status_code == 200
    assert "5 audit events" in client.get("/admin/notifications/auditevent/").content.decode()
    assert AuditEvent.objects.count() >= 5


def test_filters_read_their_choices_without_a_distinct_over_every_row(staff):
    from notifications.models import ActivityError, BackgroundJob
    from notifications.services import record_error
    from tests.factories import IntegrationFactory

    for action in ("b.action", "a.action", "b.action"):
        record_audit(None, action, "t")
    BackgroundJob.objects.create(kind="purge_activity")
    assert admin_paging.distinct_values(AuditEvent, "action") == ["a.action", "b.action"]
    assert admin_paging.distinct_values(AuditEvent, "action", limit=1) == ["a.action"]
    client = Client()
    client.force_login(staff)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/admin/notifications/auditevent/").content.decode()
        jobs_page = client.get("/admin/notifications/backgroundjob/").content.decode()
    assert "?action=a.action" in page and "?kind=purge_activity" in jobs_page
    assert not [q["sql"] for q in ctx.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert client.get("/admin/notifications/auditevent/?action=a.action").context["cl"].result_count == 1

    integration = IntegrationFactory(name="bugs")
    record_error(artifact="x:1", message="m", integration_id=integration.pk, integration_name="bugs")
    record_error(artifact="x:2", message="m", integration_id=None)
    errors = client.get(f"/admin/notifications/activityerror/?integration={integration.pk}")
    assert [e.artifact for e in errors.context["cl"].result_list] == ["x:1"]
    assert f"?integration={integration.pk}" in errors.content.decode()
    assert ActivityError.objects.count() == 2


def test_the_pairs_search_matches_a_whole_id_on_either_side(staff):
    """An exact id, left or right, in any integration; not a part of one, nor another case
    (an index lookup instead of a scan of every pair: integrations/admin.py)."""
    first, second = RouteFactory(), RouteFactory()
    PairFactory(route=first, left_id="PROJ-12", right_id="10042")
    PairFactory(route=first, left_id="PROJ-123", right_id="10043")
    PairFactory(route=second, left_id="X-1", right_id="PROJ-12")
    client = Client()
    client.force_login(staff)

    def found(query: str) -> list[tuple[str, str]]:
        response = client.get("/admin/integrations/artifactpair/", {"q": query})
        assert response.status_code == 200
        return sorted((p.left_id, p.right_id) for p in response.context["cl"].result_list)

    assert found("PROJ-12") == [("PROJ-12", "10042"), ("X-1", "PROJ-12")]  # left in one, right in the other
    assert found("  10043 ") == [("PROJ-123", "10043")]
    assert found("PROJ") == [] and found("proj-12") == [] and found("PROJ-12 10042") == []
    assert len(found("")) == 3
    narrowed = client.get("/admin/integrations/artifactpair/",
                          {"q": "PROJ-12", "integration__id__exact": second.integration_id})
    assert [p.left_id for p in narrowed.context["cl"].result_list] == ["X-1"]
    assert "exact id on either side" in client.get("/admin/integrations/artifactpair/").content.decode()
    with CaptureQueriesContext(connection) as ctx:
        client.get("/admin/integrations/artifactpair/", {"q": "PROJ-12"})
    assert not [q["sql"] for q in ctx.captured_queries if "LIKE" in q["sql"].upper()]
