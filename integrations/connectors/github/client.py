"""GitHub-specific HTTP on top of the shared client: conditional GETs, write pacing, and
GitHub's way of saying "rate limited".

One :class:`GitHubHttp` per (API URL, token) lives for the process, so an exhausted quota seen by
one connector instance holds back the next instance too (no fresh client hammering a 403), and
ETags survive between change-detection runs — GitHub does not charge a 304 against the quota, so
an idle poll of a quiet repository is free.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from integrations.connectors import http
from integrations.connectors.base import ConnectorError

API_VERSION = "2022-11-28"
ETAG_CACHE_SIZE = 1024  # entries, and at most this many bytes of response bodies:
ETAG_CACHE_BYTES = 16 * 1024 * 1024
# GitHub: "If you are making a large number of POST, PATCH, PUT, or DELETE requests for a single
# user or client ID, wait at least one second between each request." (secondary rate limits)
DEFAULT_WRITE_INTERVAL = 1.0


class GitHubHttp:
    def __init__(self, base_url: str, token: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": API_VERSION}
        common: dict[str, Any] = {
            "headers": headers, "timeouts": http.Timeouts.from_settings(options),
            "proxy": http.ProxyConfig.from_settings(options, secrets), "secrets": (token,), "name": "github",
            "verify": http.verify_from_settings(options),  # GitHub Enterprise Server may use a private CA
        }
        self.core = http.HttpClient(base_url, **common)
        self.write_interval = float(options.get("write_interval", DEFAULT_WRITE_INTERVAL) or 0.0)
        self._budgets = {id(self.core): _Budget()}
        self._etags: OrderedDict[tuple, tuple[str, Any, str, int]] = OrderedDict()
        self._etag_bytes = 0
        self._lock = threading.Lock()
        self._last_write = 0.0
        self.not_modified = 0  # 304s served from the cache (for tests and the benchmark)
        self.me: dict | None = None  # the token's user, read once

    # -- reads --

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            allow: tuple[int, ...] = ()) -> tuple[Any, str, int]:
        """GET with ``If-None-Match``; returns (json, Link header, status)."""
        client = self.core
        key = (path, tuple(sorted((params or {}).items())))
        with self._lock:
            cached = self._etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else None
        response = self._call(client, "GET", path, params=params, headers=headers, allow=allow)
        if response.status_code == 304 and cached:
            with self._lock:
                self._etags.move_to_end(key)
                self.not_modified += 1
            return cached[1], cached[2], 200
        if response.status_code in allow:
            return None, "", response.status_code
        data = client.json_of(response)
        link = response.headers.get("Link", "")
        etag = response.headers.get("ETag")
        if etag:
            with self._lock:
                size = len(response.content)
                old = self._etags.pop(key, None)
                self._etag_bytes += size - (old[3] if old else 0)
                self._etags[key] = (etag, data, link, size)
                while self._etags and (len(self._etags) > ETAG_CACHE_SIZE or self._etag_bytes > ETAG_CACHE_BYTES):
                    self._etag_bytes -= self._etags.popitem(last=False)[1][3]
        return data, link, response.status_code

    # -- writes --

    def write(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        """A write at ``path`` itself, never through a redirect: GitHub answers 301 for an issue
        transferred to another repository, and following it would change an issue outside the
        collection's repository (docs/connectors/github.md, "Transferred issues")."""
        self._pace()
        response = self._call(self.core, method, path, json=dict(body), follow_redirects=False)
        if 300 <= response.status_code < 400:
            moved = response.headers.get("Location", "") or "another address"
            raise ConnectorError(f"{method} {path}: GitHub answers {response.status_code} (moved to {moved}): the "
                                 "issue was transferred to another repository; the hub does not write to it there.")
        return self.core.json_of(response)

    def _pace(self) -> None:
        if self.write_interval <= 0:
            return
        clock = self.core.clock
        with self._lock:
            wait = self._last_write + self.write_interval - clock.time()
            self._last_write = max(clock.time(), self._last_write + self.write_interval)
        if wait > 0:
            clock.sleep(wait)

    def _call(self, client: http.HttpClient, method: str, path: str, **kwargs: Any) -> Any:
        budget = self._budgets[id(client)]
        with self._lock:
            now = client.clock.time()
            # Several threads share the quota: a request goes out only if the quota left, minus
            # the requests already in flight, covers it; otherwise wait for the reset.
            if budget.remaining is not None and budget.remaining - budget.in_flight <= 0 and budget.reset > now:
                client.hold(budget.reset - now)
            budget.in_flight += 1
        headers: Mapping[str, str] = {}
        try:
            response = client.request(method, path, **kwargs)
            headers = response.headers
            return response
        except http.HttpError as exc:
            headers = exc.headers
            error = _github_error(exc, client)
            if error is not exc and error.transient and error.retry_after:
                client.hold(error.retry_after)  # nobody on this connection calls until then
            raise error from None
        finally:
            with self._lock:
                budget.in_flight -= 1
                budget.note(headers)

    def close(self) -> None:
        self.core.close()


class _Budget:
    """What GitHub last said about the core quota, and the requests now in flight."""

    def __init__(self) -> None:
        self.remaining: int | None = None
        self.reset = 0.0
        self.in_flight = 0

    def note(self, headers: Mapping[str, str]) -> None:
        try:
            remaining, reset = int(headers["X-RateLimit-Remaining"]), float(headers["X-RateLimit-Reset"])
        except (KeyError, TypeError, ValueError):
            return
        if reset > self.reset or self.remaining is None or remaining < self.remaining:
            self.remaining, self.reset = remaining, reset  # a new window, or fewer left in this one


def _github_error(exc: http.HttpError, client: http.HttpClient) -> ConnectorError:
    """Re-read GitHub's error: a 403/429 about a rate limit is never an authentication failure."""
    body = exc.json() if exc.body else None
    message = body.get("message", "") if isinstance(body, dict) else ""
    if exc.status in (403, 429) and "rate limit" in message.lower() and not exc.transient:
        # A secondary limit as a 403 without Retry-After (the shared client already reads a 429 so):
        # GitHub asks for at least a minute, exponentially longer while it keeps failing.
        return ConnectorError(f"{exc}", transient=True, retry_after=client.secondary_wait())
    if exc.status == 422 and isinstance(body, dict):
        details = "; ".join(_describe(e) for e in body.get("errors") or [])
        return ConnectorError(f"GitHub refused the change: {message}" + (f" ({details})" if details else ""))
    return exc


def _describe(err: Any) -> str:
    if not isinstance(err, dict):
        return str(err)
    text = f"{err.get('field', '?')}: {err.get('code', 'invalid')}"
    if "value" in err:
        text += f" ({err['value']!r})"
    return text


_shared: dict[tuple, GitHubHttp] = {}
_shared_lock = threading.Lock()


def shared(base_url: str, token: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> GitHubHttp:
    """The process-wide client for this URL, token and HTTP options (the key holds a digest, not the token)."""
    relevant = tuple(sorted((k, str(v)) for k, v in options.items()
                            if k in ("proxy_url", "connect_timeout", "read_timeout", "write_interval", "verify_tls",
                                     "ca_certificates")))
    proxy_secret = hashlib.sha256(f"{secrets.get('proxy_username')}:{secrets.get('proxy_password')}".encode()).hexdigest()
    key = (base_url, hashlib.sha256(token.encode()).hexdigest(), relevant, proxy_secret)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = GitHubHttp(base_url, token, options, secrets)
        return client


def forget_clients() -> None:
    """Drop the shared clients (tests start from a clean slate)."""
    with _shared_lock:
        clients = list(_shared.values())
        _shared.clear()
    for client in clients:
        client.close()
