"""Run the web server and a django-q2 worker together in the foreground.

Ctrl-C (SIGINT) or SIGTERM stops both. Each child runs in its own process group, so a terminal's
Ctrl-C reaches only this command, which then stops them in order: SIGTERM (gunicorn finishes its
requests; the cluster marks itself stopping — the engine's dispatcher loop ends its turn at once
and enqueues no successor — and lets running tasks finish) for up to ``HUB_STOP_TIMEOUT`` seconds,
then SIGKILL to whatever is left of each group (the engine is safe against kills). "stopped" is
printed only once no process of either group remains. If either child dies, the other is stopped
too, so the hub never runs half. Closing the terminal (SIGHUP) stops it the same way, and on Linux
each child is asked to stop (SIGTERM) by the kernel if this command dies without doing so (kill -9,
OOM killer): their own sessions must not turn them into orphans.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tasktop_hub.home import ensure_private_dir
from tasktop_hub.setup_gate import is_set_up

_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Command(BaseCommand):
    help = "Start the web server (gunicorn) and a django-q2 worker; stop both on Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("HUB_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("HUB_WEB_WORKERS", "2")))
        parser.add_argument("--stop-timeout", type=float, default=float(os.environ.get("HUB_STOP_TIMEOUT", "10")))

    def handle(self, *args: Any, bind: str, web_workers: int, stop_timeout: float, **options: Any) -> None:
        self._require_migrated()
        python = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")  # the repository's, wherever serve was started from
        run_dir = ensure_private_dir(Path(settings.HUB_HOME) / "run")
        web = subprocess.Popen([
            python, "-m", "gunicorn", "tasktop_hub.wsgi:application", "--bind", bind,
            "--workers", str(web_workers), "--access-logfile", "-", "--graceful-timeout", "10",
            # Per hub, not ~/.gunicorn: two hubs on one machine must not share a control socket.
            "--control-socket", str(run_dir / "gunicorn.ctl"),
        ], start_new_session=True, preexec_fn=_stop_with_parent)
        worker = subprocess.Popen([python, manage, "qcluster"], start_new_session=True, preexec_fn=_stop_with_parent)
        children = [web, worker]
        self.stdout.write(f"tasktop_hub is running on http://{bind}/admin/ with HUB_HOME={settings.HUB_HOME} "
                          "(Ctrl-C stops it).")
        if not is_set_up():
            self.stdout.write(f"First start: sign in, then set the master password and apply a license on "
                              f"http://{bind}/admin/setup/.")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, stop)
        while not stopping and all(p.poll() is None for p in children):
            time.sleep(0.3)
        self.stdout.write("tasktop_hub stopping…")
        self.stdout.flush()
        if not self._stop(children, stop_timeout):
            raise CommandError("tasktop_hub did not stop: processes remain; see `ps -eo pid,pgid,cmd`.")
        failed = [p for p in children if p.returncode not in (0, -signal.SIGTERM, -signal.SIGINT, -signal.SIGKILL)]
        if failed and not stopping:
            sys.exit(1)
        self.stdout.write("tasktop_hub stopped.")

    @staticmethod
    def _require_migrated() -> None:
        """A fresh HUB_HOME (or an upgrade) needs `hub_setup` first: say so instead of serving errors."""
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"The hub's database (HUB_HOME={settings.HUB_HOME}) has {len(pending)} unapplied migration(s). Run "
                "`make setup` (or `./manage.py hub_setup`) first; `make run` does both.")

    @staticmethod
    def _stop(children: list[subprocess.Popen[bytes]], timeout: float) -> bool:
        """Stop every process of every child's group; True once none remains."""
        for p in children:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        # Wait for the groups, not only the leaders: a cluster's workers outlive a killed parent.
        while time.monotonic() < deadline and any(_group_alive(p.pid) for p in children):
            for p in children:
                p.poll()
            time.sleep(0.1)
        for p in children:
            if _group_alive(p.pid):
                os.killpg(p.pid, signal.SIGKILL)
        for p in children:
            p.wait()
        settle = time.monotonic() + 5  # killed orphans are reaped by init
        while time.monotonic() < settle and any(_group_alive(p.pid) for p in children):
            time.sleep(0.05)
        return not any(_group_alive(p.pid) for p in children)
