import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid_and_warning_free(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/settings/", "/api/v1/connections/", "/api/v1/activity/jobs/", "/api/v1/routes/"):
        assert path in text


def test_swagger_ui_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
