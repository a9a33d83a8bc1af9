"""A local stand-in for the GitHub REST API v3 (issues subset), for tests.

GitHub cannot run here, so this server speaks the *documented* API the ``github`` connector uses,
as faithfully as a test double can (docs.github.com/rest: issues, labels, milestones, assignees,
search, rate limits, conditional requests):

- ``GET /repos/{owner}/{repo}/issues`` with ``state``, ``sort``, ``direction``, ``since`` (ISO 8601,
  inclusive, whole seconds), ``labels``, ``creator``, ``per_page`` (default 30, at most 100),
  ``page`` and a ``Link`` header (``next``/``last``/``first``/``prev``); pull requests are part of
  the list and carry a ``pull_request`` key, as on GitHub;
- ``GET/POST /repos/{o}/{r}/issues[/{number}]``, ``PATCH`` with ``state``/``state_reason``
  (``completed``, ``not_planned``, ``duplicate``, ``reopened``), labels
  (unknown names are created), assignees (must be assignable, else 422), milestone (by number);
- ``GET /user``, ``/users/{login}``, ``/user/{account_id}``, ``/repos/{o}/{r}``, ``/repos/{o}/{r}/assignees|labels|milestones``;
- ``GET /search/issues?q=...`` with its own 30-per-minute quota and an indexing lag
  (``search_lag`` seconds: a just-created issue is not found yet, as on GitHub). HTML comments in a
  body are not searchable (``index_html_comments=False``): GitHub documents nothing either way,
  public reports differ between github.com and Enterprise Server, so the stand-in takes the case
  that breaks a client relying on it;
- timestamps ``YYYY-MM-DDTHH:MM:SSZ`` (second resolution);
- primary rate limit per token (``X-RateLimit-Limit/Remaining/Used/Reset/Resource`` on *every*
  answer, so ``Reset`` is usually an hour away even when nothing is spent; exhausted → 403 with
  GitHub's message), secondary limits on demand (:meth:`GitHubApi.secondary_storm`: 403 or 429,
  with ``Retry-After`` or without it — docs.github.com "Rate limits for the REST API": a secondary
  limit answers 403 or 429, ``retry-after`` may be absent, then "wait for at least one minute" and
  exponentially longer while it persists);
- ``ETag`` on GETs; ``If-None-Match`` → 304, which does not count against the quota;
- errors as ``{"message", "documentation_url"}``, 422 as ``{"message": "Validation Failed",
  "errors": [{"resource", "field", "code"}]}``; 401 ``Bad credentials``; 404 ``Not Found``;
- ``prefix="/api/v3"`` serves it the way GitHub Enterprise Server does;
- transferred issues (:meth:`GitHubApi.transfer`): "Get an issue" and "Update an issue" at the old
  address answer ``301 Moved Permanently`` with a ``Location`` (and a body ``url``) naming the
  issue's new address, ``/repositories/{repository id}/issues/{new number}`` (docs.github.com "Get
  an issue": 301 if the issue was transferred, 404 if it went where the user cannot read; "HTTP
  redirects": follow a 301 and use the new URI); the old repository no longer lists it, and the
  issue gets a new number, id and node id in the new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlencode

from tests.fakes.apiserver import FakeApi, Request, Response
from tests.fakes.github_model import DOCS, RATE_DOCS, Bucket, NotFound, Repo, error, invalid, iso, parse_iso, parse_query


class GitHubApi(FakeApi):
    def __init__(self, clock: Any = None, prefix: str = "", rate_limit: int = 5000, search_lag: float = 0.0,
                 index_html_comments: bool = False) -> None:
        super().__init__(clock)
        self.index_html_comments = index_html_comments
        self.prefix = prefix
        self.rate_limit = rate_limit
        self.search_lag = search_lag
        self.users: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self._ids = 1000
        self._storm = 0
        self._storm_status = 403
        self._storm_retry_after: int | None = 60
        self._blocked_until = 0.0
        self.conditional_hits = 0
        # Called with each issue created through the API, before the response is sent: a test
        # can kill the hub here, after the remote create and before the hub records it.
        self.on_create: Any = None
        p = prefix
        self.route("GET", p + "/user", self.get_me)
        self.route("GET", p + "/users/{login}", self.get_user)
        self.route("GET", p + "/user/{uid}", self.get_user_by_id)
        self.route("GET", p + "/rate_limit", self.get_rate_limit)
        self.route("GET", p + "/repos/{o}/{r}", self.get_repo)
        self.route("GET", p + "/repos/{o}/{r}/issues", self.list_issues)
        self.route("POST", p + "/repos/{o}/{r}/issues", self.create_issue)
        self.route("GET", p + "/repos/{o}/{r}/issues/{n}", self.get_issue)
        self.route("PATCH", p + "/repos/{o}/{r}/issues/{n}", self.update_issue)
        self.route("GET", p + "/repos/{o}/{r}/assignees", self.list_assignees)
        self.route("GET", p + "/repos/{o}/{r}/labels", lambda q: Response(200, list(self._repo(q).labels.values())))
        self.route("GET", p + "/repos/{o}/{r}/milestones",
                   lambda q: Response(200, list(self._repo(q).milestones.values())))
        self.route("GET", p + "/search/issues", self.search_issues)
        # A repository by its id: the address a transferred issue's redirect names.
        self.route("GET", p + "/repositories/{rid}/issues/{n}", lambda q: self._by_repository_id(q, self.get_issue))
        self.route("PATCH", p + "/repositories/{rid}/issues/{n}",
                   lambda q: self._by_repository_id(q, self.update_issue))

    # -- test set-up helpers --

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def add_user(self, login: str, token: str | None = None, email: str | None = None) -> dict:
        user = {"login": login, "id": self._next_id(), "node_id": f"U_{login}", "type": "User",
                "email": email, "name": login.title(), "site_admin": False}
        self.users[login] = user
        if token:
            self.tokens[token] = login
        return user

    def add_repo(self, owner: str, name: str, assignable: tuple[str, ...] = ()) -> Repo:
        repo = Repo(owner, name, self._next_id(), assignable=set(assignable))
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def add_milestone(self, repo: Repo, title: str) -> dict:
        number = len(repo.milestones) + 1
        repo.milestones[number] = {"id": self._next_id(), "number": number, "title": title, "state": "open"}
        return repo.milestones[number]

    def add_issue(self, repo: Repo, title: str, *, body: str | None = "", author: str | None = None,
                  pull_request: bool = False, updated: float | None = None, **fields: Any) -> dict:
        with self.lock:
            login = author or next(iter(self.users))
            issue = self._new_issue(repo, login, {"title": title, "body": body, **fields})
            if pull_request:
                base = f"https://api.github.com/repos/{repo.owner}/{repo.name}/pulls/{issue['number']}"
                issue["pull_request"] = {"url": base, "html_url": base.replace("api.", "")}
            if updated is not None:
                issue["updated_at"] = issue["created_at"] = iso(updated)
            return issue

    def touch(self, repo: Repo, number: int, at: float | None = None, **changes: Any) -> dict:
        with self.lock:
            issue = repo.issues[number]
            issue.update(changes)
            issue["updated_at"] = iso(self.now() if at is None else at)
            return issue

    def transfer(self, repo: Repo, number: int, to: Repo, readable: bool = True) -> dict:
        """Move an issue to another repository, as GitHub's transfer does: a new number (and id)
        there, its old address answering 301 (or 404 when ``readable`` is false)."""
        with self.lock:
            old = repo.issues.pop(number)
            new_number = to.next_number
            to.next_number += 1
            moved = {**old, "id": self._next_id(), "node_id": f"I_{to.id}_{new_number}", "number": new_number,
                     "url": f"https://api.github.com/repos/{to.owner}/{to.name}/issues/{new_number}",
                     "repository_url": f"https://api.github.com/repos/{to.owner}/{to.name}",
                     "html_url": f"https://github.com/{to.owner}/{to.name}/issues/{new_number}",
                     "updated_at": iso(self.now())}
            to.issues[new_number] = moved
            repo.transferred[number] = (to, new_number, readable)
            return moved

    def _moved(self, request: Request, repo: Repo, number: int) -> Response | None:
        """The answer for a transferred issue's old address (None: it was not transferred)."""
        if number not in repo.transferred:
            return None
        to, new_number, readable = repo.transferred[number]
        if not readable:
            return error(404, "Not Found")
        host = request.header("host") or "localhost"
        location = f"http://{host}{self.prefix}/repositories/{to.id}/issues/{new_number}"
        return Response(301, {"message": "Moved Permanently", "url": location,
                              "documentation_url": DOCS + "/guides/best-practices-for-using-the-rest-api"
                              "#follow-redirects"}, {"Location": location})

    def _by_repository_id(self, request: Request, handler: Any) -> Response:
        repo = next((r for r in self.repos.values() if str(r.id) == request.match["rid"]), None)
        if repo is None:
            return error(404, "Not Found")
        request.match.update(o=repo.owner, r=repo.name)
        return handler(request)

    def secondary_storm(self, count: int, retry_after: int | None = 60, status: int = 403) -> None:
        """The next ``count`` requests hit a secondary rate limit."""
        with self.lock:
            self._storm, self._storm_retry_after, self._storm_status = count, retry_after, status

    def bucket(self, login: str, resource: str = "core") -> Bucket:
        key = (login, resource)
        if key not in self.buckets:
            self.buckets[key] = Bucket(30, 60.0) if resource == "search" else Bucket(self.rate_limit, 3600.0)
        bucket = self.buckets[key]
        bucket.refill(self.now())
        return bucket

    # -- the request pipeline: auth, limits, conditional requests --

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(self.prefix + "/"):
            return error(404, "Not Found")
        auth = request.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        login = self.tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if login is None:
            return error(401, "Bad credentials")
        resource = "search" if request.path.startswith(self.prefix + "/search/") else "core"
        bucket = self.bucket(login, resource)
        now = self.now()
        if now < self._blocked_until:
            self.violations += 1  # the client did not wait as told
        if self._storm > 0:
            self._storm -= 1
            self._blocked_until = now + (self._storm_retry_after or 60)
            response = error(self._storm_status, "You have exceeded a secondary rate limit. Please wait a few minutes "
                             "before you try again. If you reach out to GitHub Support for help, please include the "
                             "request ID 0000:0000:0000:0000.")
            if self._storm_retry_after is not None:
                response.headers["Retry-After"] = str(self._storm_retry_after)
            return self._with_limits(response, bucket, resource)
        if bucket.remaining <= 0:
            self.violations += 1
            response = Response(403, {"message": f"API rate limit exceeded for user ID {self.users[login]['id']}.",
                                      "documentation_url": RATE_DOCS})
            return self._with_limits(response, bucket, resource)
        request.match["login"] = login
        response = self.dispatch(request)
        if request.method == "GET" and response.status == 200:
            etag = 'W/"' + hashlib.sha256(json.dumps(response.body, sort_keys=True).encode()).hexdigest()[:32] + '"'
            response.headers["ETag"] = etag
            if request.header("if-none-match") == etag:
                self.conditional_hits += 1
                return self._with_limits(Response(304, None, {"ETag": etag}), bucket, resource)
        bucket.remaining -= 1
        return self._with_limits(response, bucket, resource)

    def _with_limits(self, response: Response, bucket: Bucket, resource: str) -> Response:
        response.headers.update({
            "X-RateLimit-Limit": str(bucket.limit), "X-RateLimit-Remaining": str(max(0, bucket.remaining)),
            "X-RateLimit-Used": str(bucket.limit - max(0, bucket.remaining)),
            "X-RateLimit-Reset": str(int(bucket.reset)), "X-RateLimit-Resource": resource,
            "X-GitHub-Media-Type": "github.v3; format=json", "X-OAuth-Scopes": "repo",
        })
        return response

    def not_found(self, request: Request, method_not_allowed: bool = False) -> Response:
        return error(404, "Not Found")

    # -- endpoints --

    def _repo(self, request: Request) -> Repo:
        repo = self.repos.get((request.match["o"].lower(), request.match["r"].lower()))
        if repo is None:
            raise NotFound
        return repo

    def get_me(self, request: Request) -> Response:
        return Response(200, self.users[request.match["login"]])

    def get_user(self, request: Request) -> Response:
        user = self.users.get(request.match["login"])
        return Response(200, user) if user else error(404, "Not Found")

    def get_user_by_id(self, request: Request) -> Response:
        user = next((u for u in self.users.values() if str(u["id"]) == request.match["uid"]), None)
        return Response(200, user) if user else error(404, "Not Found")

    def get_rate_limit(self, request: Request) -> Response:
        login = request.match["login"]
        core, search = self.bucket(login), self.bucket(login, "search")
        as_dict = {"core": vars(core), "search": vars(search)}
        return Response(200, {"resources": as_dict, "rate": vars(core)})

    def get_repo(self, request: Request) -> Response:
        try:
            repo = self._repo(request)
        except NotFound:
            return error(404, "Not Found")
        return Response(200, {"id": repo.id, "name": repo.name, "full_name": f"{repo.owner}/{repo.name}",
                              "owner": {"login": repo.owner}, "has_issues": True,
                              "permissions": {"admin": False, "push": True, "pull": True}})

    def list_issues(self, request: Request) -> Response:
        try:
            repo = self._repo(request)
        except NotFound:
            return error(404, "Not Found")
        state = request.arg("state", "open")
        if state not in ("open", "closed", "all"):
            return invalid("state")
        sort, direction = request.arg("sort", "created"), request.arg("direction", "desc")
        if sort not in ("created", "updated", "comments") or direction not in ("asc", "desc"):
            return invalid("sort" if sort not in ("created", "updated", "comments") else "direction")
        items = [i for i in repo.issues.values() if state == "all" or i["state"] == state]
        since = request.arg("since")
        if since:
            try:
                floor = parse_iso(since)
            except ValueError:
                return invalid("since")
            items = [i for i in items if parse_iso(i["updated_at"]) >= floor]
        if request.arg("labels"):
            wanted = set(request.arg("labels", "").split(","))
            items = [i for i in items if wanted <= {label["name"] for label in i["labels"]}]
        if request.arg("creator"):
            items = [i for i in items if i["user"]["login"] == request.arg("creator")]
        key = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[sort]
        # Ties keep a stable order (by number), so page boundaries inside one second are well defined.
        items.sort(key=lambda i: (i[key], i["number"]), reverse=direction == "desc")
        return self._page(request, items)

    def _page(self, request: Request, items: list[dict]) -> Response:
        per_page = min(100, max(1, int(request.arg("per_page", "30") or 30)))
        page = max(1, int(request.arg("page", "1") or 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        host = request.header("host") or "localhost"
        params = {k: v[-1] for k, v in request.query.items()}

        def link(n: int, rel: str) -> str:
            return f'<http://{host}{request.path}?{urlencode({**params, "page": n})}>; rel="{rel}"'

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return Response(200, chunk, {"Link": ", ".join(links)} if links else {})

    def get_issue(self, request: Request) -> Response:
        try:
            repo, number = self._repo(request), int(request.match["n"])
        except (NotFound, ValueError):
            return error(404, "Not Found")
        issue = repo.issues.get(number)
        return Response(200, issue) if issue else self._moved(request, repo, number) or error(404, "Not Found")

    def create_issue(self, request: Request) -> Response:
        try:
            repo = self._repo(request)
        except NotFound:
            return error(404, "Not Found")
        data = request.json() or {}
        if not (data.get("title") or "").strip():
            return invalid("title", "missing_field")
        problem = self._check(repo, data)
        if problem:
            return problem
        issue = self._new_issue(repo, request.match["login"], data)
        if self.on_create:
            self.on_create(issue)
        return Response(201, issue)

    def update_issue(self, request: Request) -> Response:
        try:
            repo, number = self._repo(request), int(request.match["n"])
        except (NotFound, ValueError):
            return error(404, "Not Found")
        issue = repo.issues.get(number)
        if issue is None:
            return self._moved(request, repo, number) or error(404, "Not Found")
        data = request.json() or {}
        if "title" in data and not (data["title"] or "").strip():
            return invalid("title", "missing_field")
        if data.get("state") not in (None, "open", "closed"):
            return invalid("state")
        # docs.github.com "Update an issue": completed, not_planned, duplicate, reopened (or null).
        if data.get("state_reason") not in (None, "completed", "not_planned", "duplicate", "reopened"):
            return invalid("state_reason")
        problem = self._check(repo, data)
        if problem:
            return problem
        self._apply(repo, issue, data)
        issue["updated_at"] = iso(self.now())
        return Response(200, issue)

    def list_assignees(self, request: Request) -> Response:
        try:
            repo = self._repo(request)
        except NotFound:
            return error(404, "Not Found")
        return self._page(request, [self._short_user(login) for login in sorted(repo.assignable)])

    def search_issues(self, request: Request) -> Response:
        query = request.arg("q") or ""
        if not query.strip():
            return invalid("q", "missing", resource="Search")
        terms, qualifiers = parse_query(query)
        visible_before = self.now() - self.search_lag
        hits = []
        for repo in self.repos.values():
            if "repo" in qualifiers and qualifiers["repo"].lower() != f"{repo.owner}/{repo.name}".lower():
                continue
            for issue in repo.issues.values():
                if parse_iso(issue["created_at"]) > visible_before:
                    continue  # not indexed yet
                kind = "pr" if "pull_request" in issue else "issue"
                if qualifiers.get("is") in ("issue", "pr") and qualifiers["is"] != kind:
                    continue
                where = qualifiers.get("in", "title,body").split(",")
                text = " ".join(str(issue.get(w) or "") for w in where).lower()
                if not self.index_html_comments:
                    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
                if all(t.lower() in text for t in terms):
                    hits.append({**issue, "score": 1.0})
        return Response(200, {"total_count": len(hits), "incomplete_results": False, "items": hits[:100]})

    # -- mutations --

    def _check(self, repo: Repo, data: dict) -> Response | None:
        for login in data.get("assignees") or []:
            if login not in repo.assignable:
                return invalid("assignees", value=login)
        milestone = data.get("milestone")
        if milestone is not None and milestone not in repo.milestones:
            return invalid("milestone", value=milestone)
        return None

    def _new_issue(self, repo: Repo, login: str, data: dict) -> dict:
        number = repo.next_number
        repo.next_number += 1
        now = iso(self.now())
        issue = {
            "id": self._next_id(), "node_id": f"I_{number}", "number": number,
            "url": f"https://api.github.com/repos/{repo.owner}/{repo.name}/issues/{number}",
            "repository_url": f"https://api.github.com/repos/{repo.owner}/{repo.name}",
            "html_url": f"https://github.com/{repo.owner}/{repo.name}/issues/{number}",
            "title": "", "body": None, "state": "open", "state_reason": None, "locked": False,
            "labels": [], "assignee": None, "assignees": [], "milestone": None, "comments": 0,
            "user": self._short_user(login), "created_at": now, "updated_at": now, "closed_at": None,
        }
        repo.issues[number] = issue
        self._apply(repo, issue, data)
        return issue

    def _apply(self, repo: Repo, issue: dict, data: dict) -> None:
        for key in ("title", "body"):
            if key in data:
                issue[key] = data[key]
        if "state" in data and data["state"] != issue["state"]:
            issue["state"] = data["state"]
            closed = data["state"] == "closed"
            issue["closed_at"] = iso(self.now()) if closed else None
            issue["state_reason"] = data.get("state_reason") or ("completed" if closed else "reopened")
        elif data.get("state_reason") and issue["state"] == "closed":
            issue["state_reason"] = data["state_reason"]
        if "labels" in data:
            labels = []
            for name in data["labels"] or []:
                name = name["name"] if isinstance(name, dict) else name
                if name not in repo.labels:
                    repo.labels[name] = {"id": self._next_id(), "name": name, "color": "ededed", "default": False}
                labels.append(repo.labels[name])
            issue["labels"] = labels
        if "assignees" in data or "assignee" in data:
            logins = data.get("assignees") if "assignees" in data else ([data["assignee"]] if data["assignee"] else [])
            issue["assignees"] = [self._short_user(login) for login in logins or []]
            issue["assignee"] = issue["assignees"][0] if issue["assignees"] else None
        if "milestone" in data:
            issue["milestone"] = repo.milestones.get(data["milestone"]) if data["milestone"] is not None else None

    def _short_user(self, login: str) -> dict:
        user = self.users.get(login) or {"login": login, "id": 0}
        return {"login": user["login"], "id": user["id"], "type": "User"}


