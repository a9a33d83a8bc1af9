"""Servers that answer errors by echoing the credentials they received (a hostile tool or proxy).

``echo_lines`` is the body such a server writes: the request line (with its query string), every
header as received — ``Authorization: Basic base64(user:password)``, ``Proxy-Authorization``,
API-key headers — the decoded ``Basic`` credentials, and a URL carrying them URL-encoded.

* :class:`EchoingJira` is the Jira stand-in, except that the requests named in ``echo_on``
  (method, path suffix) get a Jira-style 400 whose ``errorMessages`` are those lines.
* :class:`EchoProxy` answers every request that way: as a proxy, or as a tool (Redmine's 422).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlencode

from tests.fakes.apiserver import Request, Response
from tests.fakes.jira_api import JiraApi


def echo_lines(method: str, target: str, headers: dict[str, str]) -> list[str]:
    # Credentials first: a client keeps only the start of a long error body.
    ordered = sorted(headers.items(), key=lambda kv: not any(w in kv[0].lower() for w in ("auth", "key", "token")))
    lines = [f"{method} {target}"] + [f"{name}: {value}" for name, value in ordered]
    for name, value in headers.items():
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic":
            continue
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except (binascii.Error, ValueError):
            continue
        lines.append(f"{name} decoded: user {user} password {password}")
        lines.append(f"retry at https://{quote(user, safe='')}:{quote(password, safe='')}@tool.example/login?"
                     + urlencode({"password": password, "next": "/"}))
    for name, value in headers.items():
        if name.lower() in ("authorization", "x-redmine-api-key") and not value.lower().startswith("basic "):
            token = value.partition(" ")[2] or value
            lines.append(f"see /api?token={quote(token, safe='')}&key={quote(token)}")
    return lines


class EchoingJira(JiraApi):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.echo_on: set[tuple[str, str]] = set()
        self.echoed = 0

    def handle(self, request: Request) -> Response:
        if any(request.method == m and request.path.endswith(p) for m, p in self.echo_on):
            self.echoed += 1
            query = urlencode([(k, v) for k, vs in request.query.items() for v in vs])
            target = request.path + (f"?{query}" if query else "")
            return Response(400, {"errorMessages": echo_lines(request.method, target, request.headers), "errors": {}})
        return super().handle(request)


class EchoProxy:
    """An HTTP proxy (or a tool) that forwards nothing: every request gets ``status`` with a JSON
    body ``{key: echo_lines(...)}`` (Jira's ``errorMessages``, Redmine's 422 ``errors``)."""

    def __init__(self, status: int = 401, key: str = "errorMessages") -> None:
        proxy = self
        self.echoed = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                proxy.echoed += 1
                body = json.dumps({key: echo_lines(self.command, self.path, dict(self.headers.items()))}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> EchoProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
