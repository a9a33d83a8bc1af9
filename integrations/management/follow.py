"""Run a background job from a command and draw its progress (shared by the commands)."""

from __future__ import annotations

import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from notifications import jobs
from notifications.models import BackgroundJob


def follow(cmd: BaseCommand, job_id: int) -> BackgroundJob:
    """The job runs here (unless a worker claimed it first: then we just watch it); a side
    thread redraws the progress bar from the job's row. Raises CommandError unless it succeeded."""
    stop = threading.Event()

    def draw() -> None:
        from django.db import connection

        try:
            while not stop.wait(0.3):
                _bar(cmd, BackgroundJob.objects.get(pk=job_id))
        finally:
            connection.close()

    painter = threading.Thread(target=draw, daemon=True)
    painter.start()
    jobs.execute(job_id)
    while BackgroundJob.objects.get(pk=job_id).status not in BackgroundJob.FINISHED:
        time.sleep(0.3)  # a worker has it
    stop.set()
    painter.join(timeout=5)
    job = BackgroundJob.objects.get(pk=job_id)
    _bar(cmd, job)
    sys.stdout.write("\n")
    if job.status != BackgroundJob.Status.SUCCEEDED:
        raise CommandError(f"Job {job_id} {job.status}: {job.error}")
    cmd.stdout.write(f"Job {job_id} succeeded: {job.result}")
    return job


def _bar(cmd: BaseCommand, job: BackgroundJob) -> None:
    total, done = job.progress_total or 0, job.progress_done
    width = 40
    filled = int(width * done / total) if total else 0
    cmd.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total or '?'} {job.status}", ending="")
    cmd.stdout.flush()
