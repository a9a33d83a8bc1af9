"""django-q2 entry points of the notifications app (thin: the work is in jobs.py and services.py)."""

from notifications import jobs, services


def run_background_job(job_id: int) -> None:
    jobs.execute(job_id)


def fail_abandoned_jobs() -> int:
    return jobs.fail_abandoned()


def sync_condition_issues() -> dict[str, str | None]:
    return services.sync_condition_issues()
