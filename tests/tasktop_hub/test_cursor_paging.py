"""Cursor paging of the lists that grow without bound (tasktop_hub/api/pagination.KeysetPagination),
their declared filters (tasktop_hub/api/filters.py) and the indexes behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ArtifactPair, PendingWork
from notifications import services as activity
from notifications.models import ActivityError, AuditEvent
from tasktop_hub import keyset
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


def _walk(api: APIClient, url: str, between=None) -> list[int]:
    seen: list[int] = []
    while url:
        page = api.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        assert "count" not in body  # no count query: that is what made deep pages slow
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        if between:
            between()
    return seen


def test_pairs_walk_is_complete_and_stable_under_inserts(api):
    first = PairFactory()
    pairs = [first] + [PairFactory(integration=first.integration, route=first.route) for _ in range(9)]
    inserted: list[int] = []

    def insert():  # a row arriving while a client pages through the list
        inserted.append(PairFactory(integration=first.integration, route=first.route).pk)

    seen = _walk(api, "/api/v1/pairs/?limit=3", insert)
    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert [p.pk for p in pairs] == seen[:10]  # oldest first by id, none skipped
    assert set(seen) <= {p.pk for p in pairs} | set(inserted)  # new rows come after (ids grow)


def test_newest_first_lists_neither_repeat_nor_skip_when_rows_arrive(api):
    base = timezone.now() - timedelta(hours=1)
    for k in range(7):
        error = activity.record_error(artifact=f"c:{k}", message="boom", integration_id=1)
        # Equal first_seen on pairs of rows: the id breaks the tie, nothing is lost at a page edge.
        ActivityError.objects.filter(pk=error.pk).update(first_seen=base + timedelta(seconds=k // 2))
    expected = list(ActivityError.objects.order_by("-first_seen", "-id").values_list("pk", flat=True))
    arrivals = iter(range(100, 200))

    def arrive():  # newer errors arrive at the top, before the pages already read
        activity.record_error(artifact=f"c:{next(arrivals)}", message="new", integration_id=1)

    seen = _walk(api, "/api/v1/activity/errors/?limit=2", arrive)
    assert seen == expected


def test_previous_link_returns_the_same_page(api):
    for k in range(5):
        activity.record_audit(None, "test.action", f"t:{k}")
    page1 = api.get("/api/v1/audit/?limit=2&action=test.action").json()
    assert page1["previous"] is None
    page2 = api.get(page1["next"]).json()
    back = api.get(page2["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in page1["results"]]
    assert back["previous"] is None and back["next"]
    page3 = api.get(page2["next"]).json()
    assert len(page3["results"]) == 1 and page3["next"] is None


def test_cursor_and_offset_errors_are_precise(api):
    PairFactory()
    for query, field in (("cursor=bm90IGEgY3Vyc29y", "cursor"), ("cursor=e30", "cursor"), ("offset=100", "offset"),
                         ("since=yesterday", None), ("left_id=L1", "left_id"), ("integration=x", "integration")):
        path = "/api/v1/activity/errors/" if query.startswith("since") else "/api/v1/pairs/"
        response = api.get(f"{path}?{query}")
        assert response.status_code == 400, (query, response.content)
        assert response.json()["errors"][0]["field"] == (field or "since")
    tampered = "eyJwIjogWyJub3QgYSB0aW1lIiwgMV0sICJiIjogZmFsc2V9"  # {"p": ["not a time", 1], "b": false}
    assert api.get(f"/api/v1/activity/errors/?cursor={tampered}").status_code == 400


def test_filters(api):
    pair = PairFactory()
    other = PairFactory()
    listed = api.get(f"/api/v1/pairs/?integration={pair.integration_id}").json()["results"]
    assert [r["id"] for r in listed] == [pair.pk]
    by_side = api.get(f"/api/v1/pairs/?integration={other.integration_id}&right_id={other.right_id}").json()
    assert [r["id"] for r in by_side["results"]] == [other.pk]
    assert api.get(f"/api/v1/pairs/?route={other.route_id}").json()["results"][0]["id"] == other.pk

    old = activity.record_error(artifact="c:old", message="m", integration_id=7)
    ActivityError.objects.filter(pk=old.pk).update(first_seen=timezone.now() - timedelta(days=3))
    new = activity.record_error(artifact="c:new", message="m", integration_id=7)
    activity.record_error(artifact="c:elsewhere", message="m", integration_id=8)
    activity.ignore_error(new.pk)
    since = (timezone.now() - timedelta(days=1)).isoformat()

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/activity/errors/?{query}", format="json")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert set(ids("integration=7")) == {old.pk, new.pk}
    assert ids("integration=7&status=ignored") == [new.pk]
    assert ids(f"integration=7&since={since.replace('+', '%2B')}") == [new.pk]
    assert ids(f"integration=7&until={since.replace('+', '%2B')}") == [old.pk]

    PendingWork.objects.create(integration=pair.integration, side="left", artifact_id="9", detected_at=timezone.now(),
                               status=PendingWork.Status.BLOCKED)
    pending = api.get(f"/api/v1/pending-work/?integration={pair.integration_id}&status=blocked").json()["results"]
    assert [(r["artifact_id"], r["status"]) for r in pending] == [("9", "blocked")]
    assert api.get("/api/v1/pending-work/?status=stuck").status_code == 400

    activity.record_audit(None, "audit.filter.test", "x")
    audit = api.get("/api/v1/audit/?action=audit.filter.test").json()["results"]
    assert [r["target"] for r in audit] == ["x"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="EXPLAIN QUERY PLAN is SQLite's")
@pytest.mark.parametrize(("model", "filters", "ordering", "index"), [
    (ArtifactPair, {"integration_id": 1}, ("id",), "pair_integration_list"),
    (ArtifactPair, {"route_id": 1}, ("id",), "pair_route_list"),
    (PendingWork, {"integration_id": 1, "status": "ready"}, ("id",), "pending_list_integ_status"),
    (PendingWork, {"status": "ready"}, ("id",), "pending_list_status"),
    (ActivityError, {}, ("-first_seen", "-id"), "act_error_list"),
    (ActivityError, {"status": "open"}, ("-first_seen", "-id"), "act_error_status"),
    (ActivityError, {"integration_id": 1}, ("-first_seen", "-id"), "act_error_integration"),
    (ActivityError, {"integration_id": 1, "status": "open"}, ("-first_seen", "-id"), "act_error_integ_status"),
    (AuditEvent, {"action": "x"}, ("-at", "-id"), "audit_action"),
    (AuditEvent, {}, ("-at", "-id"), "audit_list"),
])
def test_filtered_pages_are_index_ranges_without_a_sort(model, filters, ordering, index):
    """The plan of a filtered page (and of a later page, past a cursor) reads the list's index in
    order: no full scan, no temporary sort of the matching rows."""
    queryset = model.objects.filter(**filters).order_by(*ordering)
    position = [timezone.now() if "first_seen" in name or name.lstrip("-") == "at" else 5 for name in ordering]
    for page in (queryset[:101], queryset.filter(keyset.beyond(ordering, position))[:101]):
        sql, params = page.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan, plan
