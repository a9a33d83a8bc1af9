"""A local stand-in for the Jira REST API (Cloud v2/v3 and Data Center v2), for tests.

Jira cannot run here, so this server speaks the *documented* subset the ``jira`` connector uses
(developer.atlassian.com: Jira Cloud platform REST API v2/v3; Jira Data Center REST API v2):

- Cloud: ``GET|POST /rest/api/{2,3}/search/jql`` — ``jql``, ``fields`` (default: ids only),
  ``maxResults`` (at most 100, and **fewer when many fields are asked for**), ``nextPageToken``,
  ``isLast``, ``reconcileIssues``; the index **lags** by ``search_lag`` seconds (see
  ``tests/fakes/jira_model.py`` for both rules and their sources); the old ``/search`` answers 410
  as on Cloud. Basic auth with email + API token; users have an ``accountId`` (email may be
  hidden). A *scoped* token (``add_user(scoped=True)``, what service accounts get) is only accepted
  through the gateway path ``/ex/jira/{cloudId}/rest/...`` (api.atlassian.com in real life) and
  answers 401 on the site URL (Atlassian KB "401 Unauthorized error when service account accesses
  Jira or Confluence API"); ``GET /_edge/tenant_info`` gives the ``cloudId`` without auth.
- Data Center: ``GET|POST /rest/api/2/search`` — ``startAt``/``maxResults``/``total``. Bearer
  personal access tokens (or basic user + password); users have ``name``/``key``.
- JQL (``tests.fakes.jql``): dates at **minute resolution in the user's time zone** (configurable;
  tests use a non-UTC one); ``updated`` is stored with milliseconds and rendered
  ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` in that time zone, as Jira does.
- ``GET|PUT /rest/api/2/issue/{key}``, ``POST /rest/api/2/issue`` (``status`` cannot be set;
  unknown fields, spaces in labels and a missing summary are 400s), ``GET|POST .../transitions``
  under a workflow that forbids direct jumps (To Do → In Progress → In Review → Done, Reopen,
  Back), ``/user/search``, ``/user/assignable/search`` (capped at the 1,000th user on Cloud, the
  first 100 on Data Center 10; a query narrows before the cap), ``/myself``, ``/field``,
  ``/project``, ``/serverInfo``.
- Errors ``{"errorMessages": [...], "errors": {...}}``; 401 with ``X-Seraph-LoginReason``;
  :meth:`JiraApi.storm` for 429 + ``Retry-After`` (and ``X-RateLimit-*``) or 5xx outages.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.apiserver import FakeApi, Request, Response
from tests.fakes.jira_data import CUSTOM_FIELDS, PRIORITIES, STATUSES, WORKFLOW, errors, validate
from tests.fakes.jira_model import PAGE_BUDGET, SearchIndex, page_size, user_window
from tests.fakes.jql import JqlError, compile_jql, sort_issues


class JiraApi(FakeApi):
    def __init__(self, clock: Any = None, deployment: str = "cloud", time_zone: str = "Europe/Berlin",
                 search_lag: float = 0.0, page_budget: int = PAGE_BUDGET) -> None:
        super().__init__(clock)
        assert deployment in ("cloud", "dc")
        self.cloud = deployment == "cloud"
        self.index = SearchIndex(search_lag)
        self.page_budget = page_budget
        self.cloud_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        self.tz = ZoneInfo(time_zone)
        self.users: list[dict] = []
        self.credentials: dict[str, dict] = {}  # "basic:<email>:<token>" or "bearer:<pat>" → user
        self.projects: dict[str, dict] = {}
        self.issues: dict[str, dict] = {}
        self._ids = 10000
        self._storm: list[tuple[int, int | None]] = []
        self._blocked_until = 0.0
        self.on_create: Any = None  # called with each issue created through the API, before the response
        for version in ("2", "3"):
            p = f"/rest/api/{version}"
            self.route("GET", p + "/myself", lambda q: Response(200, self._user_json(q.match["user"])))
            self.route("GET", p + "/serverInfo", self.server_info)
            self.route("GET", p + "/field", self.list_fields)
            self.route("GET", p + "/project", lambda q: Response(200, list(self.projects.values())))
            self.route("GET", p + "/search/jql", self.search_jql)
            self.route("POST", p + "/search/jql", self.search_jql)
            self.route("GET", p + "/search", self.search_offset)
            self.route("POST", p + "/search", self.search_offset)
            self.route("POST", p + "/issue", self.create_issue)
            self.route("GET", p + "/issue/{key}", self.get_issue)
            self.route("PUT", p + "/issue/{key}", self.edit_issue)
            self.route("GET", p + "/issue/{key}/transitions", self.get_transitions)
            self.route("POST", p + "/issue/{key}/transitions", self.do_transition)
            self.route("GET", p + "/user/search", self.user_search)
            self.route("GET", p + "/user/assignable/search", self.user_search)

    # -- set-up helpers --

    def add_user(self, name: str, email: str, secret: str | None = None, email_visible: bool = True,
                 scoped: bool = False, assignable: bool = True) -> dict:
        self._ids += 1
        user = {"accountId": f"5b10ac8d82e05b22cc7d{self._ids}", "name": name, "key": f"JIRAUSER{self._ids}",
                "emailAddress": email, "displayName": name.title(), "active": True,
                "timeZone": str(self.tz), "_email_visible": email_visible, "_assignable": assignable}
        self.users.append(user)
        if secret is None:
            return user
        kind = "scoped" if scoped else "basic"
        self.credentials[f"{kind}:{email}:{secret}" if self.cloud else f"bearer:{secret}"] = user
        if not self.cloud:
            self.credentials[f"basic:{name}:{secret}"] = user
        return user

    def add_project(self, key: str) -> dict:
        self._ids += 1
        self.projects[key] = {"id": str(self._ids), "key": key, "name": f"Project {key}"}
        return self.projects[key]

    def add_issue(self, project: str, summary: str, updated: float | None = None, **fields: Any) -> dict:
        with self.lock:
            issue = self._new_issue(project, {"summary": summary, **fields}, self.users[0])
            if updated is not None:
                issue["updated"] = issue["created"] = updated
            self.index.record(issue, self.now(), at=updated)
            return issue

    def touch(self, key: str, at: float | None = None, **fields: Any) -> dict:
        with self.lock:
            issue = self.issues[key]
            issue["fields"].update(fields)
            issue["updated"] = self.now() if at is None else at
            self.index.record(issue, self.now(), at=at)
            return issue

    def storm(self, count: int, status: int = 429, retry_after: int | None = 10) -> None:
        """The next ``count`` requests fail with ``status`` (429 rate limit or a 5xx outage)."""
        with self.lock:
            self._storm = [(status, retry_after)] * count

    def status_of(self, key: str) -> str:
        return self.issues[key]["fields"]["status"]

    # -- pipeline --

    def handle(self, request: Request) -> Response:
        if request.path == "/_edge/tenant_info":  # public: how a site's cloud id is found
            return Response(200, {"cloudId": self.cloud_id})
        gateway = f"/ex/jira/{self.cloud_id}"
        through_gateway = self.cloud and request.path.startswith(gateway + "/")
        if through_gateway:
            request.path = request.path[len(gateway):]
        elif request.path.startswith("/ex/jira/"):
            return errors(404, "Site not found")
        user = self._authenticate(request.header("authorization") or "", through_gateway)
        if user is None:
            response = errors(401, "You are not authenticated. Authentication required to perform this operation.")
            response.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
            return response
        now = self.now()
        if now < self._blocked_until:
            self.violations += 1
        if self._storm:
            status, retry_after = self._storm.pop(0)
            response = errors(status, "Rate limit exceeded." if status == 429 else "Service unavailable.")
            if retry_after is not None:
                self._blocked_until = now + retry_after
                response.headers["Retry-After"] = str(retry_after)
            if status == 429:
                reset = datetime.fromtimestamp(now + (retry_after or 0), self.tz).isoformat(timespec="milliseconds")
                response.headers.update({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                                         "X-RateLimit-Reset": reset, "RateLimit-Reason": "jira-quota-tenant-based"})
            return response
        request.match["user"] = user
        return self.dispatch(request)

    def _authenticate(self, header: str, through_gateway: bool = False) -> dict | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value).decode()
            except ValueError:
                return None
            # Scoped tokens work only through the api.atlassian.com gateway; classic ones only on
            # the site (classic through the gateway is unverified: refused here).
            return self.credentials.get(f"{'scoped' if through_gateway else 'basic'}:{decoded}")
        if scheme.lower() == "bearer" and not self.cloud:
            return self.credentials.get(f"bearer:{value}")
        return None

    def not_found(self, request: Request, method_not_allowed: bool = False) -> Response:
        return errors(405 if method_not_allowed else 404, "null for uri: " + request.path)

    # -- rendering --

    def render_time(self, ts: float) -> str:
        # Jira: 2024-01-15T10:23:45.123+0100 — milliseconds, offset of the user's time zone.
        return datetime.fromtimestamp(ts, self.tz).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + \
            datetime.fromtimestamp(ts, self.tz).strftime("%z")

    def _user_json(self, user: dict | None) -> dict | None:
        if user is None:
            return None
        if self.cloud:
            data = {"accountId": user["accountId"], "accountType": "atlassian", "displayName": user["displayName"],
                    "active": user["active"], "timeZone": user["timeZone"]}
            if user["_email_visible"]:
                data["emailAddress"] = user["emailAddress"]
            return data
        return {"name": user["name"], "key": user["key"], "emailAddress": user["emailAddress"],
                "displayName": user["displayName"], "active": user["active"], "timeZone": user["timeZone"]}

    def _issue_json(self, issue: dict, wanted: set[str] | None, version: str) -> dict:
        f = issue["fields"]
        status_id, category = STATUSES[f["status"]]
        full = {
            "summary": f.get("summary"), "description": f.get("description"),
            "status": {"id": status_id, "name": f["status"], "statusCategory": {"key": category}},
            "priority": {"id": PRIORITIES[f["priority"]], "name": f["priority"]} if f.get("priority") else None,
            "assignee": self._user_json(f.get("assignee")), "reporter": self._user_json(f.get("reporter")),
            "labels": list(f.get("labels") or []), "issuetype": {"id": "10001", "name": f.get("issuetype", "Task")},
            "project": self.projects[issue["project"]], "created": self.render_time(issue["created"]),
            "updated": self.render_time(issue["updated"]),
            **{cf: f.get(cf) for cf in CUSTOM_FIELDS},
        }
        if version == "3" and full["description"] is not None:
            full["description"] = {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": full["description"]}]}]}
        if wanted is not None and "*all" not in wanted:
            full = {k: v for k, v in full.items() if k in wanted}
        return {"id": issue["id"], "key": issue["key"], "self": f"/rest/api/{version}/issue/{issue['id']}",
                "fields": full}

    # -- search --

    def _run_jql(self, request: Request) -> tuple[list[dict], dict] | Response:
        params = (request.json() or {}) if request.method == "POST" else {k: v[-1] for k, v in request.query.items()}
        try:
            predicates, ordering = compile_jql(params.get("jql") or "", self.tz, list(self.issues.values()))
        except JqlError as exc:
            return errors(400, str(exc))
        reconcile = {str(i) for i in params.get("reconcileIssues") or []} if self.cloud else set()
        searchable = self.index.view(list(self.issues.values()), self.now(), reconcile)
        found = [i for i in searchable if all(p(i) for p in predicates)]
        return sort_issues(found, ordering or [("created", True)]), params

    def _fields_param(self, params: dict, default: set[str] | None) -> set[str] | None:
        raw = params.get("fields")
        if raw is None:
            return default
        return set(raw) if isinstance(raw, list) else {f.strip() for f in raw.split(",") if f.strip()}

    def search_jql(self, request: Request) -> Response:
        if not self.cloud:
            return self.not_found(request)
        outcome = self._run_jql(request)
        if isinstance(outcome, Response):
            return outcome
        found, params = outcome
        wanted = self._fields_param(params, {"id"})
        size = page_size(int(params.get("maxResults") or 50), wanted, self.page_budget)
        start = 0
        if params.get("nextPageToken"):
            try:
                start = json.loads(base64.urlsafe_b64decode(params["nextPageToken"]))["offset"]
            except ValueError:
                return errors(400, "The provided next page token is invalid or expired.")
        chunk = found[start: start + size]
        version = request.path.split("/")[3]
        body: dict[str, Any] = {"issues": [self._issue_json(i, wanted, version) for i in chunk],
                                "isLast": start + size >= len(found)}
        if not body["isLast"]:
            body["nextPageToken"] = base64.urlsafe_b64encode(json.dumps({"offset": start + size}).encode()).decode()
        return Response(200, body)

    def search_offset(self, request: Request) -> Response:
        if self.cloud:
            return errors(410, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                          "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
        outcome = self._run_jql(request)
        if isinstance(outcome, Response):
            return outcome
        found, params = outcome
        start, size = int(params.get("startAt") or 0), min(1000, int(params.get("maxResults") or 50))
        issues = [self._issue_json(i, self._fields_param(params, None), "2") for i in found[start: start + size]]
        return Response(200, {"expand": "names,schema", "startAt": start, "maxResults": size, "total": len(found),
                              "issues": issues})

    # -- issues --

    def _find(self, key: str) -> dict | None:
        return self.issues.get(key.upper()) or next((i for i in self.issues.values() if i["id"] == key), None)

    def get_issue(self, request: Request) -> Response:
        issue = self._find(request.match["key"])
        if issue is None:
            return errors(404, "Issue does not exist or you do not have permission to see it.")
        return Response(200, self._issue_json(issue, self._fields_param({"fields": request.arg("fields")}, None),
                                              request.path.split("/")[3]))

    def create_issue(self, request: Request) -> Response:
        fields = (request.json() or {}).get("fields") or {}
        project = (fields.get("project") or {}).get("key") or next(
            (p["key"] for p in self.projects.values() if p["id"] == (fields.get("project") or {}).get("id")), None)
        if project not in self.projects:
            return errors(400, project="Specify a valid project ID or key")
        if not (fields.get("summary") or "").strip():
            return errors(400, summary="You must specify a summary of the issue.")
        if not fields.get("issuetype"):
            return errors(400, issuetype="Specify an issue type")
        values = validate(fields, self._user_ref)
        if isinstance(values, Response):
            return values
        issue = self._new_issue(project, values, request.match["user"])
        if self.on_create:
            self.on_create(issue)
        return Response(201, {"id": issue["id"], "key": issue["key"], "self": f"/rest/api/2/issue/{issue['id']}"})

    def edit_issue(self, request: Request) -> Response:
        issue = self._find(request.match["key"])
        if issue is None:
            return errors(404, "Issue does not exist or you do not have permission to see it.")
        fields = (request.json() or {}).get("fields") or {}
        if "summary" in fields and not (fields["summary"] or "").strip():
            return errors(400, summary="You must specify a summary of the issue.")
        values = validate(fields, self._user_ref)
        if isinstance(values, Response):
            return values
        issue["fields"].update(values)
        issue["updated"] = self.now()
        self.index.record(issue, self.now())
        return Response(204)

    def _user_ref(self, value: dict | None) -> dict | None | bool:
        if value is None:
            return None
        if self.cloud:
            # Cloud removed user names (GDPR): only accountId identifies a user.
            return next((u for u in self.users if u["accountId"] == value.get("accountId")), False)
        return next((u for u in self.users if value.get("name") in (u["name"],) or value.get("key") == u["key"]), False)

    def _new_issue(self, project: str, values: dict, reporter: dict) -> dict:
        self._ids += 1
        number = 1 + sum(1 for i in self.issues.values() if i["project"] == project)
        now = self.now()
        fields = {"status": "To Do", "issuetype": "Task", "labels": [], "priority": "Medium", "reporter": reporter,
                  "assignee": None, "description": None, **values}
        issue = {"id": str(self._ids), "key": f"{project}-{number}", "project": project, "fields": fields,
                 "created": now, "updated": now}
        self.issues[issue["key"]] = issue
        self.index.record(issue, now)
        return issue

    # -- transitions --

    def _available(self, issue: dict) -> list[tuple[str, str, tuple[str, ...], str]]:
        return [t for t in WORKFLOW if issue["fields"]["status"] in t[2]]

    def get_transitions(self, request: Request) -> Response:
        issue = self._find(request.match["key"])
        if issue is None:
            return errors(404, "Issue does not exist or you do not have permission to see it.")
        out = []
        for tid, name, _sources, target in self._available(issue):
            sid, category = STATUSES[target]
            out.append({"id": tid, "name": name, "hasScreen": False, "isGlobal": False, "isInitial": False,
                        "isAvailable": True, "isConditional": False,
                        "to": {"id": sid, "name": target, "statusCategory": {"key": category}}})
        return Response(200, {"expand": "transitions", "transitions": out})

    def do_transition(self, request: Request) -> Response:
        issue = self._find(request.match["key"])
        if issue is None:
            return errors(404, "Issue does not exist or you do not have permission to see it.")
        wanted = str(((request.json() or {}).get("transition") or {}).get("id"))
        step = next((t for t in self._available(issue) if t[0] == wanted), None)
        if step is None:
            return errors(400, f"Transition id '{wanted}' is not valid for this issue.")
        issue["fields"]["status"] = step[3]
        issue["updated"] = self.now()
        self.index.record(issue, self.now())
        return Response(204)

    # -- users, fields, server --

    def user_search(self, request: Request) -> Response:
        query = (request.arg("query") if self.cloud else request.arg("username")) or ""
        if self.cloud and not query and not request.arg("accountId") and "assignable" not in request.path:
            return errors(400, "The query parameter 'query' is required.")
        account = request.arg("accountId")
        q = query.lower()
        found = [u for u in self.users if (account and u["accountId"] == account) or (not account and (
            q in ("", ".") or u["displayName"].lower().startswith(q) or u["name"].lower().startswith(q)
            or ((not self.cloud or u["_email_visible"]) and u["emailAddress"].lower().startswith(q))))]
        start, size = int(request.arg("startAt", "0") or 0), int(request.arg("maxResults", "50") or 50)
        window = user_window(found, start, size, self.cloud)  # the cap applies after the query
        if "assignable" in request.path:  # then filtered: usually fewer than maxResults
            window = [u for u in window if u["_assignable"]]
        return Response(200, [self._user_json(u) for u in window])

    def list_fields(self, request: Request) -> Response:
        system = [{"id": n, "key": n, "name": n.title(), "custom": False} for n in
                  ("summary", "description", "status", "priority", "assignee", "reporter", "labels", "updated")]
        custom = [{"id": cf, "key": cf, "name": name, "custom": True, "schema": {"type": kind, "customId": int(cf[12:])}}
                  for cf, (name, kind) in CUSTOM_FIELDS.items()]
        return Response(200, system + custom)

    def server_info(self, request: Request) -> Response:
        return Response(200, {"baseUrl": self.url, "deploymentType": "Cloud" if self.cloud else "DataCenter",
                              "version": "1001.0.0-SNAPSHOT" if self.cloud else "9.12.2",
                              "serverTime": self.render_time(self.now())})
