"""How the HTTP client behaves: timeouts, retries and rate-limit waits, proxy and TLS settings, and the
connection parameters every HTTP connector offers for them."""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from integrations.connectors.base import Parameter

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

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
