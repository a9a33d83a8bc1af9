"""The two classes of server error the fuzzer found, on every endpoint they can reach.

* ``?limit=`` / ``?offset=`` beyond the 64-bit range on a non-empty list made the database fail
  (500); now every list endpoint answers 400 naming the parameter and its range.
* A connection whose ``options`` or ``secrets`` is not an object (number, text, list, boolean)
  crashed the connector's option cleaning (500) on POST and PATCH; now 400 naming the field.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from notifications import services as activity
from notifications.models import BackgroundJob
from tests.factories import ConnectionFactory, PairFactory
from tests.tasktop_hub.test_roles import _endpoints, _methods

pytestmark = pytest.mark.django_db

HUGE = str(2**64)


@pytest.fixture
def api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    PairFactory()  # a connection, collections, an integration, a route and a pair to list
    activity.record_error(artifact="a:1", message="boom", integration_id=None)
    activity.raise_issue("fuzz:issue", "An issue")
    BackgroundJob.objects.create(kind="purge_activity")
    return client


def _lists() -> list[str]:
    return [path for path, callback in _endpoints()
            if "get" in _methods(callback) and "999999" not in path and getattr(callback, "actions", {}).get(
                "get") == "list"]


def test_every_list_refuses_out_of_range_paging(api):
    lists = _lists()
    assert "/api/v1/pairs/" in lists and "/api/v1/activity/errors/" in lists
    paged = [path for path in lists if isinstance(api.get(path).json(), dict)]  # connector-kinds is not paged
    assert len(paged) >= 8, paged
    seeded = {f"/api/v1/{name}/" for name in ("connections", "collections", "integrations", "routes", "pairs",
                                              "activity/errors", "activity/issues", "activity/jobs")}
    assert seeded <= set(paged), paged
    by_cursor = set()
    for path in paged:
        first = api.get(path).json()
        if "next" in first and "count" not in first:
            by_cursor.add(path)
        if path in seeded:
            assert first["results"], path  # the errors came from non-empty lists
        for query in (f"limit={HUGE}", f"offset={HUGE}", "limit=0", "limit=-1", "offset=-1", "limit=abc",
                      "cursor=abc", "cursor="):
            response = api.get(f"{path}?{query}")
            name = query.split("=")[0]
            if name == "cursor" and path not in by_cursor:
                continue  # an offset list ignores it, as DRF does
            assert response.status_code == 400, (path, query, response.status_code)
            assert response.json()["errors"][0]["field"] == name
        paging = "limit=1000" if path in by_cursor else "limit=1000&offset=0"
        assert api.get(f"{path}?{paging}").status_code == 200
    # The lists that grow without bound page by cursor (tasktop_hub/api/pagination.KeysetPagination).
    assert {f"/api/v1/{name}/" for name in ("pairs", "pending-work", "audit", "activity/errors", "activity/issues",
                                             "activity/jobs")} <= by_cursor


@pytest.mark.parametrize("field", ["options", "secrets"])
@pytest.mark.parametrize("value", [5, "text", [1, 2], True, 1.5])
@pytest.mark.parametrize("kind", ["params_only", "database", "redmine", "jira", "github"])
def test_options_and_secrets_must_be_objects(api, field, value, kind):
    body = {"name": "c", "kind": kind, "url": "http://127.0.0.1:9", field: value}
    created = api.post("/api/v1/connections/", body, format="json")
    assert created.status_code == 400, created.content
    assert created.json()["errors"][0]["field"] == field
    existing = ConnectionFactory(kind=kind)
    patched = api.patch(f"/api/v1/connections/{existing.pk}/", {field: value}, format="json")
    assert patched.status_code == 400, patched.content
    assert patched.json()["errors"][0]["field"] == field
