"""A periodic run that does real work shows on the Activity screen as a finished job; one that
finds nothing to do leaves no row."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from notifications import tasks
from notifications.models import BackgroundJob
from settings_app.models import VaultKey

pytestmark = pytest.mark.django_db


def test_condition_sync_that_raises_an_issue_is_a_job():
    VaultKey.objects.all().delete()  # no master password: the condition holds
    assert tasks.sync_condition_issues()["master_password"]
    run = BackgroundJob.objects.get(kind="periodic.sync_condition_issues")
    assert run.status == "succeeded" and "Raised: Master password needed" in run.log
    tasks.sync_condition_issues()  # nothing changed: no second row
    assert BackgroundJob.objects.filter(kind="periodic.sync_condition_issues").count() == 1


def test_a_quiet_condition_sync_leaves_no_job():
    tasks.sync_condition_issues()
    assert not BackgroundJob.objects.filter(kind__startswith="periodic.").exists()


def test_failing_abandoned_jobs_is_a_job_on_the_activity_screen(settings, staff):
    BackgroundJob.objects.create(kind="purge_activity", title="t", status=BackgroundJob.Status.RUNNING,
                                 started_at=timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 120))
    assert tasks.fail_abandoned_jobs() == 1
    run = BackgroundJob.objects.get(kind="periodic.fail_abandoned_jobs")
    assert run.result == {"failed": 1} and "Marked 1 abandoned job(s) as failed." in run.log
    client = Client()
    client.force_login(staff)
    assert "Fail abandoned jobs" in client.get("/admin/activity/?tab=jobs").content.decode()
