import pytest

pytestmark = pytest.mark.django_db


def test_one_api_root_lists_every_apps_collections(staff_client):
    body = staff_client.get("/api/v1/").json()
    for name in ("connections", "integrations", "pairs", "activity/errors", "activity/jobs"):
        assert body[name].endswith(f"/api/v1/{name}/"), name
