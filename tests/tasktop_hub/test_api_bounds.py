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
    for path in paged:
        if path in seeded:
            assert api.get(path).json()["count"] >= 1, path  # the errors came from non-empty lists
        for query in (f"limit={HUGE}", f"offset={HUGE}", "limit=0", "limit=-1", "offset=-1", "limit=abc"):
            response = api.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query, response.status_code)
            name = query.split("=")[0]
            assert response.json()["errors"][0]["field"] == name
        assert api.get(f"{path}?limit=1000&offset=0").status_code == 200


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
