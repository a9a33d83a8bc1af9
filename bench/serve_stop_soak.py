"""Ctrl-C on `manage.py serve`, N times: how long stopping takes, and that nothing is left behind.

    .venv/bin/python bench/serve_stop_soak.py [--runs 10]

Each run starts `serve` on one fresh HUB_HOME (SQLite), waits until its web server answers and its
worker cluster has forked (the engine's dispatcher loop is then running), sends SIGINT to the
process group as a terminal does, and records: seconds until `serve` exits, whether it printed
"stopped", processes of that HUB_HOME still alive, and django-q2 queue rows added after the exit.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def hub_processes(home: Path) -> set[int]:
    marker = f"HUB_HOME={home}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0") and \
                        (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.add(int(entry.name))
            except OSError:
                pass
    return found


def queue_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM django_q_ormq").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    home = Path(tempfile.mkdtemp(prefix="hub-stop-")) / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_HOME=str(home), HUB_ADMIN_USER="admin", HUB_ADMIN_PASSWORD="bench password 1")
    subprocess.run([sys.executable, "manage.py", "hub_setup", "--no-input"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    db = home / "db" / "hub.sqlite3"
    times, leftovers, late_rows, stopped_lines = [], 0, 0, 0
    for n in range(runs):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = home.parent / f"serve-{n}.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{port}",
                                     "--web-workers", "1"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)
            except urllib.error.HTTPError:
                pass  # 503 (no license): the web server answers
            except OSError:
                time.sleep(0.5)
                continue
            if len(hub_processes(home)) >= 6:
                break
            time.sleep(0.5)
        time.sleep(3)  # the dispatcher loop is in its turn
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
        times.append(time.monotonic() - started)
        left = hub_processes(home)
        leftovers += len(left)
        stopped_lines += "tasktop_hub stopped." in log.read_text()
        rows = queue_rows(db)
        time.sleep(5)  # an orphaned worker would enqueue its successor here
        late_rows += queue_rows(db) - rows
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        print(f"run {n + 1}: stopped in {times[-1]:.2f} s, processes left {len(left)}", flush=True)
    print(f"runs={runs} stop seconds p50={statistics.median(times):.2f} max={max(times):.2f} "
          f"'stopped' printed={stopped_lines}/{runs} processes left={leftovers} queue rows added after exit={late_rows}")


if __name__ == "__main__":
    main()
