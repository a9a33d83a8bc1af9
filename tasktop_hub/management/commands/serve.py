"""Run the web server and a django-q2 worker together in the foreground.

Ctrl-C (SIGINT) or SIGTERM stops both: the worker gets SIGTERM and finishes its running
tasks; if either process dies, the other is stopped too, so the hub never runs half.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and a django-q2 worker; stop both on Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("HUB_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("HUB_WEB_WORKERS", "2")))

    def handle(self, *args: Any, bind: str, web_workers: int, **options: Any) -> None:
        python = sys.executable
        manage = os.path.join(os.getcwd(), "manage.py")
        web = subprocess.Popen([
            python, "-m", "gunicorn", "tasktop_hub.wsgi:application", "--bind", bind,
            "--workers", str(web_workers), "--access-logfile", "-", "--graceful-timeout", "10",
        ])
        worker = subprocess.Popen([python, manage, "qcluster"])
        children = [web, worker]
        self.stdout.write(f"tasktop_hub is running on http://{bind}/admin/ (Ctrl-C stops it).")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(p.poll() is None for p in children):
            time.sleep(0.3)
        for p in children:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for p in children:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        failed = [p for p in children if p.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if failed and not stopping:
            sys.exit(1)
        self.stdout.write("tasktop_hub stopped.")
