"""The report as a background job (for a large installation): progress per file on Activity,
the zip kept in ``HUB_HOME/support/`` and downloaded with ``GET /api/v1/support-report/?job=ID``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from notifications import jobs
from settings_app.support import report
from tasktop_hub.home import ensure_private_dir


def report_dir() -> Path:
    return ensure_private_dir(Path(settings.HUB_HOME) / "support")


@jobs.register
class SupportReportJob(jobs.Job):
    kind = "support_report"
    title = "Support and usage report"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        if params:
            from django.core.exceptions import ValidationError

            raise ValidationError({name: "Unknown parameter; this job takes none." for name in params})
        return {}

    def run(self) -> dict[str, Any]:
        path = report_dir() / report.filename()
        summary = report.write(path, progress=lambda done, total, what: self.progress(done, total))
        self.log(f"Wrote {path.name}: {len(summary['files'])} file(s).")
        return {"file": path.name, "files": summary["files"], "logs_left_out": summary["logs_left_out"]}
