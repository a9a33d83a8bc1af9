"""Ctrl-C on `manage.py serve` stops everything: web server, worker cluster, every forked worker
(the engine's dispatcher loop included), and "stopped" is printed only when that is true."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def hub_processes(home: Path) -> set[int]:
    """Every live process started for this HUB_HOME (children inherit the environment)."""
    marker = f"HUB_HOME={home}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker in environ.split(b"\0"):
            found.add(int(entry.name))
    return found


@pytest.mark.parametrize("attempt", [1, 2])
def test_ctrl_c_leaves_no_process_behind(running_hub, attempt):
    hub = running_hub
    hub.wait_for(lambda: hub.request("GET", "/api/health")[0] == 200, 90, "a healthy hub")
    # gunicorn's control socket is this hub's, not ~/.gunicorn's (two hubs on one machine).
    assert (hub.home / "run" / "gunicorn.ctl").is_socket()
    running = hub_processes(hub.home) - {hub.process.pid}
    assert len(running) >= 5  # gunicorn master and worker, qcluster, sentinel, pusher/monitor, workers
    # As a terminal does: SIGINT to the foreground process group.
    os.killpg(hub.process.pid, signal.SIGINT)
    assert hub.process.wait(timeout=60) == 0
    assert "tasktop_hub stopped." in hub.log.read_text()
    assert hub_processes(hub.home) == set()  # at the moment "stopped" was printed, and after


def test_serve_killed_outright_takes_its_children_with_it(running_hub):
    """kill -9 of serve alone (OOM killer, a careless kill): its children, in their own sessions,
    must not run on as orphans processing work nobody supervises."""
    hub = running_hub
    hub.wait_for(lambda: hub.request("GET", "/api/health")[0] == 200, 90, "a healthy hub")
    assert len(hub_processes(hub.home) - {hub.process.pid}) >= 5
    hub.process.kill()
    hub.process.wait(timeout=10)
    deadline = time.monotonic() + 60
    while hub_processes(hub.home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert hub_processes(hub.home) == set()
