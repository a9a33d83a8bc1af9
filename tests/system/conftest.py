"""Helpers that run the hub as real processes on a temporary HUB_HOME."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest

from tests.system.hub_template import build_sqlite_template, postgres_template, seed_home
from tests.system.proctree import kill_tree

ROOT = Path(__file__).resolve().parents[2]
ADMIN_USER = "sysadmin"
ADMIN_PASSWORD = "system-test-Password-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    home: Path
    env: dict[str, str]
    base_url: str = ""
    process: subprocess.Popen | None = None
    token: str = ""
    log: Path = field(default_factory=Path)

    def manage(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=self.env, input=input,
            capture_output=True, text=True, timeout=300,
        )

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        status, _headers, answer = self.exchange(method, path, body)
        return status, answer

    def exchange(self, method: str, path: str, body: dict | None = None) -> tuple[int, Message, dict]:
        """request() with the response's headers (Retry-After, say)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, json.loads(exc.read() or b"{}")

    def wait_for(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"hub exited while waiting for {what}:\n{self.log.read_text()[-3000:]}")
            try:
                last = predicate()
                if last:
                    return last
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; last={last!r}\n{self.log.read_text()[-3000:]}")


def base_env(home: Path) -> dict[str, str]:
    """The environment of hub processes on ``home``: this one's, less its hub settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL", "DJANGO_"))}
    env.update({
        "HUB_HOME": str(home),
        "HUB_ADMIN_USER": ADMIN_USER,
        "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PYTHONUNBUFFERED": "1",
        # Tool tables (SQLite) live under the temporary directory (tests/conftest.py).
        "HUB_CONNECTION_SQLITE_DIRS": os.environ["HUB_CONNECTION_SQLITE_DIRS"],
    })
    return env


@pytest.fixture
def hub_env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path / "home")


@pytest.fixture(scope="session")
def hub_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HUB_HOME on which `manage.py hub_setup --no-input` ran, once per session (tests/system/hub_template.py)."""
    home = tmp_path_factory.mktemp("hub-template") / "home"
    return build_sqlite_template(base_env(home), home)


@pytest.fixture(scope="session")
def postgres_hub_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database on which `migrate` and `createcachetable` ran, once per session; its name."""
    home = tmp_path_factory.mktemp("pg-template") / "home"
    with postgres_template(base_env(home), home) as name:
        yield name


@pytest.fixture
def running_hub(tmp_path: Path, hub_env: dict[str, str], hub_template: Path) -> Iterator[Hub]:
    """A HUB_HOME as `manage.py hub_setup` leaves it, then `manage.py serve` (gunicorn + qcluster)
    as subprocesses.

    The session's template (the internal SQLite database, copied) stands in for `hub_setup`
    unless the test has already pointed the HUB_HOME at another database (db/hub-db.json, as a
    transfer leaves it): then `hub_setup` runs for real and makes the schema there.
    """
    from tasktop_hub.database import ACTIVE_FILE

    hub = Hub(home=tmp_path / "home", env=hub_env, log=tmp_path / "hub.log")
    if (hub.home / "db" / ACTIVE_FILE).exists():
        setup = hub.manage("hub_setup", "--no-input")
        assert setup.returncode == 0, setup.stdout + setup.stderr
    else:
        seed_home(hub_template, hub.home)
    from tests.ready import prepare_process_hub

    prepare_process_hub(hub)  # the first-run gate needs a master password and a license
    with serving(hub):
        yield hub


@contextmanager
def serving(hub: Hub) -> Iterator[Hub]:
    """`manage.py serve` (one web worker) on a free port until the web server answers; Ctrl-C after."""
    port = free_port()
    hub.base_url = f"http://127.0.0.1:{port}"
    with hub.log.open("w") as out:
        hub.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--bind", f"127.0.0.1:{port}", "--web-workers", "1"],
            cwd=ROOT, env=hub.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        hub.wait_for(lambda: hub.request("GET", "/api/health")[0] in (200, 503), 60, "the web server")
        yield hub
    finally:
        if hub.process.poll() is None:
            hub.process.send_signal(signal.SIGINT)
            try:
                hub.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                kill_tree(hub.process.pid)
                hub.process.wait()


@pytest.fixture
def engine_hub(tmp_path: Path, hub_env: dict[str, str], postgres_hub_template: str) -> Iterator[Hub]:
    """A hub as processes on a fresh PostgreSQL database (run lease 5 s), ready; no worker yet.

    The database is a copy of the session's migrated template (migrate + createcachetable, as
    hub_setup does); the HUB_HOME is new.
    """
    from tests.integrations.dbtargets import fresh_postgres_db
    from tests.ready import prepare_process_hub

    with fresh_postgres_db("hubsys", template=postgres_hub_template) as hub_db:
        env = dict(hub_env, DATABASE_URL=hub_db, HUB_ENGINE_LEASE_SECONDS="5", HUB_WORKERS="2")
        h = Hub(home=tmp_path / "home", env=env, log=tmp_path / "worker.log")
        prepare_process_hub(h)
        yield h
