"""Background jobs of route moves and pair imports (Activity → background jobs).

Both are for administrators (the job kinds' ``started_by``): a move rewires two integrations,
an import decides which artifacts are twins.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from integrations import moves, pairs_io
from notifications.jobs import Job, register
from tasktop_hub import roles
from tasktop_hub.home import write_private_file

MOVE_KIND = "integrations.move_routes"
IMPORT_KIND = "integrations.import_pairs"
UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|json)$")


@register
class MoveRoutesJob(Job):
    kind = MOVE_KIND
    started_by = roles.ADMINISTRATORS
    title = "Move routes between integrations"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        r = moves.review(params.get("source"), params.get("target"), params.get("routes"), bool(params.get("swap")))
        if r.problems:
            raise ValidationError({"move": r.problems})
        return {"source": r.source.pk, "target": r.target.pk, "routes": [x.pk for x in r.routes], "swap": r.swap}

    def run(self, source: int, target: int, routes: list[int], swap: bool) -> dict[str, Any]:
        move, moved = moves.start_and_run(source, target, routes, swap, self.record.created_by,
                                          progress=lambda done, total: self.progress(done, total))
        self.log(f"Move #{move.pk} of {len(routes)} route(s): moved {moved}.")
        return {"move": move.pk, "moved": moved}


def save_upload(data: bytes, fmt: str) -> str:
    """Keep an uploaded pair file in HUB_HOME (private) until its import job has run."""
    if fmt not in ("csv", "json"):
        raise ValidationError({"format": "Use csv or json."})
    name = f"{secrets.token_hex(16)}.{fmt}"
    write_private_file(_uploads() / name, data)
    return name


def _uploads() -> Path:
    return Path(settings.HUB_HOME) / "imports"


def read_upload(name: str) -> str:
    if not isinstance(name, str) or not UPLOAD_NAME.match(name):
        raise ValidationError({"upload": "Not an uploaded pair file."})
    path = _uploads() / name
    if not path.exists():
        raise ValidationError({"upload": "The uploaded file is gone; upload it again."})
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"upload": "The file is not UTF-8 text."}) from None


@register
class ImportPairsJob(Job):
    kind = IMPORT_KIND
    started_by = roles.ADMINISTRATORS
    title = "Import artifact pairs"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        read_upload(params.get("upload", ""))
        return {"upload": params["upload"], "verify": bool(params.get("verify"))}

    def run(self, upload: str, verify: bool = False) -> dict[str, Any]:
        text = read_upload(upload)
        report = pairs_io.dry_run(text, upload.rsplit(".", 1)[1], verify=verify)
        self.log(f"Checked {report.counts['rows']} row(s): {report.counts}.")
        if not report.ok:
            raise ValidationError(_summary(report))
        result = pairs_io.apply(report, self.record.created_by, progress=lambda d, t: self.progress(d, t))
        (_uploads() / upload).unlink(missing_ok=True)
        return result


def _summary(report: pairs_io.Report) -> str:
    shown = [f"line {i['line']}: {kind}: {i['message']}" for kind, items in report.issues.items() for i in items[:5]]
    return "Nothing imported. " + "; ".join(shown)
