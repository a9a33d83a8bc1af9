"""GitHub ↔ Jira and Redmine ↔ Jira under the real hub processes (gunicorn + django-q2 worker).

GitHub and Jira are the local API stand-ins (tests/fakes), served from this test process on
loopback; Redmine is the live Debian Redmine of tests/integrations/connectors/redmine. The hub runs from a fresh
HUB_HOME with a master password and a test license, exactly as an operator would set it up.
A crash during creation is a SIGKILL of the whole hub from inside the stand-in's create handler:
after the remote create, before the hub could record it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github_api import GitHubApi
from tests.fakes.jira_api import JiraApi
from tests.integrations.connectors.redmine.conftest import live_redmine  # noqa: F401  (the live Redmine fixture)
from tests.ready import prepare_process_hub
from tests.system.conftest import ROOT, Hub, free_port
from tests.system.hub_template import seed_home
from tests.system.proctree import kill_tree

pytestmark = pytest.mark.system

GH_TOKEN = "ghp_system_token_0123456789"
JIRA_TOKEN = "jira-system-token-0123456789"

CONFIGURE = """
import json, sys
from integrations.models import Collection, Integration, RepositoryConnection, Route
spec = json.loads(sys.stdin.read())
cols = []
for s in spec["sides"]:
    conn = RepositoryConnection.objects.create(name=s["name"], kind=s["kind"], url=s["url"], options=s["options"],
                                               secrets=s["secrets"])
    cols.append(Collection.objects.create(name=s["name"] + "-items", connection=conn,
                                          projects=[s["project"]], field_mapping=s["mapping"], **s.get("extra", {})))
i = Integration.objects.create(name=spec["name"], left_collection=cols[0], right_collection=cols[1],
                               run_state="running", change_detection_interval=10)
Route.objects.create(integration=i, left_project=cols[0].projects[0], right_project=cols[1].projects[0])
print(i.pk)
"""

PAIRS = """
import json, sys
from integrations.models import ArtifactPair
print(json.dumps([[p.left_id, p.right_id] for p in ArtifactPair.objects.all()]))
"""


class ReadyHub(Hub):
    def start(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        out = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--bind", f"127.0.0.1:{port}", "--web-workers", "1"],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(lambda: self.request("GET", "/api/health")[0] == 200, 90, "a healthy hub")

    def kill(self) -> None:
        """kill -9 of the hub: web server, worker and all their children."""
        if self.process is not None and self.process.poll() is None:
            kill_tree(self.process.pid)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()

    def configure(self, spec: dict) -> int:
        done = self.manage("shell", "-c", CONFIGURE, input=json.dumps(spec))
        assert done.returncode == 0, done.stdout + done.stderr
        return int(done.stdout.strip().splitlines()[-1])

    def pairs(self) -> list[list[str]]:
        done = self.manage("shell", "-c", PAIRS)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


def _checked(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.fixture
def ready_hub(tmp_path: Path, hub_env: dict[str, str], hub_template: Path) -> Iterator[ReadyHub]:
    """hub_setup (the session's template, copied: tests/system/hub_template.py), a master password and a
    test license, then ``manage.py serve`` (not yet started)."""
    hub = ReadyHub(home=tmp_path / "home", env=hub_env, log=tmp_path / "hub.log")
    seed_home(hub_template, hub.home)
    prepare_process_hub(hub)  # the real commands: masterpassword set, license apply
    try:
        yield hub
    finally:
        hub.stop()


def _wait(predicate, timeout: float, what: str, hub: ReadyHub):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}; last={last!r}\n{hub.log.read_text()[-4000:]}")


def _github() -> GitHubApi:
    api = GitHubApi(prefix="/api/v3")
    api.add_user("hubbot", token=GH_TOKEN)
    api.add_user("alice", email="alice@example.com")
    api.repo = api.add_repo("acme", "app", assignable=("hubbot", "alice"))
    return api


def _jira(deployment: str = "cloud") -> JiraApi:
    api = JiraApi(deployment=deployment, time_zone="Asia/Kolkata")
    api.add_user("hubbot", "hub@example.com", JIRA_TOKEN)
    api.add_project("ABC")
    return api


JIRA_GRAPH = {"To Do": ["In Progress"], "In Progress": ["In Review", "To Do"], "In Review": ["Done", "In Progress"],
              "Done": ["To Do"]}


def _jira_side(api: JiraApi, states: dict[str, str], deployment: str = "cloud") -> dict:
    options = {"projects": "ABC", "deployment": deployment}
    if deployment == "cloud":
        options["email"] = "hub@example.com"
    return {"name": "jira", "kind": "jira", "url": api.url, "options": options, "secrets": {"token": JIRA_TOKEN},
            "project": "ABC", "mapping": {"title": "summary", "description": "description", "state": "status"},
            "extra": {"field_roles": {"state": "state"}, "value_mappings": {"state": states}, "transitions": JIRA_GRAPH}}


def test_github_jira_two_way_with_storms_and_a_kill_during_creation(ready_hub):
    hub = ready_hub
    with _github() as gh, _jira() as jira:
        first = gh.add_issue(gh.repo, "Login fails", body="Steps to reproduce")
        gh.add_issue(gh.repo, "A pull request", pull_request=True)
        ticket = jira.add_issue("ABC", "Upgrade Postgres", description="Plan")
        hub.configure({"name": "gh-jira", "sides": [
            {"name": "github", "kind": "github", "url": gh.url + "/api/v3",
             "options": {"repositories": "acme/app", "write_interval": 0}, "secrets": {"token": GH_TOKEN},
             "project": "acme/app", "mapping": {"title": "title", "description": "body", "state": "state"},
             "extra": {"field_roles": {"state": "state"}}},
            _jira_side(jira, {"In Progress": "open", "In Review": "open", "To Do": "open", "Done": "closed"}),
        ]})
        hub.start()

        def synced() -> bool:
            titles = {i["title"] for i in gh.repo.issues.values()}
            summaries = {i["fields"]["summary"] for i in jira.issues.values()}
            return "Upgrade Postgres" in titles and "Login fails" in summaries
        _wait(synced, 120, "the first two-way sync", hub)
        assert not any(i["fields"]["summary"] == "A pull request" for i in jira.issues.values())

        # Both tools rate-limit while both sides change; everything still arrives, politely.
        gh.secondary_storm(3, retry_after=2, status=403)
        jira.storm(3, status=429, retry_after=2)
        gh.touch(gh.repo, first["number"], state="closed", state_reason="completed")
        jira.touch(ticket["key"], summary="Upgrade Postgres to 17")
        twin = next(i for i in jira.issues.values() if i["fields"]["summary"] == "Login fails")
        _wait(lambda: twin["fields"]["status"] == "Done"
              and any(i["title"] == "Upgrade Postgres to 17" for i in gh.repo.issues.values()), 120,
              "changes through the storms", hub)
        assert gh.violations == 0 and jira.violations == 0

        # kill -9 of the hub after Jira created the twin and before the hub recorded it.
        killed = []

        def crash(issue: dict) -> None:
            if not killed:
                killed.append(issue["key"])
                hub.kill()
        jira.on_create = crash
        crossing = gh.add_issue(gh.repo, "Created across a crash")
        _wait(lambda: killed and hub.process.poll() is not None, 120, "the hub to be killed mid-creation", hub)
        jira.on_create = None
        hub.start()
        # The killed run's lease (HUB_ENGINE_LEASE_SECONDS, 60 s) must expire first.
        _wait(lambda: any(p for p in hub.pairs() if p[0] == f"acme/app#{crossing['number']}"), 180,
              "the pair after the restart", hub)
        copies = [i for i in jira.issues.values() if i["fields"]["summary"] == "Created across a crash"]
        assert [i["key"] for i in copies] == killed  # adopted, not created twice
    _assert_no_secrets_logged(hub)


def _assert_no_secrets_logged(hub: ReadyHub) -> None:
    logs = [hub.log, *(hub.home / "logs").glob("*.log")]
    for path in logs:
        text = path.read_text(errors="replace")
        assert GH_TOKEN not in text and JIRA_TOKEN not in text, f"a token reached {path}"


def test_redmine_jira_two_way(ready_hub, request):
    import requests

    hub = ready_hub
    redmine = request.getfixturevalue("live_redmine")
    headers = {"X-Redmine-API-Key": redmine.key}
    identifier = f"sys-{int(time.time())}"
    requests.post(f"{redmine.url}/projects.json", headers=headers, timeout=30,
                  json={"project": {"name": identifier, "identifier": identifier, "is_public": True}}).raise_for_status()
    made = requests.post(f"{redmine.url}/issues.json", headers=headers, timeout=30,
                         json={"issue": {"project_id": identifier, "subject": "Disk full on db1"}}).json()["issue"]
    with _jira("dc") as jira:
        ticket = jira.add_issue("ABC", "Rotate TLS certificates")
        hub.configure({"name": "redmine-jira", "sides": [
            {"name": "redmine", "kind": "redmine", "url": redmine.url, "options": {},
             "secrets": {"api_key": redmine.key}, "project": identifier,
             "mapping": {"title": "subject", "description": "description", "state": "status"},
             "extra": {"field_roles": {"state": "state"},
                       "value_mappings": {"state": {"New": "todo", "In Progress": "doing", "Resolved": "review",
                                                    "Closed": "done"}}}},
            _jira_side(jira, {"To Do": "todo", "In Progress": "doing", "In Review": "review", "Done": "done"}, "datacenter"),
        ]})
        hub.start()

        def redmine_subjects() -> set[str]:
            issues = requests.get(f"{redmine.url}/issues.json", headers=headers, timeout=30,
                                  params={"project_id": identifier, "status_id": "*"}).json()["issues"]
            return {i["subject"] for i in issues}
        _wait(lambda: "Rotate TLS certificates" in redmine_subjects()
              and any(i["fields"]["summary"] == "Disk full on db1" for i in jira.issues.values()), 120,
              "the first Redmine ↔ Jira sync", hub)
        requests.put(f"{redmine.url}/issues/{made['id']}.json", headers=headers, timeout=30,
                     json={"issue": {"status_id": 5}}).raise_for_status()  # Closed
        twin = next(i for i in jira.issues.values() if i["fields"]["summary"] == "Disk full on db1")
        _wait(lambda: twin["fields"]["status"] == "Done", 120, "Closed in Redmine to reach Done in Jira", hub)
        jira.touch(ticket["key"], summary="Rotate TLS certificates (all hosts)")
        _wait(lambda: "Rotate TLS certificates (all hosts)" in redmine_subjects(), 120, "a Jira edit in Redmine", hub)
    _assert_no_secrets_logged(hub)
