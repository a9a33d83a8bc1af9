"""manage.py sync <integration> run|process-all|initiate-sync|full-scan|status

initiate-sync and full-scan run as background jobs (visible on Activity); this command runs
the job in-process when no worker took it first, and draws its progress either way.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.engine import runner
from integrations.engine import services as engine
from integrations.engine.models import PendingWork, SyncState
from integrations.models import Integration
from notifications import jobs
from notifications.models import BackgroundJob


class Command(BaseCommand):
    help = "Engine actions on one integration (by id or name)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration")
        parser.add_argument("action", choices=["run", "process-all", "initiate-sync", "full-scan", "status"])
        parser.add_argument("--left", nargs="*", default=[], help="initiate-sync: left projects (default: all routed)")
        parser.add_argument("--right", nargs="*", default=[], help="initiate-sync: right projects")

    def handle(self, *args: Any, **opts: Any) -> None:
        key = opts["integration"]
        integration = Integration.objects.filter(pk=int(key)).first() if key.isdigit() else None
        integration = integration or Integration.objects.filter(name=key).first()
        if integration is None:
            raise CommandError(f"No integration '{key}'.")
        action = opts["action"]
        try:
            if action == "run":
                self.stdout.write(str(runner.run_integration(integration.pk)))
            elif action == "process-all":
                engine.process_all(integration, None)
                self.stdout.write("The next change detection treats every routed artifact as changed.")
            elif action == "status":
                state = SyncState.objects.filter(integration=integration).first()
                pending = PendingWork.objects.filter(integration=integration).count()
                self.stdout.write(f"pending={pending} last_run_started={getattr(state, 'last_run_started', None)} "
                                  f"last_result={getattr(state, 'last_result', None)}")
            else:
                projects = {k: v for k, v in (("left", opts["left"]), ("right", opts["right"])) if v} or None
                job = (engine.initiate_sync(integration, None, projects) if action == "initiate-sync"
                       else engine.full_scan(integration, None))
                self._follow(job.pk)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def _follow(self, job_id: int) -> None:
        # The job runs here (unless a worker claimed it first: then we just watch it); a
        # side thread redraws the progress bar from the job's row.
        stop = threading.Event()

        def draw() -> None:
            from django.db import connection

            try:
                while not stop.wait(0.3):
                    self._bar(BackgroundJob.objects.get(pk=job_id))
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
        self._bar(job)
        sys.stdout.write("\n")
        if job.status != BackgroundJob.Status.SUCCEEDED:
            raise CommandError(f"Job {job_id} {job.status}: {job.error}")
        self.stdout.write(f"Job {job_id} succeeded: {job.result}")

    def _bar(self, job: BackgroundJob) -> None:
        total, done = job.progress_total or 0, job.progress_done
        width = 40
        filled = int(width * done / total) if total else 0
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total or '?'} {job.status}", ending="")
        self.stdout.flush()
