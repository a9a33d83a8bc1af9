from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import jobs, services
from notifications.models import ActivityIssue, BackgroundJob

pytestmark = pytest.mark.django_db(transaction=True)


class FailingJob(jobs.Job):
    kind = "test_failing"
    title = "Fails halfway"

    def run(self, **params):
        self.progress(1, 2, force=True)
        raise RuntimeError("remote said no")


def test_purge_job_runs_with_progress_and_log(staff):
    old = timezone.now() - timedelta(days=40)
    for n in range(3):
        issue = services.raise_issue(f"k{n}", "t")
        services.resolve_issue(f"k{n}")
        ActivityIssue.objects.filter(pk=issue.pk).update(last_seen=old)
    services.raise_issue("still-open", "t")
    record = jobs.enqueue("purge_activity", {"older_than_days": 30}, staff)
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.SUCCEEDED, record.error
    assert (record.progress_done, record.progress_total) == (3, 3)
    assert record.result["issues"] == 3
    assert "Deleted 3 issues" in record.log
    assert ActivityIssue.objects.count() == 1


def test_bad_parameters_are_refused_before_queueing():
    with pytest.raises(ValidationError) as exc:
        jobs.enqueue("purge_activity", {"older_than_days": 0})
    assert "between 1 and 3650" in str(exc.value)
    with pytest.raises(ValidationError):
        jobs.enqueue("nope")
    assert not BackgroundJob.objects.exists()


def test_a_failing_job_records_its_message():
    jobs.register(FailingJob)
    record = jobs.enqueue("test_failing")
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.FAILED
    assert "remote said no" in record.error
    assert record.progress_done == 1


def test_a_redelivered_task_does_not_run_the_job_twice():
    record = jobs.enqueue("purge_activity", {})
    record.refresh_from_db()
    finished = record.finished_at
    jobs.execute(record.pk)
    record.refresh_from_db()
    assert record.finished_at == finished


def test_a_job_abandoned_by_a_killed_worker_is_marked_failed(settings):
    record = BackgroundJob.objects.create(kind="purge_activity", title="t", status=BackgroundJob.Status.RUNNING,
                                          started_at=timezone.now())
    later = timezone.now() + timedelta(seconds=settings.Q_CLUSTER["timeout"] + 120)
    assert jobs.fail_abandoned(now=timezone.now()) == 0
    assert jobs.fail_abandoned(now=later) == 1
    record.refresh_from_db()
    assert record.status == BackgroundJob.Status.FAILED
    assert "worker stopped" in record.error


def test_housekeeping_schedules_exist_once():
    from django_q.models import Schedule

    from tasktop_hub.periodic import sync_schedules

    sync_schedules()
    sync_schedules()
    assert Schedule.objects.filter(name="notifications: fail abandoned jobs").count() == 1
