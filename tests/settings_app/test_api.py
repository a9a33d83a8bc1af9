import pytest

pytestmark = pytest.mark.django_db
URL = "/api/v1/settings/"


def test_anonymous_is_refused(anon_client):
    assert anon_client.get(URL).status_code in (401, 403)


def test_non_staff_reads_but_cannot_change(user_client):
    assert user_client.get(URL).json()["change_detection_interval"] == 60
    response = user_client.patch(URL, {"max_concurrency": 5}, format="json")
    assert response.status_code == 403
    assert "administrators" in response.json()["detail"]


def test_staff_changes_settings(staff_client):
    response = staff_client.patch(URL, {"max_concurrency": 5, "instance_label": "Prod"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["max_concurrency"] == 5
    assert staff_client.get(URL).json()["instance_label"] == "Prod"


@pytest.mark.parametrize(
    "body,field,fragment",
    [
        ({"change_detection_interval": 0}, "change_detection_interval", "between 10 and 86400"),
        ({"change_detection_interval": "soon"}, "change_detection_interval", "valid integer"),
        ({"full_scan_interval": -1}, "full_scan_interval", "between 300"),
        ({"max_concurrency": 1000}, "max_concurrency", "between 1 and 100"),
        ({"polling": 5}, "polling", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(staff_client, body, field, fragment):
    response = staff_client.patch(URL, body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["field"] == field and fragment in e["message"] for e in errors), errors
    assert len([e for e in errors if e["field"] == field]) == 1, errors  # said once, not once per validator
    assert staff_client.get(URL).json()["max_concurrency"] == 10
