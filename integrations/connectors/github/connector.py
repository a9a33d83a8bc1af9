"""The ``github`` connector: GitHub Issues over the REST API v3 (github.com and Enterprise Server).

Artifact ids are ``owner/repo#number`` (GitHub has no REST lookup by global issue id); projects
are ``owner/repo``. Pull requests, which the issues endpoint also lists, are skipped.

An issue transferred to another repository keeps its id for nobody: GitHub answers its old
address with ``301 Moved Permanently`` to the issue's new address (a new number in the new
repository). Reads follow the redirect, only to say where the issue went; the answer is the
transferred issue, not the one asked for, so it is left out (gone from the collection's
repository, like a deleted issue) — never returned under the old repository's name with its new
number, which would be another issue's id. Writes never follow the redirect (client.write).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from integrations.connectors import http
from integrations.connectors.base import ArtifactData, ChangePage, Connector, ConnectorError, Parameter, Person
from integrations.connectors.github import fields as gh
from integrations.connectors.github.client import GitHubHttp, shared

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ID = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(\d+)$")
_ISSUE_URL = re.compile(r"/repos/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/issues/(\d+)$")
log = logging.getLogger(__name__)
# The hub user's newest issues in a repository, scanned for a hub-key marker before creating: a
# plain listing is consistent at once, unlike search (whose index lags, and which may not index
# the HTML comment the marker is at all). 5 pages = the 500 newest, which covers at least the last
# hour of the hub's creations: GitHub's secondary limits allow about 500 content-creating requests
# an hour. A twin older than that window is not found (docs/connectors/github.md).
RECENT_PAGES = 5


def api_url(url: str) -> str:
    """github.com's web URL means its API; anything else is used as given (GHE: https://host/api/v3)."""
    url = url.rstrip("/")
    if url in ("https://github.com", "http://github.com", "https://www.github.com"):
        return "https://api.github.com"
    return url


class GitHubConnector(Connector):
    kind = "github"
    label = "GitHub Issues"
    url_help = "https://github.com, or a GitHub Enterprise Server's API address, e.g. https://github.example.com/api/v3."
    page_size = 100
    parameters = (
        Parameter("repositories", "Repositories",
                  help="Comma-separated owner/repo names, e.g. acme/web, acme/api. These are the projects."),
        Parameter("token", "Access token", sensitive=True,
                  help="Fine-grained token with Issues: read and write (and Metadata: read), or a classic "
                       "token with the repo scope (public_repo for public repositories only)."),
        Parameter("write_interval", "Seconds between writes", type="integer", required=False, default=1,
                  help="GitHub asks integrations to wait a second between POST/PATCH requests."),
        *http.TLS_PARAMETERS,
        *http.PROXY_PARAMETERS,
        *http.TIMEOUT_PARAMETERS,
    )

    def __init__(self, url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        super().__init__(url, options, secrets)
        self.base_url = api_url(url)
        self._milestones: dict[str, dict[str, int]] = {}
        self._logins: dict[str, str] = {}

    @property
    def http(self) -> GitHubHttp:
        token = self.secrets.get("token") or ""
        if not token:
            raise ConnectorError("No GitHub access token is configured.", auth=True)
        return shared(self.base_url, token, self.options, self.secrets)

    # -- connection --

    def repositories(self) -> list[str]:
        names = [r.strip() for r in str(self.options.get("repositories") or "").split(",") if r.strip()]
        bad = [n for n in names if not _REPO.match(n)]
        if bad:
            raise ConnectorError(f"Not an owner/repo name: {', '.join(bad)}")
        return names

    def me(self) -> dict:
        client = self.http
        if client.me is None:  # once per connection, not per run
            data, _, _ = client.get("/user")
            client.me = data
        return client.me

    def test_connection(self) -> str:
        try:
            me = self.me()
        except http.HttpError as exc:
            if exc.status == 404:
                raise ConnectorError(f"{self.base_url} does not answer like the GitHub API; for GitHub Enterprise "
                                     "Server use https://HOST/api/v3.") from None
            raise
        problems, fine = [], []
        for repo in self.repositories():
            data, _, status = self.http.get(f"/repos/{repo}", allow=(404,))
            if status == 404:
                problems.append(f"{repo}: not found, or the token cannot see it")
            elif not (data.get("permissions") or {}).get("push", False):
                problems.append(f"{repo}: the token cannot write issues")
            else:
                fine.append(repo)
        if problems:
            raise ConnectorError("; ".join(problems))
        return f"Connected to {self.base_url} as {me.get('login')}; repositories: {', '.join(fine) or 'none'}."

    def projects(self) -> list[str]:
        return self.repositories()

    def fields(self) -> dict[str, str]:
        return dict(gh.FIELDS)

    def people(self) -> list[Person] | None:
        """Assignable users of every repository; emails where the user made them public."""
        seen: dict[str, Person] = {}
        for repo in self.repositories():
            for user in self._all_pages(f"/repos/{repo}/assignees"):
                login = user["login"]
                if login in seen:
                    continue
                detail, _, status = self.http.get(f"/users/{login}", allow=(404,))
                email = (detail or {}).get("email") or "" if status == 200 else ""
                seen[login] = Person(id=str(user["id"]), username=login, email=email, name=(detail or {}).get("name") or "")
        return list(seen.values())

    def _all_pages(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        out: list[dict] = []
        page = 1
        while True:
            data, link, _ = self.http.get(path, {**(params or {}), "per_page": 100, "page": page})
            out += data or []
            if 'rel="next"' not in link:
                return out
            page += 1

    # -- change detection --

    def changes(self, project: str, since: datetime | None, page: int) -> ChangePage:
        params: dict[str, Any] = {"state": "all", "sort": "updated", "direction": "asc",
                                  "per_page": self.page_size, "page": page + 1}
        if since is not None:
            params["since"] = gh.format_since(since)
        data, link, _ = self.http.get(f"/repos/{self._repo(project)}/issues", params)
        artifacts = [self._artifact(project, issue) for issue in data or [] if "pull_request" not in issue]
        if since is not None:
            artifacts = [a for a in artifacts if a.updated_at >= since.replace(microsecond=0)]
        return ChangePage(artifacts, done='rel="next"' not in link)

    # -- reading and writing --

    def read(self, ids: Iterable[str]) -> list[ArtifactData]:
        out = []
        for artifact_id in dict.fromkeys(ids):
            repo, number = self._split(artifact_id)
            data, _, status = self.http.get(f"/repos/{repo}/issues/{number}", allow=(404, 410))
            if status != 200 or "pull_request" in data:
                continue
            where = _where(data)
            if where is not None and where != (repo.lower(), number):
                # Transferred (the redirect was followed): not this repository's issue any more.
                log.info("GitHub issue %s was transferred to %s#%s: the hub takes it as gone from %s "
                         "(its pair's twin is left alone).", artifact_id, *where, repo)
                continue
            out.append(self._artifact(repo, data))
        return out

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        repo = self._repo(project)
        payload = self._payload(repo, fields)
        if not payload.get("title"):
            raise ConnectorError("A GitHub issue needs a title; map a field to 'title'.")
        state, reason = payload.pop("state", None), payload.pop("state_reason", None)
        payload["body"] = gh.join_body(fields.get("body"), hub_key)
        created = self.http.write("POST", f"/repos/{repo}/issues", payload)
        if state == "closed":  # issues are born open; closing is a second call
            created = self.http.write("PATCH", f"/repos/{repo}/issues/{created['number']}",
                                      {"state": "closed", **({"state_reason": reason} if reason else {})})
        return self._artifact(repo, created)

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        repo, number = self._split(artifact_id)
        payload = self._payload(repo, fields)
        if "body" in fields:
            # Keep the hub key marker: it is how a crash-interrupted creation is recognised.
            current, _, _ = self.http.get(f"/repos/{repo}/issues/{number}")
            payload["body"] = gh.join_body(fields.get("body"), gh.split_body(current.get("body"))[1])
        if not payload:
            found = self.read([artifact_id])
            if not found:
                raise ConnectorError(f"GitHub issue {artifact_id} is gone from {repo} (deleted or transferred).")
            return found[0]
        return self._artifact(repo, self.http.write("PATCH", f"/repos/{repo}/issues/{number}", payload))

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        """Look among the hub user's newest issues (``RECENT_PAGES`` pages, newest first): a plain
        listing is consistent at once. Search is not used: its index lags creation, and whether it
        indexes the hidden HTML-comment marker differs between github.com and Enterprise Server."""
        repo = self._repo(project)
        login = self.me().get("login", "")
        for page in range(1, RECENT_PAGES + 1):
            data, link, _ = self.http.get(f"/repos/{repo}/issues", {
                "state": "all", "creator": login, "sort": "created", "direction": "desc", "per_page": 100, "page": page})
            for issue in data or []:
                if gh.split_body(issue.get("body"))[1] == hub_key and "pull_request" not in issue:
                    return self._artifact(repo, issue)
            if 'rel="next"' not in link:
                break  # every issue this user created was looked at
        return None

    def transition(self, artifact_id: str, field_name: str, state: str) -> ArtifactData:
        # GitHub has no workflow: open ↔ closed is one write (with an optional reason "closed:not_planned").
        value, _, reason = str(state).partition(":")
        changes: dict[str, Any] = {"state": value}
        if reason:
            changes["state_reason"] = reason
        return self.update(artifact_id, changes)

    # -- helpers --

    def _payload(self, repo: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return gh.to_payload(fields, self._milestone_numbers(repo) if fields.get("milestone") else {},
                                 self._login_of)
        except ValueError as exc:
            raise ConnectorError(str(exc)) from None

    def _login_of(self, value: Any) -> str:
        """A person value: a login, a Person, or GitHub's numeric user id (what people() calls id)."""
        text = str(getattr(value, "username", "") or getattr(value, "id", "") or value)
        if not text.isdigit():
            return text
        if text not in self._logins:
            data, _, status = self.http.get(f"/user/{text}", allow=(404,))
            if status == 404:
                raise ValueError(f"No GitHub user has id {text}")
            self._logins[text] = data["login"]
        return self._logins[text]

    def _milestone_numbers(self, repo: str) -> dict[str, int]:
        if repo not in self._milestones:
            items = self._all_pages(f"/repos/{repo}/milestones", {"state": "all"})
            self._milestones[repo] = {m["title"]: m["number"] for m in items}
        return self._milestones[repo]

    def _artifact(self, project: str, issue: Mapping[str, Any]) -> ArtifactData:
        fields, hub_key = gh.to_fields(issue)
        repo = self._repo(project)
        return ArtifactData(id=f"{repo}#{issue['number']}", project=repo, updated_at=gh.parse_time(issue["updated_at"]),
                            fields=fields, version=_version(issue["updated_at"], fields), hub_key=hub_key)

    def _repo(self, project: str) -> str:
        if not _REPO.match(project or ""):
            raise ConnectorError(f"Not an owner/repo name: {project!r}")
        return project

    def _split(self, artifact_id: str) -> tuple[str, int]:
        m = _ID.match(str(artifact_id))
        if not m:
            raise ConnectorError(f"Not a GitHub issue id (owner/repo#number): {artifact_id!r}")
        return m.group(1), int(m.group(2))


def _where(issue: Mapping[str, Any]) -> tuple[str, int] | None:
    """(owner/repo in lower case, number) that an issue answer names in its API ``url``."""
    m = _ISSUE_URL.search(str(issue.get("url") or ""))
    return (m.group(1).lower(), int(m.group(2))) if m else None


def _version(updated_at: str, fields: Mapping[str, Any]) -> str:
    # updated_at has whole seconds; the digest tells apart two states written within one second.
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{updated_at}/{digest}"
