"""django-q2 entry points of the notifications app (thin: the work is in jobs.py and services.py).

The periodic ones (declared in notifications/apps.py) leave a finished job on the Activity
screen when a run did real work.
"""

from django.utils import timezone

from notifications import jobs, services


def run_background_job(job_id: int) -> None:
    jobs.execute(job_id)


def fail_abandoned_jobs() -> int:
    started = timezone.now()
    count = jobs.fail_abandoned()
    if count:
        jobs.record_periodic_run("periodic.fail_abandoned_jobs", "Fail abandoned jobs", started,
                                 [f"Marked {count} abandoned job(s) as failed."], {"failed": count})
    return count


def sync_condition_issues() -> dict[str, str | None]:
    started = timezone.now()
    reasons, changes = services.sync_condition_issues()
    if changes:
        jobs.record_periodic_run("periodic.sync_condition_issues", "Check what stops processing", started, changes,
                                 {"changes": changes})
    return reasons
