"""Log files and the support report: concurrent writers' throughput through the locked,
rotating handler, and the time to build the report over 50 MiB of logs with secrets to scrub.

    .venv/bin/python bench/logs_and_report.py         # prints the figures (≈ 1 minute)
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(tempfile.mkdtemp(prefix="logs-bench-"))
WRITERS, LINES = 4, 5000
WRITER = """
import logging, sys, django
django.setup()
log = logging.getLogger("integrations.engine")
for i in range(int(sys.argv[2])):
    log.warning("writer=%s line=%05d %s", sys.argv[1], i, "x" * 80)
"""


def writers() -> None:
    env = {**os.environ, "HUB_HOME": str(HOME / "w"), "HUB_LOG_MAX_BYTES": "1000000", "HUB_LOG_BACKUPS": "20",
           "DJANGO_SETTINGS_MODULE": "tasktop_hub.settings", "HUB_LOG_LEVEL": "WARNING"}
    # Django's start-up is timed separately so the figure is the writing alone.
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", WRITER.replace("range(int(sys.argv[2]))", "range(0)"), "w", "0"],
                   cwd=ROOT, env=env, check=True)
    startup = time.monotonic() - start
    start = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}", str(LINES)], cwd=ROOT, env=env,
                              stderr=subprocess.DEVNULL) for n in range(WRITERS)]
    for p in procs:
        p.wait()
    elapsed = time.monotonic() - start - startup
    files = list((HOME / "w" / "logs").glob("hub.log*"))
    lines = sum(len(f.read_text().splitlines()) for f in files)
    print(f"{WRITERS} writers × {LINES} lines: {lines} lines in {len(files)} files, "
          f"≈ {WRITERS * LINES / max(elapsed, 0.001):,.0f} lines/s (start-up {startup:.1f} s per process excluded)")


def report() -> None:
    from _hub import bootstrap

    bootstrap("logs-bench-report")
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from settings_app.support import report as support_report

    logs = Path(settings.HUB_LOG_DIR)
    line = "2026-12-01 00:00:00,000 DEBUG 1 integrations.http: GET https://tool.example.com/issues?page=2 200 " \
           + "y" * 60 + "\n"
    for name in ["hub.log", "hub.log.1", "hub.log.2", "hub.log.3", "hub.log.4"]:
        (logs / name).write_text(line * (10 * 1024 * 1024 // len(line)))
    secrets = [f"secret-value-{n:04d}-abcdef" for n in range(20)]
    support_report.stored_secrets = lambda: secrets  # 20 stored secrets to scrub
    start = time.monotonic()
    out = io.BytesIO()
    summary = support_report.build(out)
    elapsed = time.monotonic() - start
    print(f"support report over {sum(f.stat().st_size for f in logs.glob('hub.log*')) / 2**20:.0f} MiB of logs, "
          f"20 secrets: {elapsed:.1f} s, zip {len(out.getvalue()) / 2**20:.1f} MiB, {len(summary['files'])} files")


if __name__ == "__main__":
    writers()
    report()
