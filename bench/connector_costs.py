"""Remote calls and quota the github and jira connectors spend, measured against the local API
stand-ins (tests/fakes). Run: ``.venv/bin/python -m bench.connector_costs``.

Counts are exact (they are what the stand-ins received); times are this machine's, loopback, and
only indicate the connectors' own overhead.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from integrations.connectors import http
from integrations.connectors.github import GitHubConnector
from integrations.connectors.github.client import forget_clients as forget_github
from integrations.connectors.jira import JiraConnector
from integrations.connectors.jira.client import forget_clients as forget_jira
from tests.fakes.clock import FakeClock
from tests.fakes.github_api import GitHubApi
from tests.fakes.jira_api import JiraApi

N = 1000
T0 = 1_790_000_000.0


def drain(conn, project: str, since) -> int:
    count, after = 0, None
    while True:
        page = conn.changes_after(project, since, after, 100)
        count += len(page.artifacts)
        if page.artifacts:
            after = (page.artifacts[-1].updated_at, page.artifacts[-1].id)
        if page.done:
            return count


def github() -> list[str]:
    out = []
    clock = FakeClock(start=T0)
    forget_github()
    with GitHubApi(clock=clock, prefix="/api/v3") as api, http.use_clock(clock):
        api.add_user("hubbot", token="t0ken-bench-0000")
        repo = api.add_repo("acme", "app", assignable=("hubbot",))
        for n in range(N):
            api.add_issue(repo, f"i{n}", updated=T0 - 5000 + n)
            if n % 10 == 0:
                api.add_issue(repo, f"pr{n}", pull_request=True, updated=T0 - 5000 + n)
        for n in range(230):
            api.add_issue(repo, f"tie{n}", updated=T0 - 10)
        conn = GitHubConnector(api.url + "/api/v3", {"repositories": "acme/app", "write_interval": 0},
                               {"token": "t0ken-bench-0000"})

        def measure(label: str, fn) -> None:
            before, quota = len(api.log), api.bucket("hubbot").remaining
            started = time.process_time()
            result = fn()
            cpu = (time.process_time() - started) * 1000
            out.append(f"| github | {label} | {result} | {len(api.log) - before} | "
                       f"{quota - api.bucket('hubbot').remaining} | {cpu:.0f} ms |")

        measure(f"first detection, {N + 230} issues + {N // 10} PRs", lambda: drain(conn, "acme/app", None))
        since = datetime.fromtimestamp(T0 - 10, UTC)
        measure("230 issues in one second (3 pages)", lambda: drain(conn, "acme/app", since))
        measure("re-read of the cursor's second (3 pages, all 304)", lambda: drain(conn, "acme/app", since))
        idle = datetime.fromtimestamp(T0, UTC)
        measure("idle detection (nothing changed)", lambda: drain(conn, "acme/app", idle))
        measure("idle detection again (304)", lambda: drain(conn, "acme/app", idle))
        measure("create (whoami, newest-by-me listing: 5 pages, POST)",
                lambda: bool(conn.find_by_hub_key("acme/app", "k1") or conn.create("acme/app", {"title": "x"}, "k1")))
        made = conn.find_by_hub_key("acme/app", "k1")
        measure("update title", lambda: bool(conn.update(made.id, {"title": "y"})))
        hundred = [f"acme/app#{n}" for n in range(1, 101)]
        measure("read 100 issues (full scan batch)", lambda: len(conn.read(hundred)))
        measure("read the same 100 again, unchanged (304s)", lambda: len(conn.read(hundred)))
        measure("read 1 issue", lambda: len(conn.read([made.id])))
        measure("read it again, unchanged (304)", lambda: len(conn.read([made.id])))
    forget_github()
    return out


def jira(deployment: str) -> list[str]:
    out = []
    clock = FakeClock(start=T0)
    forget_jira()
    with JiraApi(clock=clock, deployment=deployment, time_zone="Asia/Kolkata") as api, http.use_clock(clock):
        api.add_user("hubbot", "hub@example.com", "jira-bench-token")
        api.add_project("ABC")
        for n in range(N):
            api.add_issue("ABC", f"s{n}", updated=T0 - 50000 + n * 7.123)
        for n in range(230):
            api.add_issue("ABC", f"tie{n}", updated=T0 - 30 + n / 1000)
        for status in ("In Progress", "In Review"):
            api.add_issue("ABC", f"sample {status}", status=status, updated=T0 - 60000)
        conn = JiraConnector(api.url, {"projects": "ABC", "email": "hub@example.com",
                                       "deployment": "cloud" if deployment == "cloud" else "datacenter"},
                             {"token": "jira-bench-token"})

        def measure(label: str, fn) -> None:
            before = len(api.log)
            started = time.process_time()
            result = fn()
            cpu = (time.process_time() - started) * 1000
            out.append(f"| jira {deployment} | {label} | {result} | {len(api.log) - before} | – | {cpu:.0f} ms |")

        measure(f"first detection, {N + 232} issues", lambda: drain(conn, "ABC", None))
        since = datetime.fromtimestamp(T0 - 30, UTC)
        measure("230 issues in one minute", lambda: drain(conn, "ABC", since))
        idle = datetime.fromtimestamp(T0, UTC)
        measure("idle detection (nothing changed)", lambda: drain(conn, "ABC", idle))
        hundred = [i["id"] for i in list(api.issues.values())[:100]]
        measure("read 100 issues (full scan batch)", lambda: len(conn.read(hundred)))
        measure("create (label search, newest-key search, 2 key reads, POST, read)",
                lambda: bool(conn.find_by_hub_key("ABC", "k1") or conn.create("ABC", {"summary": "x"}, "k1")))
        made = conn.find_by_hub_key("ABC", "k1")
        measure("status To Do → Done (3 transitions, workflow learned)",
                lambda: conn.transition(made.id, "status", "Done").fields["status"])
        again = conn.create("ABC", {"summary": "z"}, "k2")
        measure("status To Do → Done again (graph known)", lambda: conn.transition(again.id, "status", "Done").fields["status"])
    forget_jira()
    return out


def main() -> None:
    print("| connector | operation | result | requests | quota used | connector CPU |")
    print("|---|---|---|---|---|---|")
    for line in github() + jira("cloud") + jira("dc"):
        print(line)


if __name__ == "__main__":
    main()
