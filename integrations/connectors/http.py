"""The one module through which all outbound HTTP goes.

Every connector talks to its tool through an :class:`HttpClient`::

    from integrations.connectors import http

    client = http.HttpClient(
        base_url,
        headers={"X-Redmine-API-Key": api_key},   # secret headers are redacted in logs
        proxy=http.ProxyConfig.from_settings(options, secrets),
        secrets=(api_key,),                       # scrubbed from any message, belt and braces
    )
    data = client.get_json("/issues.json", params={"limit": 100})
    response = client.request("PUT", "/issues/1.json", json={...}, allow=(404,))

What it does for the caller:

- timeouts on connect and read (``Timeouts``), pooled keep-alive connections shared by threads
  (urllib3 underneath, ``requests.Response`` objects on top: see ``transport.py``);
- a proxy from connection settings (URL in options, credentials in secrets); environment proxy
  variables are ignored on purpose, so what the admin configured is what happens;
- retries for transient failures (connection errors, timeouts, 5xx, 429) with exponential backoff
  and full jitter, honouring ``Retry-After`` (seconds or HTTP date) and ``X-RateLimit-Remaining`` /
  ``X-RateLimit-Reset``, never waiting more than ``RetryPolicy.max_total_wait`` in one call. A
  rate-limit answer (429, or 403 with ``Retry-After``) that says neither when to come back nor that
  the quota is spent is a *secondary* limit: the client waits ``secondary_wait`` (a minute), twice
  as long on each repeat, and never mistakes ``X-RateLimit-Reset`` — the primary window's end,
  which GitHub sends on every answer — for the wait (see :meth:`HttpClient.secondary_wait`);
- final failures become :class:`~integrations.connectors.base.ConnectorError` (``HttpError`` for an
  HTTP status): ``transient``, ``retry_after``, ``auth`` (401, 403 that is not a rate limit) and
  ``unreachable`` (DNS, refused, connect timeout, TLS) set so the engine can decide;
- secrets never reach logs or messages: ``Authorization``-like headers are redacted, passwords in
  URLs and key-like query parameters are masked, and known secret values are scrubbed in every
  encoding a wire carries (plain, URL-encoded, base64 as in ``Basic``: see ``redaction.py``).

Non-idempotent requests (POST, PATCH) are only retried when the server cannot have acted on them
(connection refused/DNS, 429, 503 with ``Retry-After``); otherwise the engine's crash-safe creation
(``find_by_hub_key`` before ``create``) decides. Pass ``idempotent=True`` to override.

Tests and benchmarks must not really wait: pass ``clock=FakeClock()`` to a client, or wrap code in
``with http.use_clock(FakeClock()):`` to affect every client that was built without its own clock.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from integrations.connectors.base import ConnectorError, Parameter

# Redaction lives in its own module; these names stay importable from here.
from integrations.connectors.redaction import (  # noqa: F401
    SECRET_HEADER_WORDS,
    SECRET_QUERY_NAMES,
    Redactor,
    is_secret_header,
    redact_headers,
    redact_url,
)
from integrations.connectors.transport import Transport, basic_auth

logger = logging.getLogger("integrations.http")

USER_AGENT = "tasktop-hub/0.1 (+https://github.com/; integration hub)"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_BODY_IN_ERROR = 500

# Connection parameters every HTTP connector can add to its own ``parameters``.
PROXY_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("proxy_url", "Proxy URL", type="url", required=False,
              help="HTTP(S) proxy for this connection, e.g. http://proxy.example:3128. Empty: direct."),
    Parameter("proxy_username", "Proxy user name", required=False, sensitive=True),
    Parameter("proxy_password", "Proxy password", required=False, sensitive=True),
)
TLS_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("verify_tls", "Verify TLS certificates", type="boolean", required=False, default=True,
              help="Turn off only for a test server: the hub then cannot tell the tool from an impostor."),
    Parameter("ca_certificates", "Trusted CA certificates", required=False, default="",
              help="For a tool whose certificate an internal CA signed: the CA's PEM text, or the path of a PEM "
                   "file on the hub's server. Empty: the public CAs (certifi)."),
)
TIMEOUT_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("connect_timeout", "Connect timeout (s)", type="integer", required=False, default=10),
    Parameter("read_timeout", "Read timeout (s)", type="integer", required=False, default=60),
)


# -- clocks -----------------------------------------------------------------------------------


class Clock:
    """Wall time and sleeping, in one injectable object."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock(Clock):
    """A clock for tests: ``sleep`` returns at once, advances ``time`` and records the wait."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


_default_clock: Clock = Clock()


def default_clock() -> Clock:
    return _default_clock


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Use ``clock`` for every client built without its own clock (tests, benchmarks)."""
    global _default_clock
    previous = _default_clock
    _default_clock = clock
    try:
        yield clock
    finally:
        _default_clock = previous


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 60.0

    @classmethod
    def from_settings(cls, options: Mapping[str, Any]) -> Timeouts:
        return cls(connect=float(options.get("connect_timeout") or cls.connect),
                   read=float(options.get("read_timeout") or cls.read))


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. The engine retries transient failures again later, so keep it modest."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Total sleeping allowed inside one call; a longer Retry-After is handed to the engine instead.
    max_total_wait: float = 60.0
    # Wait for a rate-limit reset announced by X-RateLimit-* before the next request.
    honour_rate_limit: bool = True
    # A host that refuses connections or has no DNS name rarely comes back within seconds; the
    # engine backs off the whole connection instead of every call waiting out its own retries.
    unreachable_attempts: int = 2
    # A rate limit that names no wait (no Retry-After, quota not spent): GitHub documents "wait
    # for at least one minute" and exponentially longer while it keeps failing.
    secondary_wait: float = 60.0
    secondary_max_wait: float = 960.0

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)] (attempt counts from 0)."""
        return rng() * min(self.max_delay, self.base_delay * (2 ** attempt))


NO_RETRY = RetryPolicy(max_attempts=1, max_total_wait=0.0)


@dataclass(frozen=True)
class ProxyConfig:
    url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> ProxyConfig | None:
        url = (options.get("proxy_url") or "").strip()
        if not url:
            return None
        return cls(url=url, username=secrets.get("proxy_username") or "", password=secrets.get("proxy_password") or "")

    def as_url(self) -> str:
        if not self.username:
            return self.url
        parts = urlsplit(self.url)
        userinfo = quote(self.username, safe="")
        if self.password:
            userinfo += ":" + quote(self.password, safe="")
        return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc.rpartition('@')[2]}", parts.path, "", ""))


def verify_from_settings(options: Mapping[str, Any]) -> bool | str:
    """``verify`` for :class:`HttpClient` from the TLS_PARAMETERS: False, True, or CA PEM text / file path."""
    if options.get("verify_tls") is False:
        return False
    return str(options.get("ca_certificates") or "").strip() or True


# -- errors -------------------------------------------------------------------------------------


class HttpError(ConnectorError):
    """A final HTTP status the caller did not allow. ``body`` is the start of the response body."""

    def __init__(self, message: str, *, status: int = 0, body: str = "", headers: Mapping[str, str] | None = None,
                 **flags: Any) -> None:
        super().__init__(message, **flags)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args): keep the keyword state too (worker results, task queues).
        return (_rebuild_http_error, (type(self), str(self), self.__dict__.copy()))

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _rebuild_http_error(cls: type[HttpError], message: str, state: dict[str, Any]) -> HttpError:
    error = cls(message)
    error.__dict__.update(state)
    return error


@dataclass
class _Attempt:
    """The outcome of one try: either a response or an exception, and what to do about it."""

    response: requests.Response | None = None
    error: ConnectorError | None = None
    retryable: bool = False
    retry_after: float | None = None


# -- the client ---------------------------------------------------------------------------------


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
        return self._clock or _default_clock

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
    ) -> requests.Response:
        """Send with retries; return a 2xx/3xx response or one whose status is in ``allow``.

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
            outcome = self._try(method, url, params, json, data, headers, allowed, idempotent, timeouts)
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
             allowed: frozenset[int], idempotent: bool, timeouts: Timeouts) -> _Attempt:
        where = f"{method} {redact_url(url)}"
        self.requests_sent += 1
        started = time.perf_counter()
        try:
            response = self._transport().send(method, url, params=params, json=json, data=data,
                                              headers={**self.headers, **(headers or {})},
                                              timeout=(timeouts.connect, timeouts.read))
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
            if _looks_unreachable(text):
                reason = "host name not found" if _is_dns(text) else "connection refused or host unreachable"
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
        summary = _body_summary(body)
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


def parse_retry_after(value: str, now: float) -> float | None:
    """``Retry-After`` is delta-seconds or an HTTP date; return seconds from ``now`` (≥ 0)."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


_UNREACHABLE = re.compile(r"NameResolution|Name or service not known|nodename nor servname|getaddrinfo|"
                          r"Failed to establish a new connection|Connection refused|No route to host|"
                          r"Network is unreachable|Temporary failure in name resolution", re.I)


def _looks_unreachable(text: str) -> bool:
    return bool(_UNREACHABLE.search(text))


def _is_dns(text: str) -> bool:
    return bool(re.search(r"NameResolution|Name or service not known|nodename nor servname|getaddrinfo|"
                          r"name resolution", text, re.I))


def _body_summary(body: str) -> str:
    """One line from an error body, for a message a person reads."""
    text = " ".join(body.split())
    if text.lstrip().startswith("<"):
        return ""  # an HTML error page says nothing useful in one line
    return text[:200]
