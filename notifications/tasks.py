"""django-q2 entry points of the notifications app (thin: the work is in jobs.py)."""

from notifications import jobs


def run_background_job(job_id: int) -> None:
    jobs.execute(job_id)


def fail_abandoned_jobs() -> int:
    return jobs.fail_abandoned()
