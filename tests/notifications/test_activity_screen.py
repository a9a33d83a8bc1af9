"""The Activity screen (/admin/activity/): filters, cursor paging, bulk retry/ignore with role
checks, the jobs' progress JSON, and cancel — of a queued job and of a real job while it runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from notifications import jobs, services
from notifications.jobs_builtin import PurgeActivityJob
from notifications.models import ActivityError, AuditEvent, BackgroundJob
from tasktop_hub import roles
from tests.factories import IntegrationFactory, UserFactory

pytestmark = pytest.mark.django_db

SCREEN = "/admin/activity/"


def _client(role: str) -> Client:
    user = UserFactory(username=f"activity-{role}", is_staff=True, password=None)  # no hashing: fast
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def _rows(response, attribute: str = "data-error") -> list[int]:
    html = response.content.decode()
    return [int(part.split('"', 1)[0]) for part in html.split(f'{attribute}="')[1:]]


def test_filters_and_paging_without_repeats():
    alpha, beta = IntegrationFactory(name="alpha"), IntegrationFactory(name="beta")
    ActivityError.objects.bulk_create([ActivityError(artifact=f"a:{k}", message="boom", integration_id=alpha.pk,
                                                     integration_name="alpha") for k in range(55)])
    in_beta = services.record_error(artifact="b:1", message="boom", integration_id=beta.pk, integration_name="beta")
    old = services.record_error(artifact="b:2", message="boom", integration_id=beta.pk, integration_name="beta")
    ActivityError.objects.filter(pk=old.pk).update(first_seen=timezone.now() - timedelta(days=10))
    services.ignore_error(in_beta.pk)
    viewer = _client(roles.VIEWERS)

    first = viewer.get(SCREEN)
    assert first.status_code == 200
    page1 = _rows(first)
    assert len(page1) == 50 and in_beta.pk not in page1  # default: open errors, newest first
    assert b'option value="%d"' % beta.pk in first.content  # integration choices come from the integrations app
    page2 = _rows(viewer.get(SCREEN + first.context["next_url"]))
    assert not set(page1) & set(page2)
    assert len(page1) + len(page2) == 56  # 55 in alpha + the old one in beta

    assert _rows(viewer.get(f"{SCREEN}?tab=errors&integration={beta.pk}&status=any")) == [in_beta.pk, old.pk]
    assert _rows(viewer.get(f"{SCREEN}?tab=errors&integration={beta.pk}&status=ignored")) == [in_beta.pk]
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    until = (timezone.now() - timedelta(days=5)).date().isoformat()
    assert _rows(viewer.get(f"{SCREEN}?integration={beta.pk}&status=any&since={since}")) == [in_beta.pk]
    assert _rows(viewer.get(f"{SCREEN}?integration={beta.pk}&status=any&until={until}")) == [old.pk]
    bad = viewer.get(f"{SCREEN}?status=weird&since=yesterday")
    assert "not one of this list" in bad.content.decode() and "is not a date" in bad.content.decode()


def test_bulk_retry_and_ignore_need_a_role_that_may_change_errors():
    errors = [services.record_error(artifact=f"c:{k}", message="boom", integration_id=1) for k in range(3)]
    ids = [str(e.pk) for e in errors]
    viewer = _client(roles.VIEWERS)
    assert b'name="ids"' not in viewer.get(SCREEN).content  # no checkboxes, no buttons
    assert viewer.post("/admin/activity/errors/bulk/", {"action": "ignore", "ids": ids}).status_code == 403
    assert not ActivityError.objects.filter(status=ActivityError.Status.IGNORED).exists()

    integrator = _client(roles.INTEGRATORS)
    back = f"{SCREEN}?tab=errors&status=open"
    response = integrator.post("/admin/activity/errors/bulk/", {"action": "ignore", "ids": ids[:2], "next": back},
                               follow=True)
    assert response.redirect_chain[-1][0] == back
    assert set(ActivityError.objects.filter(status=ActivityError.Status.IGNORED).values_list("pk", flat=True)) == \
        {errors[0].pk, errors[1].pk}
    assert AuditEvent.objects.filter(action="activity.error.ignore").count() == 2
    assert "Ignored 2 error(s)." in response.content.decode()
    # 'processing' errors have no retry handler in this test hub: each refusal is named, none is lost.
    refused = integrator.post("/admin/activity/errors/bulk/", {"action": "retry", "ids": ids}, follow=True)
    assert refused.content.decode().count("cannot be retried") == 3
    offsite = integrator.post("/admin/activity/errors/bulk/", {"action": "unignore", "ids": ids[:1],
                                                               "next": "https://elsewhere.example/"})
    assert offsite["Location"] == f"{SCREEN}?tab=errors"
    assert ActivityError.objects.get(pk=errors[0].pk).status == ActivityError.Status.OPEN


def test_progress_json_and_cancel_of_a_queued_job(staff):
    record = BackgroundJob.objects.create(kind="purge_activity", title="Purge old Activity", progress_done=3,
                                          progress_total=12)
    viewer, admin = _client(roles.VIEWERS), _client(roles.ADMINISTRATORS)
    data = viewer.get(f"/admin/activity/jobs/progress/?ids={record.pk}").json()["jobs"][0]
    assert (data["status"], data["done"], data["total"], data["percent"], data["may_cancel"]) == \
        ("queued", 3, 12, 25.0, False)
    assert viewer.get("/admin/activity/jobs/progress/?ids=1,x").status_code == 400
    assert b"hub-activity-progress" not in viewer.get(f"{SCREEN}?tab=jobs").content  # the URL, not the name
    assert b"/admin/activity/jobs/progress/" in viewer.get(f"{SCREEN}?tab=jobs").content

    assert viewer.post(f"/admin/activity/jobs/{record.pk}/cancel/").status_code == 403  # purge: administrators
    assert b"Cancel</button>" in admin.get(f"{SCREEN}?tab=jobs").content
    admin.post(f"/admin/activity/jobs/{record.pk}/cancel/")
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.CANCELLED and record.finished_at
    assert AuditEvent.objects.filter(action="job.cancel", target=f"job:{record.pk}").exists()
    jobs.execute(record.pk)  # the worker picks the task up later: nothing runs
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.CANCELLED and not record.started_at


def test_cancel_stops_a_running_purge_between_chunks(staff, monkeypatch):
    """The real purge job; someone cancels once its first chunk is committed."""
    old = timezone.now() - timedelta(days=40)
    for k in range(25):
        error = services.record_error(artifact=f"c:{k}", message="m", integration_id=1)
        services.resolve_errors(artifact=f"c:{k}", integration_id=1)
        ActivityError.objects.filter(pk=error.pk).update(last_seen=old)
    monkeypatch.setattr(PurgeActivityJob, "batch_size", 10)
    original = PurgeActivityJob.progress

    def progress(self, done, total=None, *, force=False):
        if done == 10:  # as if an administrator clicked Cancel now
            jobs.cancel(self.record.pk, staff)
            with pytest.raises(Exception, match="already asked"):
                jobs.cancel(self.record.pk, staff)
        return original(self, done, total, force=force)

    monkeypatch.setattr(PurgeActivityJob, "progress", progress)
    record = jobs.enqueue("purge_activity", {"older_than_days": 30}, staff)
    jobs.execute(record.pk)  # what the worker's task does
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.CANCELLED, record.log
    assert record.cancel_requested and record.finished_at
    assert "Cancelled on request" in record.log
    assert ActivityError.objects.count() == 15  # one chunk of 10 deleted, the rest kept
    assert record.progress_done == 10


def test_the_progress_json_names_the_newest_job_even_with_no_job_asked(staff):
    viewer = _client(roles.VIEWERS)
    assert viewer.get("/admin/activity/jobs/progress/?ids=").json() == {"jobs": [], "newest": None}
    first = BackgroundJob.objects.create(kind="purge_activity", title="Purge old Activity")
    page = viewer.get(f"{SCREEN}?tab=jobs").content.decode()
    assert f'data-newest="{first.pk}"' in page
    second = BackgroundJob.objects.create(kind="purge_activity", title="Purge again")
    assert viewer.get(f"/admin/activity/jobs/progress/?ids={first.pk}").json()["newest"] == second.pk
