"""The ``jira`` connector: Jira Cloud and Jira Data Center over REST API v2.

Artifact ids are Jira's numeric issue ids (stable when an issue moves and its key changes);
projects are project keys. API v2 on both deployments keeps ``description`` as plain text (v3
would need Atlassian Document Format). The hub key is a label (the engine's ``tasktop-hub:…`` key itself): labels are
searchable with JQL on Cloud and Data Center alike without an app, whereas an entity property is
only searchable when an app declares it indexed. The label is hidden from the ``labels`` field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integrations.connectors import http
from integrations.connectors.base import ArtifactData, ChangePage, Connector, ConnectorError, Parameter, Person
from integrations.connectors.jira import lookup, people, timefmt
from integrations.connectors.jira.client import JiraHttp, shared
from integrations.connectors.jira.transitions import Mover

HUB_LABEL = "tasktop-hub"
SYSTEM_FIELDS = {"summary": "string", "description": "text", "status": "state", "priority": "choice",
                 "assignee": "user", "reporter": "user", "labels": "multichoice", "issuetype": "choice", "key": "string"}
READ_ONLY = frozenset({"key", "issuetype"})
PAGE = 100  # Cloud caps search pages at 100 issues when fields are requested
READ_BATCH = 50  # Cloud's reconcileIssues takes at most 50 issue ids
# Seconds change detection re-reads behind its cursor (the engine's own default is 5 s). Jira's
# search is eventually consistent with no published bound; public reports speak of seconds, at
# times minutes. Re-reading costs a few search pages per run; missing costs a full-scan interval.
DEFAULT_OVERLAP = 120
GATEWAY_PATH = "/ex/jira/"  # https://api.atlassian.com/ex/jira/{cloudId}: where scoped tokens work


class JiraConnector(Connector):
    kind = "jira"
    label = "Jira (Cloud and Data Center)"
    url_help = "Cloud: https://SITE.atlassian.net; Data Center: your server's base URL, e.g. https://jira.example.com."
    page_size = PAGE
    parameters = (
        Parameter("deployment", "Deployment", type="choice", choices=("cloud", "datacenter"), default="cloud",
                  required=False, help="cloud: https://SITE.atlassian.net; datacenter: your server's base URL."),
        Parameter("projects", "Project keys", help="Comma-separated project keys, e.g. ABC, OPS."),
        Parameter("email", "Account email (Cloud)", required=False,
                  help="The Atlassian account the API token belongs to. Not used on Data Center."),
        Parameter("token", "API token (Cloud) or personal access token (Data Center)", sensitive=True),
        Parameter("issue_type", "Issue type for new issues", required=False, default="Task"),
        Parameter("custom_fields", "Custom fields", required=False, default="",
                  help="Comma-separated custom field ids to sync, e.g. customfield_10016."),
        Parameter("time_zone", "Time zone override", required=False, default="",
                  help="Only if the account's profile time zone cannot be read; JQL dates use it."),
        Parameter("detection_overlap", "Detection overlap (s)", type="integer", required=False,
                  default=DEFAULT_OVERLAP,
                  help="How far each change detection re-reads behind the last change it saw. Jira's search index "
                       "is eventually consistent and Atlassian publishes no bound: an issue indexed later than "
                       "this is only picked up by the next full scan. Raise it if your site lags more."),
        *http.TLS_PARAMETERS,
        *http.PROXY_PARAMETERS,
        *http.TIMEOUT_PARAMETERS,
    )

    def __init__(self, url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        super().__init__(url, options, secrets)
        self.base_url = url.rstrip("/")
        self._tokens: dict[tuple[str, int], str | None] = {}  # (jql, page) → nextPageToken for that page

    @property
    def http(self) -> JiraHttp:
        return shared(self.base_url, self.options, self.secrets)

    @property
    def cloud(self) -> bool:
        return self.options.get("deployment", "cloud") != "datacenter"

    # -- connection --

    def project_keys(self) -> list[str]:
        return [p.strip().upper() for p in str(self.options.get("projects") or "").split(",") if p.strip()]

    def custom_field_ids(self) -> list[str]:
        return [f.strip() for f in str(self.options.get("custom_fields") or "").split(",") if f.strip()]

    def tz(self) -> ZoneInfo:
        return timefmt.zone(self.options.get("time_zone") or self.http.me().get("timeZone"))

    def test_connection(self) -> str:
        try:
            me = self.http.me()
        except http.HttpError as exc:
            if exc.status == 401 and self.cloud:
                raise ConnectorError(self._unauthorised_hint(), auth=True) from None
            raise
        visible = {p["key"] for p in (self.http.get("/project")[0] or [])}
        missing = [k for k in self.project_keys() if k not in visible]
        if missing:
            raise ConnectorError(f"Project(s) not found or not visible to this account: {', '.join(missing)}")
        known = {f["id"] for f in (self.http.get("/field")[0] or [])}
        unknown = [f for f in self.custom_field_ids() if f not in known]
        if unknown:
            raise ConnectorError(f"Unknown custom field id(s): {', '.join(unknown)}")
        who = me.get("emailAddress") or me.get("name") or me.get("displayName") or me.get("accountId")
        return f"Connected to {self.base_url} as {who} (time zone {self.tz()}); projects: {', '.join(self.project_keys())}."

    def _unauthorised_hint(self) -> str:
        """A 401 from Cloud. Scoped API tokens (the only kind service accounts get) are refused on the
        site URL and work only through the api.atlassian.com gateway (Atlassian KB "401 Unauthorized
        error when service account accesses Jira or Confluence API"); a token does not show its kind."""
        text = f"Jira answered 401 (not authenticated) at {self.base_url}. "
        if GATEWAY_PATH in self.base_url:
            return text + ("Check the account email, the token (not expired, not revoked) and its scopes: "
                           "read:jira-work, write:jira-work, read:jira-user.")
        cloud_id = ""
        try:  # public: the site's cloud id
            response = self.http.client.request("GET", "/_edge/tenant_info", allow=(404,))
            data = self.http.client.json_of(response) if response.status_code == 200 else {}
            cloud_id = str((data or {}).get("cloudId") or "") if isinstance(data, dict) else ""
        except ConnectorError:
            pass
        gateway = f"https://api.atlassian.com{GATEWAY_PATH}{cloud_id or '{cloudId}'}"
        where = "" if cloud_id else f" (the cloud id is at {self.base_url}/_edge/tenant_info)"
        service = str(self.options.get("email") or "").lower().endswith("@serviceaccount.atlassian.com")
        kind = "This is a service account, so its token is a scoped API token" if service else \
            "If the token is a scoped API token (service accounts only have those)"
        return text + (f"{kind}: Jira accepts it only through the gateway, so set the URL to {gateway}{where}. "
                       "Otherwise check the account email and the API token.")

    def projects(self) -> list[str]:
        return self.project_keys()

    def detection_overlap(self) -> float:
        value = self.options.get("detection_overlap")
        return float(DEFAULT_OVERLAP if value in (None, "") else value)

    def fields(self) -> dict[str, str]:
        return {**SYSTEM_FIELDS, **{cf: "string" for cf in self.custom_field_ids()}}

    def people(self) -> list[Person] | None:
        return people.listed(self.http, self.project_keys(), self.cloud, self._person)

    def find_people(self, query: str) -> list[Person]:
        return people.find(self.http, self.project_keys(), self.cloud, self._person, query)

    def _person(self, user: Mapping[str, Any]) -> Person:
        if self.cloud:  # Cloud has no user names (GDPR); email only when the user's privacy allows
            return Person(id=user.get("accountId", ""), email=user.get("emailAddress") or "",
                          name=user.get("displayName") or "")
        return Person(id=user.get("name", ""), username=user.get("name", ""), email=user.get("emailAddress") or "",
                      name=user.get("displayName") or "")

    # -- change detection --

    def _search(self, jql: str, page: int, size: int = PAGE, extra: Mapping[str, Any] | None = None
                ) -> tuple[list[dict], bool]:
        fields = ["summary", "description", "status", "priority", "assignee", "reporter", "labels", "issuetype",
                  "project", "updated", *self.custom_field_ids()]
        if not self.cloud:
            body = {"jql": jql, "startAt": page * size, "maxResults": size, "fields": fields, **(extra or {})}
            data, _ = self.http.request("POST", "/search", json=body, idempotent=True)  # a search changes nothing
            issues = data.get("issues") or []
            return issues, data.get("startAt", 0) + len(issues) >= data.get("total", 0)
        # Cloud pages by token: start from the nearest page whose token we know.
        current, token = 0, None
        for p in range(page, 0, -1):
            if (jql, p) in self._tokens:
                current, token = p, self._tokens[(jql, p)]
                if token is None:
                    return [], True  # that page is past the last one
                break
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        while True:
            body = {"jql": jql, "maxResults": size, "fields": fields, **(extra or {}),
                    **({"nextPageToken": token} if token else {})}
            data, _ = self.http.request("POST", "/search/jql", json=body, idempotent=True)
            token = data.get("nextPageToken")
            last = bool(data.get("isLast")) or not token
            self._tokens[(jql, current + 1)] = None if last else token
            if current == page:
                return data.get("issues") or [], last
            if last:
                return [], True
            current += 1

    def changes(self, project: str, since: datetime | None, page: int) -> ChangePage:
        jql = f'project = "{self._key(project)}"'
        if since is not None:
            jql += f' AND updated >= "{timefmt.jql_date(since, self.tz())}"'
        issues, done = self._search(jql + " ORDER BY updated ASC, key ASC", page)
        artifacts = [self._artifact(i) for i in issues]
        if since is not None:  # the query's minute floor reads up to a minute too much
            artifacts = [a for a in artifacts if a.updated_at >= since]
        return ChangePage(artifacts, done=done)

    # -- reading and writing --

    def read(self, ids: Iterable[str]) -> list[ArtifactData]:
        """Several issues per search (``id in (...)``, every page of it), one GET each otherwise.

        The engine takes an id missing from the answer for a deleted issue, so absence is only
        reported after asking for the issue itself: a search page can come back short, and an
        issue can be missing from a lagging index (reconcileIssues should prevent that on Cloud).
        """
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, ArtifactData] = {}
        for start in range(0, len(wanted), READ_BATCH):
            chunk = wanted[start:start + READ_BATCH]
            numeric = [i for i in chunk if i.isdigit()]
            if len(numeric) > 1:
                try:
                    # Cloud's index is eventually consistent; reconcileIssues makes it read-after-write.
                    extra = {"reconcileIssues": [int(i) for i in numeric]} if self.cloud else {}
                    for issue in self._search_all(f"id in ({', '.join(numeric)})", READ_BATCH, extra):
                        found[str(issue["id"])] = self._artifact(issue)
                except ConnectorError as exc:
                    if exc.transient or exc.auth or exc.unreachable:
                        raise
                    # JQL refuses ids that no longer exist: the GETs below ask one by one.
            for artifact_id in chunk:
                if artifact_id in found:
                    continue
                data, status = self.http.get(f"/issue/{artifact_id}", {"fields": self._field_list()}, allow=(404,))
                if status == 200:
                    found[artifact_id] = self._artifact(data)
        return [found[i] for i in wanted if i in found]

    def _search_all(self, jql: str, size: int, extra: Mapping[str, Any] | None = None) -> list[dict]:
        """Every page of a search: a page may hold fewer than asked, only isLast / total say it is the last."""
        out: list[dict] = []
        page = 0
        while True:
            issues, last = self._search(jql, page, size, extra)
            out += issues
            if last:
                return out
            page += 1

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        key = self._key(project)
        values = dict(fields)
        status = values.pop("status", None)
        payload = self._payload(values)
        payload.update({"project": {"key": key}, "issuetype": {"name": self.options.get("issue_type") or "Task"}})
        payload["labels"] = [*payload.get("labels", []), hub_label(hub_key)]
        if not payload.get("summary"):
            raise ConnectorError("A Jira issue needs a summary; map a field to 'summary'.")
        created, _ = self.http.request("POST", "/issue", json={"fields": payload})
        if status:
            self._mover().move(created["id"], str(status))
        return self.read([created["id"]])[0]

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        values = dict(fields)
        status = values.pop("status", None)
        payload = self._payload(values)
        if "labels" in payload:
            # Keep the hub key label: it is how a crash-interrupted creation is recognised.
            current, _ = self.http.get(f"/issue/{artifact_id}", {"fields": "labels"})
            payload["labels"] += [x for x in current["fields"].get("labels") or [] if is_hub_label(x)]
        if payload:
            self.http.request("PUT", f"/issue/{artifact_id}", json={"fields": payload})
        if status:
            self._mover().move(artifact_id, str(status))
        return self.read([artifact_id])[0]

    def transition(self, artifact_id: str, field_name: str, state: str) -> ArtifactData:
        if field_name != "status":
            return self.update(artifact_id, {field_name: state})
        self._mover().move(artifact_id, state)
        return self.read([artifact_id])[0]

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        """The label search finds older creations; a lagging index is covered by reading the keys
        after the newest issue search knows (consistent reads: see lookup.py)."""
        key, label = self._key(project), hub_label(hub_key)
        issues, _ = self._search(f'project = "{key}" AND labels = {jql_string(label)}', 0, 2)
        if issues:
            return self._artifact(issues[0])
        issue = lookup.newest_with_label(self.http, lambda jql, n: self._search(jql, 0, n)[0], key, label,
                                         self._field_list())
        return self._artifact(issue) if issue else None

    # -- helpers --

    def _mover(self) -> Mover:
        return Mover(self.http, lambda jql, n: self._search(jql, 0, n)[0])

    def _field_list(self) -> str:
        return ",".join([*SYSTEM_FIELDS, "updated", "project", *self.custom_field_ids()])

    def _key(self, project: str) -> str:
        if not project or not project.replace("_", "").isalnum():
            raise ConnectorError(f"Not a Jira project key: {project!r}")
        return project.upper()

    def _user_value(self, user: Mapping[str, Any] | None) -> str | None:
        if not user:
            return None
        return user.get("accountId") if self.cloud else user.get("name")

    def _artifact(self, issue: Mapping[str, Any]) -> ArtifactData:
        f = issue.get("fields") or {}
        labels = f.get("labels") or []
        hub_key = next((key_of_label(x) for x in labels if is_hub_label(x)), "")
        values: dict[str, Any] = {
            "summary": f.get("summary") or "", "description": f.get("description") or "",
            "status": (f.get("status") or {}).get("name"), "priority": (f.get("priority") or {}).get("name"),
            "assignee": self._user_value(f.get("assignee")), "reporter": self._user_value(f.get("reporter")),
            "labels": sorted(x for x in labels if not is_hub_label(x)),
            "issuetype": (f.get("issuetype") or {}).get("name"), "key": issue.get("key", ""),
        }
        for cf in self.custom_field_ids():
            value = f.get(cf)
            if isinstance(value, list):  # multi-selects, labels-like fields
                value = [v.get("value", v.get("name")) if isinstance(v, dict) else v for v in value]
            values[cf] = value.get("value", value.get("name")) if isinstance(value, dict) else value
        project = (f.get("project") or {}).get("key") or issue.get("key", "").rpartition("-")[0]
        updated = f.get("updated") or ""
        return ArtifactData(id=str(issue["id"]), project=project, updated_at=timefmt.parse_time(updated),
                            fields=values, version=_version(updated, values), hub_key=hub_key)

    def _payload(self, values: Mapping[str, Any]) -> dict[str, Any]:
        known = set(SYSTEM_FIELDS) | set(self.custom_field_ids())
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConnectorError(f"Jira field(s) not synced by this connection: {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(known))}")
        read_only = sorted(set(values) & READ_ONLY)
        if read_only:
            raise ConnectorError(f"Jira field(s) {', '.join(read_only)} cannot be written")
        payload: dict[str, Any] = {}
        for name, value in values.items():
            if name == "priority":
                payload[name] = {"name": value} if value else None
            elif name in ("assignee", "reporter"):
                payload[name] = self._user_ref(value)
            elif name == "labels":
                labels = [value] if isinstance(value, str) else list(value or [])
                payload[name] = [str(x).replace(" ", "_") for x in labels]  # Jira labels cannot hold spaces
            elif name.startswith("customfield_"):
                payload[name] = self._custom_value(name, value)
            else:
                payload[name] = value
        return payload

    def _custom_value(self, field_id: str, value: Any) -> Any:
        """Select lists take ``{"value": …}`` (a list of them for multi-selects); others take the value."""
        schema = self.http.field_schemas().get(field_id) or {}
        kind, items = schema.get("type"), schema.get("items")
        if value is None:
            return None
        if kind == "option":
            return {"value": str(value)}
        if kind == "array" and items == "option":
            return [{"value": str(v)} for v in ([value] if isinstance(value, str) else value)]
        if kind == "user":
            return self._user_ref(value)
        return value

    def _user_ref(self, value: Any) -> dict | None:
        if value in (None, ""):
            return None
        ident = getattr(value, "id", None) or str(value)
        if "@" in ident:  # an email: ask Jira who that is
            users, _ = self.http.get("/user/search", {"query" if self.cloud else "username": ident})
            match = [u for u in users or [] if (u.get("emailAddress") or "").lower() == ident.lower()] or (users or [])
            if len(match) != 1:
                raise ConnectorError(f"No single Jira user matches {ident!r}")
            ident = self._user_value(match[0]) or ""
        return {"accountId": ident} if self.cloud else {"name": ident}


def jql_string(value: str) -> str:
    """A JQL string literal: quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _version(updated: str, values: Mapping[str, Any]) -> str:
    # The digest tells apart two states stamped with one millisecond (the hub's write and a person's).
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{updated}/{digest}"


def hub_label(hub_key: str) -> str:
    """The label carrying a hub key (Jira labels hold no spaces and at most 255 characters)."""
    if " " in hub_key or len(hub_key) > 240:
        raise ConnectorError(f"Hub key {hub_key!r} cannot be a Jira label")
    # The engine's keys (tasktop-hub:<integration>:<side>:<id>) are labels as they are.
    return hub_key if hub_key.startswith(HUB_LABEL + ":") else f"{HUB_LABEL}-{hub_key}"


def is_hub_label(label: str) -> bool:
    return label.startswith((HUB_LABEL + ":", HUB_LABEL + "-"))


def key_of_label(label: str) -> str:
    return label[len(HUB_LABEL) + 1:] if label.startswith(HUB_LABEL + "-") else label
