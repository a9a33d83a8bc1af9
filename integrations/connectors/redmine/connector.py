"""The ``redmine`` connector: issues of Redmine projects over the REST API.

Projects are Redmine project *identifiers* (``hub-demo``); artifact ids are issue numbers.
Change detection (``changes_after``) pages by cursor, never by offset: every page is a fresh
``/issues.json`` query from the last ``(updated_on second, id)`` seen — ``updated_on>=T`` with
``sort=updated_on,id`` for the seconds after it, ``issue_id>=N`` within one crowded second — so
an issue edited between two page requests (it moves to the end, every later one moves up) can
push no other issue out of reach. Redmine compares whole seconds and turns ``>=T`` into
``> T - 1 s``, so the previous second comes back too; the connector drops what lies before the
cursor. Deletes are hard in Redmine and never seen.

Crash-safe creation: the hub key is written into an issue custom field (default name "Hub key",
string, for all projects and trackers, *used as a filter*) and found again with ``cf_<id>=key``.
``tests/integrations/connectors/redmine/setup_redmine.sh`` creates it; docs/connectors/redmine.md says how to by hand.

Status changes obey Redmine's workflow, which *silently ignores* a status the user may not set
(HTTP 204, nothing changed). The connector checks ``allowed_statuses`` and reads back, so a
refused transition is an error naming the allowed statuses instead of a silent no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from integrations.connectors import http
from integrations.connectors.base import ArtifactData, ChangePage, Connector, ConnectorError, Parameter, Person
from integrations.connectors.redmine import fields as rf
from integrations.connectors.redmine.lookups import PAGE, RedmineLookups, status_of


class RedmineConnector(RedmineLookups, Connector):
    kind = "redmine"
    label = "Redmine"
    url_help = "The Redmine server's base URL, e.g. https://redmine.example.com (its REST API must be enabled)."
    page_size = PAGE
    parameters = (
        Parameter("api_key", "API key", sensitive=True,
                  help="The integration user's API key (My account → API access key). The REST API must be "
                       "enabled: Administration → Settings → API."),
        Parameter("hub_key_field", "Hub key custom field", required=False, default="Hub key",
                  help="Name or id of the issue custom field (text, for all projects and trackers, used as a "
                       "filter) where the hub marks issues it creates. Give the id if the API user is not an "
                       "administrator."),
        *http.PROXY_PARAMETERS,
        *http.TIMEOUT_PARAMETERS,
        *http.TLS_PARAMETERS,
    )

    def __init__(self, url: str, options: Mapping[str, Any], secrets: Mapping[str, Any],
                 *, client: http.HttpClient | None = None) -> None:
        super().__init__(url, options, secrets)
        self._client = client
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}

    # -- plumbing --

    @property
    def client(self) -> http.HttpClient:
        if self._client is None:
            key = str(self.secrets.get("api_key") or "")
            if not key:
                raise ConnectorError("No Redmine API key is configured.", auth=True)
            self._client = http.HttpClient(
                self.url, headers={"X-Redmine-API-Key": key}, secrets=[key],
                proxy=http.ProxyConfig.from_settings(self.options, self.secrets),
                timeouts=http.Timeouts.from_settings(self.options), verify=http.verify_from_settings(self.options),
                name=f"redmine {self.url}",
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _call(self, method: str, path: str, *, what: str, params: Mapping[str, Any] | None = None,
              json: Any = None, allow: Iterable[int] = ()) -> Any:
        """One request; Redmine's error statuses become messages a person can act on."""
        try:
            response = self.client.request(method, path, params=params, json=json, allow=allow)
        except http.HttpError as exc:
            raise _explain(exc, what) from None
        if response.status_code in set(allow) or response.status_code == 204 or not response.content:
            return response
        return self.client.json_of(response)

    def _all(self, path: str, key: str, what: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        out: list[dict] = []
        offset = 0
        while True:
            data = self._call("GET", path, what=what, params={**(params or {}), "offset": offset, "limit": PAGE})
            items = data.get(key) or []
            out += items
            offset += len(items)
            if not items or offset >= int(data.get("total_count", offset)):
                return out

    # -- the contract --

    def test_connection(self) -> str:
        user = self._call("GET", "/users/current.json", what="check the API key")["user"]
        who = user.get("login") or user.get("id")
        message = f"Connected to Redmine as {who}."
        try:
            self.hub_key_field_id()
        except ConnectorError as exc:
            if exc.auth or exc.unreachable or exc.transient:
                raise
            message += f" Warning: {exc} Without it the hub cannot create issues here."
        return message

    def creation_problem(self) -> str:
        """Without the hub-key custom field the hub cannot create issues here (a Redmine only
        read by a one-way integration needs none)."""
        try:
            self.hub_key_field_id()
        except ConnectorError as exc:
            if exc.auth or exc.unreachable or exc.transient:
                raise
            return str(exc)
        return ""

    def projects(self) -> list[str]:
        return sorted(self.project_map(refresh=True).values())

    def fields(self) -> dict[str, str]:
        result = dict(rf.LABELS)
        hub_field = self.hub_key_field_id(required=False)
        for f in self._custom_field_names():
            if f["id"] != hub_field:
                result[rf.CF_PREFIX + f["name"]] = f"{f['name']} (custom field)"
        return result

    def people(self) -> list[Person] | None:
        """All users (admin key), else the members of every visible project (names and ids only)."""
        try:
            users = self._all("/users.json", "users", "list users", {"status": 1})
            return [Person(id=str(u["id"]), username=u.get("login", ""), email=u.get("mail", "") or "",
                           name=f"{u.get('firstname', '')} {u.get('lastname', '')}".strip()) for u in users]
        except ConnectorError as exc:
            if not (exc.auth and status_of(exc) == 403):
                raise
        seen: dict[str, Person] = {}
        for pid in self.project_map():
            for m in self._all(f"/projects/{pid}/memberships.json", "memberships", "list project members"):
                user = m.get("user")
                if user and str(user["id"]) not in seen:
                    seen[str(user["id"])] = Person(id=str(user["id"]), name=user.get("name", ""))
        return list(seen.values())

    def changes(self, project: str, since: datetime | None, page: int) -> ChangePage:
        params: dict[str, Any] = {"project_id": project, "subproject_id": "!*", "status_id": "*",
                                  "sort": "updated_on,id", "offset": page * PAGE, "limit": PAGE}
        if since is not None:
            params["updated_on"] = rf.format_since(since)
        data = self._call("GET", "/issues.json", params=params, what=f"list issues of project '{project}'")
        issues = data.get("issues") or []
        artifacts = [self._artifact(i, project) for i in issues]
        if since is not None:
            floor = rf.floor_second(since)
            artifacts = [a for a in artifacts if a.updated_at >= floor]  # the extra second ">=" returns
        done = not issues or page * PAGE + len(issues) >= int(data.get("total_count", 0))
        return ChangePage(artifacts, done=done)

    def changes_after(
        self, project: str, since: datetime | None, after: tuple[datetime, str] | None, limit: int
    ) -> ChangePage:
        """The next issues after the key ``after`` (or from ``since``), in (second, id) order,
        each page a fresh query from that key. Whole seconds only: Redmine orders one second's
        issues by their hidden microseconds, not by id."""
        second: datetime | None = None
        after_id = 0
        if after is not None:
            second, after_id = rf.floor_second(after[0]), int(after[1])
        start = rf.floor_second(since) if since is not None else None
        while True:
            if second is not None:
                rest = self._in_second(project, second, after_id)
                if rest:
                    return ChangePage(rest, done=False)
                start, second, after_id = second + timedelta(seconds=1), None, 0
            params: dict[str, Any] = {"sort": "updated_on,id", "limit": PAGE}
            if start is not None:
                params["updated_on"] = rf.format_since(start)
            data = self._list(project, params)
            issues = data.get("issues") or []
            found = sorted((a for a in (self._artifact(i, project) for i in issues)
                            if start is None or a.updated_at >= start), key=lambda a: a.key)
            if not issues or len(issues) >= int(data.get("total_count", 0)):
                return ChangePage(found, done=True)
            if found:
                complete = [a for a in found if a.updated_at < found[-1].updated_at]
                if complete:
                    return ChangePage(complete, done=False)
                second = found[-1].updated_at  # one second fills the page: read it by id
            else:
                # The page holds only the second before ``start`` (Redmine's ">=" reaches back).
                second = start

    def _in_second(self, project: str, second: datetime, after_id: int) -> list[ArtifactData]:
        """Issues updated within ``second`` with ids above ``after_id``, ascending, by fresh
        ``issue_id>=`` queries (an issue edited meanwhile leaves the second; none shifts)."""
        window = "><" + rf.format_since(second)[2:] + "|" + rf.format_since(second + timedelta(seconds=1))[2:]
        low = after_id
        while True:
            data = self._list(project, {"updated_on": window, "issue_id": f">={low + 1}", "sort": "id", "limit": PAGE})
            issues = data.get("issues") or []
            found = [a for a in (self._artifact(i, project) for i in issues) if a.updated_at == second]
            if found or len(issues) < PAGE:
                return sorted(found, key=lambda a: a.key)
            low = max(int(i["id"]) for i in issues)  # a full page of the neighbouring seconds only

    def _list(self, project: str, params: Mapping[str, Any]) -> dict:
        return self._call("GET", "/issues.json", what=f"list issues of project '{project}'", params={
            "project_id": project, "subproject_id": "!*", "status_id": "*", **params})

    def read(self, ids: Iterable[str]) -> list[ArtifactData]:
        wanted = [str(i).strip() for i in dict.fromkeys(ids)]
        bad = [i for i in wanted if not i.isdigit()]
        if bad:
            raise ConnectorError(f"Not a Redmine issue number: {', '.join(bad[:5])}")
        out: list[ArtifactData] = []
        for start in range(0, len(wanted), PAGE):
            chunk = wanted[start:start + PAGE]
            data = self._call("GET", "/issues.json", what="read issues", params={
                "issue_id": ",".join(chunk), "status_id": "*", "limit": PAGE})
            out += [self._artifact(i) for i in data.get("issues") or []]
        return out  # deleted or invisible issues are simply absent

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        payload = self._payload(fields)
        payload["project_id"] = project
        if hub_key:
            payload.setdefault("custom_fields", []).append({"id": self.hub_key_field_id(), "value": hub_key})
        try:
            data = self._call("POST", "/issues.json", json={"issue": payload}, what=f"create an issue in '{project}'")
        except http.HttpError as exc:
            if exc.status == 422 and "Project cannot be blank" in exc.body:
                # Redmine's words for "no such project, or you may not add issues to it".
                raise http.HttpError(f"Redmine has no project '{project}' where the API user may add issues ({exc})",
                                     status=422, body=exc.body) from None
            raise
        # Redmine may keep its initial status (a non-admin always gets it): the issue is created
        # all the same, and the engine walks the transition path from there in the same unit.
        return self._artifact(data["issue"], project)

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        field_id = self.hub_key_field_id()
        data = self._call("GET", "/issues.json", what="look for an issue by hub key", params={
            "project_id": project, "status_id": "*", "limit": PAGE, "sort": "id", f"cf_{field_id}": hub_key})
        issues = data.get("issues") or []
        matches = [self._artifact(i, project) for i in issues]
        matches = [a for a in matches if a.hub_key == hub_key]
        if not matches and int(data.get("total_count", 0)) > 1:
            # Redmine drops a filter on a field that is not "used as a filter" and lists everything.
            raise ConnectorError("Redmine ignored the hub-key filter: enable 'Used as a filter' on the custom field "
                                 f"'{self.options.get('hub_key_field') or 'Hub key'}'.")
        return matches[0] if matches else None

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        payload = self._payload(fields)
        if payload:
            self._call("PUT", f"/issues/{int(artifact_id)}.json", json={"issue": payload},
                       what=f"update issue #{artifact_id}")
        after = self._read_one(artifact_id)
        if "status_id" in payload and after.fields.get("status") != self._named("status", payload["status_id"]):
            raise ConnectorError(self._refused(artifact_id, after.fields.get("status"), fields.get("status")))
        return after

    def transition(self, artifact_id: str, field_name: str, state: str) -> ArtifactData:
        if field_name != "status":
            return self.update(artifact_id, {field_name: state})
        issue = self._call("GET", f"/issues/{int(artifact_id)}.json", params={"include": "allowed_statuses"},
                           what=f"read issue #{artifact_id}")["issue"]
        target = self._named("status", self._resolve("status", state))
        if issue["status"]["name"] == target:
            return self._artifact(issue)
        allowed = [s["name"] for s in issue.get("allowed_statuses") or []]
        if "allowed_statuses" in issue and target not in allowed:
            raise ConnectorError(self._refused(artifact_id, issue["status"]["name"], state, allowed))
        return self.update(artifact_id, {"status": target})

    def allowed_statuses(self, artifact_id: str) -> list[str]:
        """Statuses the API user may move this issue to now (Redmine's workflow, incl. the current one)."""
        issue = self._call("GET", f"/issues/{int(artifact_id)}.json", params={"include": "allowed_statuses"},
                           what=f"read issue #{artifact_id}")["issue"]
        return [s["name"] for s in issue.get("allowed_statuses") or []]

    # -- helpers --

    def _read_one(self, artifact_id: str) -> ArtifactData:
        issue = self._call("GET", f"/issues/{int(artifact_id)}.json", what=f"read issue #{artifact_id}")["issue"]
        return self._artifact(issue)

    def _artifact(self, issue: Mapping[str, Any], project: str | None = None) -> ArtifactData:
        fields, hub_key = rf.to_fields(issue, self.hub_key_field_id(required=False))
        if project is None:
            pid = issue["project"]["id"]
            projects = self.project_map()
            project = projects.get(pid) or self.project_map(refresh=True).get(pid) or str(pid)
        return ArtifactData(id=str(issue["id"]), project=project, updated_at=rf.parse_time(issue["updated_on"]),
                            fields=fields, version=rf.version(issue["updated_on"], fields), hub_key=hub_key)

    def _payload(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        custom: list[dict[str, Any]] = []
        unknown = []
        for name, value in fields.items():
            if name in rf.PLAIN:
                payload[name] = "" if value is None and name == "description" else value
            elif name in rf.NAMED:
                if value not in (None, ""):  # Redmine cannot clear these: empty means "leave as is"
                    payload[f"{name}_id"] = self._resolve(name, value)
            elif name == "assigned_to":
                payload["assigned_to_id"] = self._person_id(value)
            elif name.startswith(rf.CF_PREFIX):
                custom.append({"id": self._custom_field_id(name[len(rf.CF_PREFIX):]), "value": value})
            elif name in rf.READ_ONLY:
                raise ConnectorError(f"The Redmine field '{name}' cannot be written.")
            else:
                unknown.append(name)
        if unknown:
            raise ConnectorError(f"Unknown Redmine field(s): {', '.join(sorted(unknown))}. "
                                 f"Known: {', '.join(sorted(self.fields()))}.")
        if custom:
            payload["custom_fields"] = custom
        return payload

    def _person_id(self, value: Any) -> Any:
        if value in (None, ""):
            return ""  # Redmine unassigns on an empty string
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        for person in self.people() or []:
            if text.lower() in (person.username.lower(), person.email.lower()):
                return int(person.id)
        raise ConnectorError(f"No Redmine user with login or e-mail '{text}'.")

    def _refused(self, artifact_id: str, current: Any, wanted: Any, allowed: list[str] | None = None) -> str:
        text = (f"Redmine's workflow does not let the hub's user move issue #{artifact_id} from '{current}' to "
                f"'{wanted}'")
        if allowed is not None:
            others = [s for s in allowed if s != current]
            text += f"; allowed next: {', '.join(others) or 'none'}"
        return text + ". Configure a transition path in the collection, or change the workflow in Redmine."


def _explain(exc: http.HttpError, what: str) -> ConnectorError:
    """Redmine's statuses in words; 422 messages verbatim (they name the field and the rule)."""
    flags = {"transient": exc.transient, "retry_after": exc.retry_after, "auth": exc.auth,
             "unreachable": exc.unreachable}
    if exc.status == 401:
        message = ("Redmine rejected the API key (HTTP 401). Check the key, and that the REST API is enabled "
                   "(Administration → Settings → API).")
    elif exc.status == 403 and exc.auth:
        message = f"Redmine refused to {what} (HTTP 403): the API user lacks the permission."
    elif exc.status == 404:
        message = f"Could not {what}: Redmine says it does not exist (HTTP 404), or the API user cannot see it."
    elif exc.status == 422:
        body = exc.json() or {}
        errors = body.get("errors") if isinstance(body, dict) else None
        message = f"Redmine refused to {what}: " + ("; ".join(map(str, errors)) if errors else exc.body or "HTTP 422")
    else:
        message = f"Could not {what}: {exc}"
    error = http.HttpError(message, status=exc.status, body=exc.body, headers=exc.headers, **flags)
    return error
