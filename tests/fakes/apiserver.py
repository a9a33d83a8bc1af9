"""A small threaded HTTP server base for the local stand-ins of hosted APIs (GitHub, Jira).

Each fake subclasses :class:`FakeApi`, registers routes with :meth:`FakeApi.route` and runs on
loopback in a daemon thread for the duration of a test. The fakes take a ``clock`` (anything with
``time()``, e.g. ``tests.fakes.clock.FakeClock``) so rate-limit windows and timestamps
follow the same time the client sleeps on, and no test waits for real.

Fakes also count *violations*: requests that arrive while the server has told the client to wait
(``Retry-After`` not yet elapsed, primary quota exhausted before its reset). A polite client makes
none; tests assert that.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class WallClock:
    def time(self) -> float:
        return time.time()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class FakeApi:
    """Routing, JSON, logging of requests, storms of failures, and the server thread."""

    def __init__(self, clock: Any = None) -> None:
        self.clock = clock or WallClock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.lock = threading.RLock()
        self.log: list[tuple[str, str, int]] = []  # (method, path?query, status)
        self.violations = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routing --

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method, regex, handler))

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            m = regex.match(request.path)
            if m:
                allowed = True
                if method == request.method:
                    request.match = {**request.match, **m.groupdict()}
                    return handler(request)
        return self.not_found(request, method_not_allowed=allowed)

    def not_found(self, request: Request, method_not_allowed: bool = False) -> Response:
        return Response(405 if method_not_allowed else 404, {"message": "Not Found"})

    def handle(self, request: Request) -> Response:
        """Subclasses wrap ``dispatch`` with authentication and rate limits."""
        return self.dispatch(request)

    def now(self) -> float:
        return float(self.clock.time())

    # -- server --

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApi:
        api = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    with api.lock:
                        response = api.handle(request)
                except Exception as exc:  # noqa: BLE001 - a fake answers 500 like a real server would
                    response = Response(500, {"message": f"fake server error: {type(exc).__name__}: {exc}"})
                with api.lock:
                    api.log.append((self.command, self.path, response.status))
                payload = b"" if response.body is None or response.status == 304 else json.dumps(response.body).encode()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:  # quiet: tests read api.log instead
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, prefix: str, method: str | None = None) -> list[tuple[str, str, int]]:
        with self.lock:
            return [e for e in self.log if e[1].startswith(prefix) and (method is None or e[0] == method)]
