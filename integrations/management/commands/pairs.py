"""manage.py pairs import FILE [--dry-run] [--verify] | pairs export [--integration N] [--format csv|json]

The layout is in docs/routes-and-pairs.md. A dry run prints every problem with its line number; a
real import runs as a background job (all or nothing) and draws its progress.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations import moves, pairs_io
from integrations.jobs import IMPORT_KIND, save_upload
from integrations.management.follow import follow
from notifications import jobs


class Command(BaseCommand):
    help = "Import or export artifact pairs (CSV or JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("file", nargs="?", help="import: the file; export: where to write (default stdout)")
        parser.add_argument("--dry-run", action="store_true", help="import: only report what would happen")
        parser.add_argument("--verify", action="store_true", help="import: read every artifact through its tool")
        parser.add_argument("--format", choices=["csv", "json"], help="default: from the file name (csv)")
        parser.add_argument("--integration", help="export: only this integration (id or name)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "export":
                self._export(opts)
            else:
                self._import(opts)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def _export(self, opts: dict[str, Any]) -> None:
        integration = moves.find_integration(opts["integration"]) if opts["integration"] else None
        fmt = opts["format"] or ("json" if (opts["file"] or "").endswith(".json") else "csv")
        rows = pairs_io.export(integration)
        if opts["file"]:
            with Path(opts["file"]).open("w", encoding="utf-8", newline="") as out:
                n = pairs_io.write_export(rows, fmt, out)
            self.stderr.write(f"Exported {n} pair(s) to {opts['file']}.")
        else:
            pairs_io.write_export(rows, fmt, sys.stdout)

    def _import(self, opts: dict[str, Any]) -> None:
        if not opts["file"]:
            raise CommandError("Give the file to import.")
        try:
            data = Path(opts["file"]).read_bytes()
            text = data.decode("utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{opts['file']} is not UTF-8 text.") from None
        fmt = opts["format"] or pairs_io.detect_format(opts["file"], text)
        report = pairs_io.dry_run(text, fmt, verify=opts["verify"])
        self._report(report)
        if opts["dry_run"]:
            if not report.ok:
                raise CommandError("The file would not import (see above).")
            return
        if not report.ok:
            raise CommandError("Nothing imported (see above).")
        job = jobs.enqueue(IMPORT_KIND, {"upload": save_upload(data, fmt), "verify": opts["verify"]}, None)
        follow(self, job.pk)

    def _report(self, report: pairs_io.Report) -> None:
        c = report.counts
        self.stdout.write(f"{c['rows']} row(s): {c['add']} to add, {c['present']} already present, "
                          f"{c['conflict']} conflict(s), {c['unknown']} unknown, {c['malformed']} malformed, "
                          f"{c['missing']} missing in the tools.")
        for kind, items in report.issues.items():
            for item in items:
                self.stdout.write(f"line {item['line']}: {kind}: {item['message']}")
        shown = sum(len(v) for v in report.issues.values())
        hidden = sum(c[k] for k in report.issues) - shown
        if hidden:
            self.stdout.write(f"… and {hidden} more ({json.dumps({k: c[k] for k in report.issues})}).")
