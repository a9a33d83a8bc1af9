"""A local fake issue tracker: a stand-in that speaks the subset of Redmine's REST API the
``redmine`` connector uses, with latency, failure injection and request counting.

It is NOT Redmine. It mirrors Redmine 5.0's JSON shapes and its traps, as recorded from a live
Redmine (docs/connectors/redmine.md): ``updated_on>=T`` means ``updated_on > T - 1 s``
(microseconds stored, whole seconds shown), default sort ``id desc``, ties in ``updated_on``
id-descending unless ``sort=updated_on,id``, ``limit`` capped at 100, open issues only unless
``status_id=*``, a disallowed status change silently ignored (204), hard deletes. Use it for
benchmarks and failure-injection tests; prove behaviour against the real Redmine
(``tests/integrations/connectors/redmine``).

The data and its rules are ``tests/fakes/tracker_model.py``; this module is the HTTP side:
routing, failure injection, counting, the server.

Usage (in-process, threaded, thread-safe)::

    from tests.fakes.tracker import FakeTracker

    tracker = FakeTracker(latency=0.02, failure_rate=0.2).start()   # or: with FakeTracker() as tracker:
    tracker.base_url          # "http://127.0.0.1:PORT" — give it to the redmine connector as its URL
    tracker.api_key           # "fake-api-key" — the connector's api_key secret
    tracker.add_project("demo")                                    # a project "demo" exists already
    issue_id = tracker.add_issue("demo", subject="Hello", updated_on=datetime(...), hub_key="...")
    tracker.add_issues("demo", 100_000)                            # bulk, fast; stamps 1 ms apart
    tracker.touch(issue_id)                                        # bump updated_on (like an edit)
    tracker.issue(issue_id)                                        # the JSON dict Redmine would return
    tracker.calls                # requests answered (including injected failures)
    tracker.calls_by["GET /issues.json"]
    tracker.failures             # failures injected so far
    tracker.fail_next("500", 3)  # deterministic injection: the next 3 requests fail with 500
    tracker.reset_counts()
    tracker.stop()

In its own process (so a benchmark's hub does not share a GIL with the fake)::

    python -m tests.fakes.tracker --port 3301 --latency 0.02 --issues 100000 --project demo

(``--step`` spaces the seeded stamps: mind that Redmine's whole-second ``>=`` makes an idle poll
re-read the issues of the cursor's second and of the one before, so 1,000 issues per second cost
an idle poll about 20 pages; real trackers rarely see that many edits in one second) and control
it over HTTP (never delayed, failed or counted): ``GET /_fake/stats`` →
``{"calls", "calls_by", "failures", "issues"}``; ``POST /_fake/reset``; ``POST /_fake/config``
``{"latency", "failure_rate", "failure_kinds", "retry_after", "hang"}``; ``POST /_fake/issues``
``{"project", "count", "updated_on" (epoch s), "step"}`` → ``{"ids"}``; ``POST /_fake/touch``
``{"ids", "updated_on"}``; ``POST /_fake/projects`` ``{"identifier"}``.

Failure kinds (``failure_kinds``, picked uniformly for the ``failure_rate`` fraction of requests,
*before* the request has any effect): ``"timeout"`` (hangs ``hang`` seconds, then closes without
answering: a client whose read timeout is below ``hang`` sees a timeout, others a dropped
connection; both are transient — ``hang=0.05`` keeps robustness tests fast), ``"drop"`` (closes
the connection at once), ``"500"``, ``"503"``, ``"429"`` (with ``Retry-After: retry_after``).
And one that strikes *after* the effect: ``"lost"`` (the request is carried out — an issue is
created — but the connection closes without an answer: the crash-safe creation case).
``clock`` (a callable returning epoch seconds) sets the time the fake stamps on writes.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.tracker_model import (
    PRIORITIES,
    STATUSES,
    TRACKERS,
    TrackerModel,
    _Reject,
)


class FakeTracker(TrackerModel):
    def __init__(self, *, latency: float = 0.0, failure_rate: float = 0.0,
                 failure_kinds: Iterable[str] = ("timeout", "500", "429"), retry_after: int = 1,
                 hang: float = 1.0, api_key: str | None = "fake-api-key", projects: Iterable[str] = ("demo",),
                 workflow: dict[str, set[str]] | None = None, clock: Callable[[], float] = time.time,
                 seed: int = 0, port: int = 0) -> None:
        super().__init__(projects=projects, workflow=workflow, clock=clock)
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        self.retry_after = retry_after
        self.hang = hang
        self.api_key = api_key
        self._rng = random.Random(seed)
        self._forced: list[str] = []
        self.calls = 0
        self.calls_by: Counter[str] = Counter()
        self.failures = 0
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle --

    def start(self) -> FakeTracker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTracker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- failure injection and counting --

    def fail_next(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self._forced.extend([kind] * count)

    def reset_counts(self) -> None:
        with self._lock:
            self.calls, self.failures = 0, 0
            self.calls_by.clear()

    # -- request handling (called from server threads) --

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
                  body: bytes) -> tuple[int, Any, dict[str, str]]:
        if path.startswith("/_fake/"):
            return self._control(method, path, json.loads(body) if body else {})
        route = re.sub(r"/\d+\.json$", "/:id.json", path)
        with self._lock:
            self.calls += 1
            self.calls_by[f"{method} {route}"] += 1
            failure = self._forced.pop(0) if self._forced else (
                self._rng.choice(self.failure_kinds) if self.failure_rate and self._rng.random() < self.failure_rate
                else None)
            if failure:
                self.failures += 1
        if self.latency:
            time.sleep(self.latency)
        if failure and failure != "lost":
            return _failure(failure, self)
        key = headers.get("X-Redmine-API-Key") or (query.get("key") or [None])[0]
        if self.api_key is not None and key != self.api_key:
            return 401, None, {}
        payload = json.loads(body) if body else {}
        try:
            with self._lock:
                answer = self._route(method, path, query, payload)
        except _Reject as reject:
            answer = reject.status, reject.body, reject.headers
        if failure == "lost":  # it happened, but the client never hears of it
            return -1, None, {}
        return answer

    def _control(self, method: str, path: str, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """The test harness's side door (see the module docstring)."""
        if path == "/_fake/stats":
            with self._lock:
                return 200, {"calls": self.calls, "calls_by": dict(self.calls_by), "failures": self.failures,
                             "issues": len(self._issues)}, {}
        if method != "POST":
            return 405, None, {}
        if path == "/_fake/reset":
            self.reset_counts()
            return 204, None, {}
        if path == "/_fake/config":
            for name in ("latency", "failure_rate", "retry_after", "hang"):
                if name in data:
                    setattr(self, name, data[name])
            if "failure_kinds" in data:
                self.failure_kinds = tuple(data["failure_kinds"])
            return 204, None, {}
        if path == "/_fake/projects":
            return 200, {"id": self.add_project(data["identifier"])}, {}
        if path == "/_fake/issues":
            ids = self.add_issues(data.get("project", "demo"), int(data["count"]), updated_on=data.get("updated_on"),
                                  step=float(data.get("step", 0.001)))
            return 200, {"ids": ids}, {}
        if path == "/_fake/touch":
            for issue_id in data["ids"]:
                self.touch(int(issue_id), updated_on=data.get("updated_on"))
            return 204, None, {}
        return 404, None, {}

    def _route(self, method: str, path: str, q: dict[str, list[str]], payload: dict[str, Any]) -> tuple[int, Any, dict]:
        one = {k: v[-1] for k, v in q.items()}
        if method == "GET":
            if path == "/issues.json":
                return 200, self._list_issues(one), {}
            if m := re.fullmatch(r"/issues/(\d+)\.json", path):
                issue = self._get(int(m[1]))
                return 200, {"issue": self._render(issue, allowed="allowed_statuses" in one.get("include", ""))}, {}
            if path == "/projects.json":
                return 200, _paged("projects", list(self._projects.values()), one), {}
            if m := re.fullmatch(r"/projects/([^/]+)\.json", path):
                return 200, {"project": self._projects[self._project_id(m[1])]}, {}
            if path == "/users/current.json":
                return 200, {"user": self._users[1]}, {}
            if path == "/users.json":
                return 200, _paged("users", list(self._users.values()), one), {}
            if path == "/trackers.json":
                return 200, {"trackers": [{"id": i, "name": n, "default_status": {"id": 1, "name": "New"}}
                                          for i, n in TRACKERS]}, {}
            if path == "/issue_statuses.json":
                return 200, {"issue_statuses": [{"id": i, "name": n, "is_closed": c} for i, n, c in STATUSES]}, {}
            if path == "/enumerations/issue_priorities.json":
                return 200, {"issue_priorities": [{"id": i, "name": n, "is_default": i == 2, "active": True}
                                                  for i, n in PRIORITIES]}, {}
            if path == "/custom_fields.json":
                return 200, {"custom_fields": [{"id": i, "name": n, "customized_type": "issue", "field_format": "string",
                                                "is_filter": True, "searchable": True, "multiple": False, "visible": True}
                                               for i, n in sorted(self._custom_fields.items())]}, {}
        if method == "POST" and path == "/issues.json":
            return 201, {"issue": self._render(self._create(payload.get("issue") or {}))}, {}
        if method == "POST" and path == "/projects.json":
            data = payload.get("project") or {}
            pid = self.add_project(data.get("identifier", ""), data.get("name", ""))
            return 201, {"project": self._projects[pid]}, {}
        if m := re.fullmatch(r"/issues/(\d+)\.json", path):
            issue = self._get(int(m[1]))
            if method == "PUT":
                self._update(issue, payload.get("issue") or {})
                return 204, None, {}
            if method == "DELETE":
                self._delete(issue)
                return 204, None, {}
        raise _Reject(404)


def _paged(name: str, items: list[dict[str, Any]], q: dict[str, str]) -> dict[str, Any]:
    offset = max(0, int(q.get("offset", 0)))
    limit = min(100, max(1, int(q.get("limit", 25))))
    return {name: items[offset:offset + limit], "total_count": len(items), "offset": offset, "limit": limit}


def _failure(kind: str, tracker: FakeTracker) -> tuple[int, Any, dict[str, str]]:
    if kind == "timeout":
        time.sleep(tracker.hang)
        return -1, None, {}
    if kind == "drop":
        return -1, None, {}
    if kind == "429":
        return 429, {"errors": ["Too many requests"]}, {"Retry-After": str(tracker.retry_after)}
    return int(kind), None, {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # benchmarks open many connections at once


def _handler_for(tracker: FakeTracker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add ~40 ms.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            try:
                status, payload, headers = tracker._dispatch(self.command, parts.path, parse_qs(parts.query),
                                                             self.headers, body)
            except (ValueError, KeyError) as exc:  # a malformed request, as Redmine would answer
                status, payload, headers = 422, {"errors": [f"Invalid request: {exc}"]}, {}
            if status < 0:  # injected timeout/drop: no answer at all
                self.close_connection = True
                return
            data = b"" if payload is None else json.dumps(payload).encode()
            try:
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the fake Redmine-speaking tracker in the foreground.")
    parser.add_argument("--port", type=int, default=3301)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--project", action="append", default=[], help="project identifier (repeatable)")
    parser.add_argument("--issues", type=int, default=0, help="issues to create in the first project")
    parser.add_argument("--step", type=float, default=0.001, help="seconds between the seeded issues' updated_on")
    parser.add_argument("--api-key", default="fake-api-key")
    args = parser.parse_args(argv)
    projects = args.project or ["demo"]
    tracker = FakeTracker(latency=args.latency, failure_rate=args.failure_rate, api_key=args.api_key,
                          projects=projects, port=args.port)
    if args.issues:
        tracker.add_issues(projects[0], args.issues, step=args.step)
    print(f"{tracker.base_url} api_key={tracker.api_key}", flush=True)
    try:
        tracker._server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
