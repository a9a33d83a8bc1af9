"""A live Redmine for the tests, and the fake tracker as a second backend for the same tests.

``live_redmine`` (session): connects to a Redmine named by ``HUB_TEST_REDMINE_URL`` and
``HUB_TEST_REDMINE_KEY``, else to the one ``setup_redmine.sh`` started before (its
credentials file), else runs ``setup_redmine.sh`` (installs Debian's redmine; needs root, about
40 s the first time, instant afterwards; ``HUB_TEST_REDMINE_SETUP=0`` forbids that). Skips when
no Redmine can be had; fails under CI=true.

``redmine_backend`` (per test, parametrised ``fake`` / ``live``): a fresh project on the
backend, a way to build connectors for it, and a way to force ``updated_on`` stamps.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from integrations.connectors.redmine import RedmineConnector
from tests.conftest import require_service
from tests.fakes.tracker import FakeTracker

SETUP = Path(__file__).with_name("setup_redmine.sh")
STATE = Path(os.environ.get("HUB_REDMINE_STATE", "/var/lib/tasktop-hub-redmine"))


@dataclass
class LiveRedmine:
    url: str
    key: str
    user_key: str = ""
    db: str = ""
    hub_key_field: str = ""
    env: dict[str, str] = field(default_factory=dict)


def _read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            out[name.strip()] = value.strip()
    return out


def _works(url: str, key: str) -> bool:
    try:
        return requests.get(f"{url}/users/current.json", headers={"X-Redmine-API-Key": key}, timeout=10).status_code == 200
    except requests.RequestException:
        return False


def _find() -> tuple[LiveRedmine | None, str]:
    env = dict(os.environ)
    creds = STATE / "credentials.env"
    if not env.get("HUB_TEST_REDMINE_URL") and creds.exists():
        env = {**_read_env_file(creds), **{k: v for k, v in env.items() if k.startswith("HUB_TEST_REDMINE_")}}
    url, key = env.get("HUB_TEST_REDMINE_URL", ""), env.get("HUB_TEST_REDMINE_KEY", "")
    if url and key and _works(url, key):
        return LiveRedmine(url, key, env.get("HUB_TEST_REDMINE_USER_KEY", ""), env.get("HUB_TEST_REDMINE_DB", ""),
                           env.get("HUB_TEST_REDMINE_HUB_KEY_FIELD", ""), env), ""
    return None, f"no Redmine answers at {url or '(none configured)'}"


@pytest.fixture(scope="session")
def live_redmine() -> LiveRedmine:
    found, reason = _find()
    if found is None and os.environ.get("HUB_TEST_REDMINE_SETUP", "1") != "0":
        if os.geteuid() != 0:
            reason = "setup_redmine.sh needs root to install Debian's redmine"
        else:
            run = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=900)
            if run.returncode == 0:
                found, reason = _find()
            else:
                reason = f"setup_redmine.sh failed ({run.returncode}): {run.stderr.strip()[-500:]}"
    require_service(found is not None, f"Redmine is not available: {reason}")
    assert found is not None
    return found


@dataclass
class Backend:
    """One Redmine-speaking backend with a fresh project for one test."""

    name: str
    url: str
    key: str
    user_key: str
    project: str
    tracker: FakeTracker | None = None
    live: LiveRedmine | None = None

    def connector(self, *, key: str | None = None, **options: Any) -> RedmineConnector:
        return RedmineConnector(self.url, options, {"api_key": self.key if key is None else key})

    def user_connector(self) -> RedmineConnector:
        """A non-administrator (a Developer in the project): Redmine's workflow applies."""
        return self.connector(key=self.user_key, **self.user_options())

    def user_options(self) -> dict[str, str]:
        """A non-administrator cannot list custom fields: on a Redmine where it sees no issue yet
        the hub-key field is only found by its id, as the connection's docs tell users to set."""
        if self.live is not None and self.live.hub_key_field:
            return {"hub_key_field": self.live.hub_key_field}
        return {}

    def new_project(self) -> str:
        identifier = f"t-{uuid.uuid4().hex[:10]}"
        if self.tracker is not None:
            self.tracker.add_project(identifier)
            return identifier
        response = requests.post(f"{self.url}/projects.json", timeout=30, headers={"X-Redmine-API-Key": self.key},
                                 json={"project": {"name": identifier, "identifier": identifier, "is_public": True}})
        response.raise_for_status()
        _add_member(self, identifier)
        return identifier

    def set_updated_on(self, stamps: dict[str, datetime]) -> None:
        """Force issues' ``updated_on`` (microseconds kept), as Redmine's clock could have."""
        if self.tracker is not None:
            for issue_id, when in stamps.items():
                self.tracker.touch(int(issue_id), updated_on=when)
            return
        assert self.live is not None
        # Forcing stamps means writing Redmine's SQLite file (root:www-data 0660).
        require_service(bool(self.live.db) and os.access(self.live.db, os.W_OK),
                        f"cannot write Redmine's database {self.live.db or '(unknown)'} to force timestamps")
        with sqlite3.connect(self.live.db, timeout=30) as db:
            db.executemany("UPDATE issues SET updated_on = ? WHERE id = ?",
                           [(w.strftime("%Y-%m-%d %H:%M:%S.%f"), int(i)) for i, w in stamps.items()])


def _add_member(backend: Backend, identifier: str) -> None:
    """Make the non-admin test user a Developer of the new project (as setup does for its projects)."""
    headers = {"X-Redmine-API-Key": backend.key}
    users = requests.get(f"{backend.url}/users.json", params={"name": "hub-user"}, headers=headers, timeout=30).json()
    roles = requests.get(f"{backend.url}/roles.json", headers=headers, timeout=30).json()["roles"]
    developer = next(r["id"] for r in roles if r["name"] == "Developer")
    if users["users"]:
        requests.post(f"{backend.url}/projects/{identifier}/memberships.json", headers=headers, timeout=30,
                      json={"membership": {"user_id": users["users"][0]["id"], "role_ids": [developer]}}
                      ).raise_for_status()


WORKFLOW = {  # a small stand-in for Redmine's default Developer workflow
    "New": {"In Progress", "Resolved", "Feedback", "Closed"},
    "In Progress": {"Resolved", "Feedback", "Closed"},
    "Resolved": {"In Progress", "Feedback", "Closed"},
    "Feedback": {"In Progress", "Resolved", "Closed"},
    "Closed": set(),
}


@pytest.fixture(params=["fake", "live"])
def redmine_backend(request) -> Iterator[Backend]:
    if request.param == "fake":
        with FakeTracker(workflow=WORKFLOW) as tracker:
            backend = Backend("fake", tracker.base_url, tracker.api_key, tracker.api_key, "", tracker=tracker)
            backend.project = backend.new_project()
            yield backend
        return
    live = request.getfixturevalue("live_redmine")
    backend = Backend("live", live.url, live.key, live.user_key, "", live=live)
    backend.project = backend.new_project()
    yield backend


def redmine_and_table_rig(redmine_backend: Backend, tmp_path: Path, name: str) -> Iterator[Any]:
    """An integration from the Redmine project (left) to a fresh SQLite work-item table (right),
    with ``.redmine`` (the backend) and ``.table`` (the table's connector) attached."""
    from integrations.connectors.database.schema import create_work_item_table
    from tests.integrations.tool_rig import integrate, side

    path = tmp_path / "items.db"
    path.touch()
    url = f"sqlite:///{path}"
    create_work_item_table(url, "items", ["summary", "details"])
    left = side("redmine", "redmine", redmine_backend.url, {}, {"api_key": redmine_backend.key},
                redmine_backend.project, {"title": "subject", "body": "description"})
    right = side("table", "database", url, {"table": "items", "projects": "OPS"}, {}, "OPS",
                 {"title": "summary", "body": "details"})
    r = integrate(left, right, name)
    r.redmine = redmine_backend
    r.table = r.factory(right.connection)
    yield r
    r.table.close()
