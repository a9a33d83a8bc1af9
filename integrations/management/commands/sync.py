"""manage.py sync <integration> run|process-all|initiate-sync|full-scan|status

initiate-sync and full-scan run as background jobs (visible on Activity); this command runs
the job in-process when no worker took it first, and draws its progress either way.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.engine import runner
from integrations.engine import services as engine
from integrations.engine.models import PendingWork, SyncState
from integrations.management.follow import follow
from integrations.models import Integration


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
        follow(self, job_id)
