"""The HTTP client every connector uses: one per connection, shared by the engine's threads.

See the package's docstring (``integrations/connectors/http/__init__.py``) for what it does.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.connectors.base import ConnectorError
from integrations.connectors.http.clock import Clock, default_clock
from integrations.connectors.http.errors import HttpError, body_summary, is_dns, looks_unreachable
from integrations.connectors.http.policy import IDEMPOTENT_METHODS, ProxyConfig, RetryPolicy, Timeouts, parse_retry_after
from integrations.connectors.http.redaction import Redactor, redact_headers, redact_url
from integrations.connectors.http.transport import Transport, basic_auth

logger = logging.getLogger("integrations.http")

USER_AGENT = "tasktop-hub/0.1 (+https://github.com/; integration hub)"
MAX_BODY_IN_ERROR = 500


@dataclass
class _Attempt:
    """The outcome of one try: either a response or an exception, and what to do about it."""

    response: requests.Response | None = None
    error: ConnectorError | None = None
    retryable: bool = False
    retry_after: float | None = None


class HttpClient:
    """HTTP for one connection. Safe to share between threads (one urllib3 pool manager, see transport.py)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        proxy: ProxyConfig | None = None,
        verify: bool | str = True,  # False, True (public CAs), or CA PEM text / a PEM file's path
        secrets: Iterable[str] = (),
        clock: Clock | None = None,
        rng: Callable[[], float] = random.random,
        pool_size: int = 32,
        name: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip, deflate",
                        **(headers or {})}
        self.auth = auth
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.proxy = proxy
        self.verify = verify
        self._clock = clock
        self.rng = rng
        self.pool_size = pool_size
        self.name = name or urlsplit(self.base_url).netloc
        values = [*list(secrets), *(auth[1:] if auth else ())]
        if proxy:
            values += [proxy.password, proxy.username]
        # Every encoding of every secret (base64 inside ``Basic``, URL-encoded, …): see redaction.py.
        self._redactor = Redactor(values)
        if auth:
            # Basic auth as a header: the transport sends what the headers say, nothing else.
            self.headers["Authorization"] = basic_auth(*auth)
        self._wire: Transport | None = None
        self._lock = threading.Lock()
        self._blocked_until = 0.0  # wall time before which the rate limit says: do not call
        # X-RateLimit-Remaining as a budget shared by all threads: requests we may still *start*
        # before the window ends (remaining minus what is in flight), so concurrent callers do
        # not overrun the quota between one response and the next.
        self._budget: int | None = None
        self._window_ends = 0.0
        self._in_flight = 0
        self._secondary_strikes = 0  # secondary rate limits in a row (reset by a success)
        self.requests_sent = 0  # attempts, including retries (for benchmarks and tests)

    @property
    def clock(self) -> Clock:
        return self._clock or default_clock()

    # -- the wire --

    def _transport(self) -> Transport:
        # Built lazily and once: a urllib3 pool manager is thread-safe, so all threads share it.
        transport = self._wire
        if transport is None:
            with self._lock:
                if self._wire is None:
                    proxy = self.proxy
                    self._wire = Transport(proxy_url=proxy.url if proxy else "",
                                           proxy_user=proxy.username if proxy else "",
                                           proxy_password=proxy.password if proxy else "",
                                           verify=self.verify, pool_size=self.pool_size)
                transport = self._wire
        return transport

    def close(self) -> None:
        with self._lock:
            wire, self._wire = self._wire, None
        if wire is not None:
            wire.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers --

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def scrub(self, text: str) -> str:
        return self._redactor(text)

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.json_of(self.request("GET", path, params=params, **kwargs))

    def json_of(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            where = redact_url(response.url)
            raise ConnectorError(self.scrub(f"{where} did not return JSON (HTTP {response.status_code}, "
                                            f"{response.headers.get('Content-Type', 'no content type')}); "
                                            "is the URL right?")) from None

    # -- the request loop --

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Iterable[int] = (),
        idempotent: bool | None = None,
        timeouts: Timeouts | None = None,
        follow_redirects: bool = True,
    ) -> requests.Response:
        """Send with retries; return a 2xx/3xx response or one whose status is in ``allow``
        (a 3xx only with ``follow_redirects`` false: redirects are followed otherwise).

        Raises :class:`HttpError` for any other final status and :class:`ConnectorError` for
        network failures.
        """
        method = method.upper()
        url = self.url(path)
        allowed = frozenset(allow)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        timeouts = timeouts or self.timeouts
        policy = self.retry
        waited = 0.0
        attempt = 0
        while True:
            waited += self._wait_for_rate_limit(policy, waited, method, url)
            outcome = self._try(method, url, params, json, data, headers, allowed, idempotent, timeouts,
                                follow_redirects)
            if outcome.response is not None:
                return outcome.response
            assert outcome.error is not None
            attempt += 1
            limit = policy.unreachable_attempts if outcome.error.unreachable else policy.max_attempts
            if not outcome.retryable or attempt >= min(limit, policy.max_attempts):
                raise outcome.error
            delay = outcome.retry_after if outcome.retry_after is not None else policy.backoff(attempt - 1, self.rng)
            if waited + delay > policy.max_total_wait:
                # Hand the wait to the engine rather than holding a worker.
                if outcome.error.retry_after is None:
                    outcome.error.retry_after = delay
                raise outcome.error
            # The error's text already names the method and (redacted) URL.
            logger.info("%s; retry %d/%d in %.2fs", outcome.error, attempt, policy.max_attempts - 1, delay)
            self.clock.sleep(delay)
            waited += delay

    def _wait_for_rate_limit(self, policy: RetryPolicy, waited: float, method: str, url: str) -> float:
        """Wait until the rate limit lets one more request start, and count it as started."""
        slept = 0.0
        while True:
            with self._lock:
                now = self.clock.time()
                if self._budget is not None and now >= self._window_ends:
                    self._budget = None  # the window has reset
                delay = self._blocked_until - now if policy.honour_rate_limit else 0.0
                if delay <= 0 and policy.honour_rate_limit and self._budget is not None and self._budget <= 0:
                    delay = self._window_ends - now
                if delay <= 0:
                    if self._budget is not None:
                        self._budget -= 1
                    self._in_flight += 1
                    return slept
            if waited + slept + delay > policy.max_total_wait:
                raise ConnectorError(f"{method} {redact_url(url)}: rate limit exhausted; resets in {delay:.0f}s",
                                     transient=True, retry_after=delay)
            logger.info("%s %s: rate limit exhausted, waiting %.2fs for the reset", method, redact_url(url), delay)
            self.clock.sleep(delay)
            slept += delay

    def _try(self, method: str, url: str, params: Any, json: Any, data: Any, headers: Mapping[str, str] | None,
             allowed: frozenset[int], idempotent: bool, timeouts: Timeouts, follow: bool = True) -> _Attempt:
        where = f"{method} {redact_url(url)}"
        self.requests_sent += 1
        started = time.perf_counter()
        try:
            response = self._transport().send(method, url, params=params, json=json, data=data,
                                              headers={**self.headers, **(headers or {})},
                                              timeout=(timeouts.connect, timeouts.read), follow=follow)
        except requests.exceptions.RequestException as exc:
            self._finished(None)
            return self._network_failure(where, exc, idempotent)
        except BaseException:
            self._finished(None)  # e.g. a body that is not JSON-serialisable: keep the count right
            raise
        self._finished(response)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s → %d in %.1f ms", method, redact_url(response.url), response.status_code,
                         (time.perf_counter() - started) * 1000)
        self._note_rate_limit(response)
        status = response.status_code
        if status < 400:
            self._secondary_strikes = 0  # the server takes requests again: the next limit starts at a minute
        if status < 400 or status in allowed:
            return _Attempt(response=response)
        return self._status_failure(where, response, idempotent)

    def _network_failure(self, where: str, exc: requests.exceptions.RequestException, idempotent: bool) -> _Attempt:
        exc_ = requests.exceptions
        # Exception texts can carry the full URL (with a password) — describe, do not repeat them.
        if isinstance(exc, exc_.SSLError):
            error = ConnectorError(f"{where}: TLS handshake or certificate verification failed", unreachable=True)
            return _Attempt(error=error)
        if isinstance(exc, exc_.ProxyError):
            error = ConnectorError(f"{where}: the proxy refused or failed the connection", transient=True,
                                   unreachable=True)
            return _Attempt(error=error, retryable=idempotent)
        if isinstance(exc, exc_.ConnectTimeout):
            error = ConnectorError(f"{where}: connection timed out", transient=True, unreachable=True)
            return _Attempt(error=error, retryable=True)  # nothing was sent
        if isinstance(exc, exc_.Timeout):
            error = ConnectorError(f"{where}: no response in time (read timeout)", transient=True)
            return _Attempt(error=error, retryable=idempotent)
        if isinstance(exc, exc_.ConnectionError):
            text = str(exc)
            if looks_unreachable(text):
                reason = "host name not found" if is_dns(text) else "connection refused or host unreachable"
                error = ConnectorError(f"{where}: {reason}", transient=True, unreachable=True)
                return _Attempt(error=error, retryable=True)  # the server never saw the request
            error = ConnectorError(f"{where}: connection broken", transient=True)
            return _Attempt(error=error, retryable=idempotent)
        if isinstance(exc, exc_.InvalidURL | exc_.MissingSchema | exc_.InvalidSchema):
            return _Attempt(error=ConnectorError(f"{where}: invalid URL"))
        error = ConnectorError(f"{where}: {type(exc).__name__}", transient=True)
        return _Attempt(error=error, retryable=idempotent)

    def _status_failure(self, where: str, response: requests.Response, idempotent: bool) -> _Attempt:
        status = response.status_code
        # Scrub, then cut: a cut first could split a secret so that no form of it matches.
        body = self.scrub(response.text)[:MAX_BODY_IN_ERROR] if response.content else ""
        retry_after = self._retry_after(response)
        rate_limited = status == 429 or (status == 403 and (retry_after is not None
                                                            or response.headers.get("X-RateLimit-Remaining") == "0"))
        message = f"{where} failed: HTTP {status} {response.reason or ''}".rstrip()
        summary = body_summary(body)
        if summary:
            message += f": {summary}"
        flags: dict[str, Any] = {}
        retryable = False
        if rate_limited:
            if retry_after is None:
                # Only a spent quota (Remaining: 0) makes X-RateLimit-Reset the wait; otherwise the
                # reset is just the end of the hourly window and waiting for it would stall every
                # thread for up to an hour.
                spent = response.headers.get("X-RateLimit-Remaining") == "0"
                retry_after = self._reset_delay(response) if spent else None
                if retry_after is None:
                    retry_after = self.secondary_wait()
            if retry_after:
                # The wait applies to the whole connection: other threads must not keep calling.
                self.hold(retry_after)
            flags = {"transient": True, "retry_after": retry_after}
            retryable = True  # a rate-limited request was not processed
        elif status in (401, 403):
            flags = {"auth": True}
        elif status >= 500 and status not in (501, 505):
            flags = {"transient": True, "retry_after": retry_after}
            # 503 + Retry-After is the server saying it did not take the request.
            retryable = idempotent or (status == 503 and retry_after is not None)
        error = HttpError(self.scrub(message), status=status, body=body, headers=redact_headers(response.headers),
                          **flags)
        return _Attempt(error=error, retryable=retryable, retry_after=retry_after if retryable else None)

    # -- rate-limit headers --

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        return parse_retry_after(value, self.clock.time())

    def _reset_delay(self, response: requests.Response) -> float | None:
        reset = response.headers.get("X-RateLimit-Reset")
        if not reset:
            return None
        try:
            number = float(reset)
        except ValueError:
            return None
        # Epoch seconds (GitHub) or seconds from now (some others): epochs are large.
        delay = number - self.clock.time() if number > 1_000_000_000 else number
        return max(0.0, delay)

    def secondary_wait(self) -> float:
        """The wait for a secondary rate limit that named none: a minute, doubling on each repeat."""
        policy = self.retry
        with self._lock:
            now = self.clock.time()
            if self._secondary_strikes and self._blocked_until > now:
                # A request sent before the current wait began: the same limit, not a repeat
                # (threads answered together must not double the wait once each).
                return self._blocked_until - now
            self._secondary_strikes += 1
            strikes = self._secondary_strikes
        return min(policy.secondary_max_wait, policy.secondary_wait * 2 ** (strikes - 1))

    def hold(self, seconds: float) -> None:
        """Send nothing on this client for ``seconds`` (a server asked us to wait)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self.clock.time() + seconds)

    def _finished(self, response: requests.Response | None) -> None:
        """One request is no longer in flight; learn the remaining quota from its headers."""
        remaining = response.headers.get("X-RateLimit-Remaining") if response is not None else None
        delay = self._reset_delay(response) if remaining is not None and response is not None else None
        with self._lock:
            self._in_flight -= 1
            if remaining is None or delay is None:
                return
            try:
                available = int(float(remaining)) - self._in_flight
            except ValueError:
                return
            ends = self.clock.time() + delay
            if self._budget is None or ends > self._window_ends + 2.0:  # a new window
                self._budget, self._window_ends = available, ends
            else:  # responses overtake each other: the lowest count is the truest
                self._budget = min(self._budget, available)
                self._window_ends = max(self._window_ends, ends)

    def _note_rate_limit(self, response: requests.Response) -> None:
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return
        delay = self._reset_delay(response)
        if delay:
            with self._lock:
                self._blocked_until = max(self._blocked_until, self.clock.time() + delay)
