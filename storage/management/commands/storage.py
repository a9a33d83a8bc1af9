"""``manage.py storage status|drivers|test|transfer|abort|cleanup|relocate|override``.

The password is read from ``--password-file``, ``HUB_STORAGE_PASSWORD`` or a prompt — never
from the command line, where other users could see it.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from storage import services
from storage.vendors import VENDORS, all_drivers

CONFIRM_TEXT = f"{services.CONFIRMATION} (confirmed on the command line with --yes)"


class Command(BaseCommand):
    help = "The hub's operational database: status, drivers, test, transfer, abort, cleanup, relocate, override."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "drivers", "test", "transfer", "abort", "cleanup", "relocate",
                                               "override"])
        parser.add_argument("--vendor", choices=list(VENDORS))
        parser.add_argument("--location", help="host[:port]/database (see `storage drivers` for each format)")
        parser.add_argument("--username")
        parser.add_argument("--password-file", type=Path)
        parser.add_argument("--tls", default="", help="disable, prefer, require, verify-ca or verify-full (Oracle: "
                                                      "disable or require); default: prefer, SQL Server require, "
                                                      "Oracle disable")
        parser.add_argument("--ca-file", default="")
        parser.add_argument("--yes", action="store_true", help="confirm the warning (transfer, relocate, override)")
        parser.add_argument("--foreground", action="store_true",
                            help="transfer: run in this process instead of a worker (progress bar either way)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        try:
            if action == "status":
                self._print(services.status(), opts)
            elif action == "drivers":
                self._drivers(opts)
            elif action == "override":
                self._confirm(opts, services.OVERRIDE_WARNING)
                self._print(services.override(CONFIRM_TEXT, None), opts)
            elif action == "abort":
                job = services.abort_transfer(None)
                self.stdout.write(f"Transfer job {job.pk}: {job.status}.")
            elif action == "test":
                report = services.test(self._input(opts))
                if opts["json"]:
                    self._print(report.as_dict(), opts)
                else:
                    for c in report.checks:
                        mark = {True: "ok  ", False: "FAIL", None: "info"}[c.ok]
                        self.stdout.write(f"[{mark}] {c.name}: {c.message}")
                if not report.ok:
                    raise CommandError("The connection test failed.")
            elif action == "cleanup":
                dropped = services.cleanup(self._input(opts), None)
                self.stdout.write(f"Dropped {len(dropped)} table(s): {', '.join(dropped)}" if dropped else
                                  "Nothing to clean up: the target holds no tables of a transfer of this hub.")
            elif action == "relocate":
                self._confirm(opts, services.RELOCATE_WARNING)
                self._print(services.relocate(self._input(opts), CONFIRM_TEXT, None), opts)
            else:
                self._transfer(opts)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _print(self, data: Any, opts: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, indent=2, default=str))

    def _drivers(self, opts: dict[str, Any]) -> None:
        drivers = all_drivers()
        if opts["json"]:
            self._print([d.__dict__ for d in drivers], opts)
            return
        for d in drivers:
            state = f"installed {d.version}" if d.installed else f"not installed — {d.install_command}"
            if d.problem:
                state += f" ({d.problem})"
            live = "" if d.verified_live else "  [supported, not verified against a live server]"
            self.stdout.write(f"{d.label:<22} {state}{live}\n{'':<22} location: {VENDORS[d.vendor].location_format}")

    def _confirm(self, opts: dict[str, Any], warning: str) -> None:
        self.stdout.write(warning)
        if not opts["yes"]:
            raise CommandError("Read the warning above and confirm with --yes.")

    def _input(self, opts: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in ("vendor", "location", "username") if not opts.get(name)]
        if missing:
            raise CommandError(f"Give --{' --'.join(missing)}.")
        if opts["password_file"]:
            try:
                password = opts["password_file"].read_text().rstrip("\n")
            except (OSError, UnicodeDecodeError) as exc:  # a typo in the path is not a traceback
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a text file"
                raise CommandError(f"Cannot read the password file {opts['password_file']}: {reason}.") from None
        elif "HUB_STORAGE_PASSWORD" in os.environ:
            password = os.environ["HUB_STORAGE_PASSWORD"]
        elif sys.stdin.isatty():
            password = getpass.getpass("Database password: ")
        else:
            password = ""
        return {"vendor": opts["vendor"], "location": opts["location"], "username": opts["username"],
                "password": password, "tls": opts["tls"], "ca_file": opts["ca_file"]}

    def _transfer(self, opts: dict[str, Any]) -> None:
        data = self._input(opts)
        self._confirm(opts, services.TRANSFER_WARNING)
        if opts["foreground"]:
            from django_q.conf import Conf

            Conf.SYNC = True  # the job runs in this process when its row commits
        from django.utils import timezone

        holder: dict[str, Any] = {"since": timezone.now()}
        follower = threading.Thread(target=self._follow, args=(holder,), daemon=True)
        follower.start()
        try:
            job = services.start_transfer(data, CONFIRM_TEXT, None)
        finally:
            holder["stop"] = True
        follower.join()
        job.refresh_from_db()
        if job.status != "succeeded":
            raise CommandError(f"Transfer job {job.pk} {job.status}: {job.error or 'see the Activity screen'}")
        self.stdout.write(f"Database transfer completed: {json.dumps(job.result)}")

    def _follow(self, holder: dict[str, Any]) -> None:
        from django.db import connections

        from notifications.models import BackgroundJob
        from storage.transfer import TransferJob

        try:
            while True:
                job = BackgroundJob.objects.filter(kind=TransferJob.kind, created_at__gte=holder["since"]) \
                    .order_by("-pk").first()
                if job is None and holder.get("stop"):
                    return
                if job is not None:
                    total, done = job.progress_total or 0, job.progress_done
                    width = 40
                    filled = int(width * done / total) if total else 0
                    self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows {job.status:<9}",
                                      ending="")
                    self.stdout.flush()
                    if job.status in BackgroundJob.FINISHED:
                        self.stdout.write("")
                        return
                time.sleep(0.5)
        finally:
            connections.close_all()
