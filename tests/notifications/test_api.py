import pytest

from notifications import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_errors_retry_and_ignore(staff_client, user_client):
    error = services.record_error(artifact="c:1", message="boom", integration_id=1)
    listed = staff_client.get("/api/v1/activity/errors/?status=open").json()
    assert [e["id"] for e in listed["results"]] == [error.pk]
    assert user_client.post(f"/api/v1/activity/errors/{error.pk}/ignore/").status_code == 403
    ignored = staff_client.post(f"/api/v1/activity/errors/{error.pk}/ignore/")
    assert ignored.json()["status"] == "ignored"
    retry = staff_client.post(f"/api/v1/activity/errors/{error.pk}/retry/")
    assert retry.status_code == 400
    assert "cannot be retried" in retry.json()["detail"]


def test_issues_listed(staff_client):
    services.raise_issue("x", "Connection unreachable", "details")
    assert staff_client.get("/api/v1/activity/issues/").json()["results"][0]["title"] == "Connection unreachable"


def test_jobs_enqueue_and_validation(staff_client, user_client, anon_client):
    assert anon_client.get("/api/v1/activity/jobs/").status_code == 401
    assert user_client.post("/api/v1/activity/jobs/", {"kind": "purge_activity"}, format="json").status_code == 403
    bad = staff_client.post("/api/v1/activity/jobs/", {"kind": "purge_activity", "params": {"older_than_days": "x"}},
                            format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "older_than_days"
    ok = staff_client.post("/api/v1/activity/jobs/", {"kind": "purge_activity"}, format="json")
    assert ok.status_code == 201
    job = staff_client.get(f"/api/v1/activity/jobs/{ok.json()['id']}/").json()
    assert job["status"] == "succeeded"
