"""``manage.py support_report --out FILE``: write the support and usage report zip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from settings_app.support import report


class Command(BaseCommand):
    help = "Write the support and usage report (logs, versions, redacted configuration, health, usage) as a zip."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, metavar="FILE", help="Where to write the zip.")

    def handle(self, *args: Any, out: str, **options: Any) -> None:
        path = Path(out)
        if not path.parent.is_dir():
            raise CommandError(f"--out: the directory {path.parent} does not exist.")
        summary = report.write(path)
        self.stdout.write(f"Wrote {path} ({len(summary['files'])} files"
                          + (f"; logs left out by the size cap: {', '.join(summary['logs_left_out'])}"
                             if summary["logs_left_out"] else "") + ").")
