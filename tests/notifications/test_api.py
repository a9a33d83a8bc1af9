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


# Who may start each job kind; a new kind must be added here (the test below fails otherwise).
STARTED_BY = {"purge_activity": "administrators", "engine.full_scan": "integrators", "engine.initiate_sync": "integrators",
              "integrations.move_routes": "administrators", "integrations.import_pairs": "administrators",
              "storage_transfer": "administrators", "support_report": "administrators"}


@pytest.mark.parametrize("role", ["administrators", "integrators", "viewers"])
def test_each_job_kind_is_started_only_by_its_roles(role):
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from notifications import jobs
    from tasktop_hub import roles
    from tests.factories import UserFactory

    assert set(jobs._registry) == set(STARTED_BY)
    user = UserFactory(username=f"jobs-{role}")
    user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.force_authenticate(user)
    for kind, needed in STARTED_BY.items():
        response = client.post("/api/v1/activity/jobs/", {"kind": kind, "params": {"integration_id": 999999}},
                               format="json")
        allowed = roles.has_role(user, needed)
        # Allowed callers get past the check to the job's own validation (400 here) or a start (201).
        assert (response.status_code == 403) == (not allowed), (kind, role, response.status_code, response.json())


@pytest.mark.django_db
def test_a_jobs_sealed_parameters_are_shown_nowhere(staff, staff_client, user_client):
    """A transfer's sealed password (ciphertext under HUB_HOME/db's key) stays in the row for the
    worker; the jobs API (list and detail, every role) and the admin page show it as sealed."""
    import base64

    from django.test import Client

    from notifications.models import BackgroundJob
    from storage.transfer import TransferJob

    sealed = "hubsealed-CIPHERTEXT-0123456789"
    transfer = BackgroundJob.objects.create(kind=TransferJob.kind, title=TransferJob.title, params={
        "target": {"vendor": "postgresql", "location": "db:5432/hub"}, "vendor": "postgresql",
        "password_encrypted": sealed})
    other = BackgroundJob.objects.create(kind="purge_activity", title="Purge", params={"older_than_days": 9})
    pages = [client.get(url) for client in (staff_client, user_client)
             for url in ("/api/v1/activity/jobs/", f"/api/v1/activity/jobs/{transfer.pk}/")]
    admin = Client()
    admin.force_login(staff)
    pages.append(admin.get(f"/admin/notifications/backgroundjob/{transfer.pk}/change/"))
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert "(sealed)" in body
        for encoded in (sealed, base64.b64encode(sealed.encode()).decode()):
            assert encoded not in body
    listed = {job["id"]: job["params"] for job in staff_client.get("/api/v1/activity/jobs/").json()["results"]}
    assert listed[transfer.pk]["password_encrypted"] == "(sealed)"
    assert listed[transfer.pk]["vendor"] == "postgresql"
    assert listed[other.pk] == {"older_than_days": 9}
    assert BackgroundJob.objects.get(pk=transfer.pk).params["password_encrypted"] == sealed  # the worker's copy
