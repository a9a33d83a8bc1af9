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

Tests and benchmarks must not really wait: pass ``clock=FakeClock()`` (``tests/fakes/clock.py``) to a
client, or wrap code in ``with http.use_clock(FakeClock()):`` to affect every client that was built
without its own clock.

The package: ``client.py`` (the client and its request loop), ``policy.py`` (timeouts, retry and
rate-limit policy, proxy/TLS settings and parameters), ``errors.py`` (``HttpError``, failure
classification), ``redaction.py`` (secrets out of every text), ``transport.py`` (urllib3 underneath),
``clock.py`` (injectable time). Connectors use the names exported here.
"""

from __future__ import annotations

from integrations.connectors.http.client import MAX_BODY_IN_ERROR, USER_AGENT, HttpClient
from integrations.connectors.http.clock import Clock, default_clock, use_clock
from integrations.connectors.http.errors import HttpError
from integrations.connectors.http.policy import (
    IDEMPOTENT_METHODS,
    NO_RETRY,
    PROXY_PARAMETERS,
    TIMEOUT_PARAMETERS,
    TLS_PARAMETERS,
    ProxyConfig,
    RetryPolicy,
    Timeouts,
    parse_retry_after,
    verify_from_settings,
)
from integrations.connectors.http.redaction import (
    SECRET_HEADER_WORDS,
    SECRET_QUERY_NAMES,
    Redactor,
    is_secret_header,
    redact_headers,
    redact_url,
)

# The package's public face: connectors write ``http.HttpClient``, ``http.RetryPolicy``, …
__all__ = [
    "IDEMPOTENT_METHODS", "MAX_BODY_IN_ERROR", "NO_RETRY", "PROXY_PARAMETERS", "SECRET_HEADER_WORDS",
    "SECRET_QUERY_NAMES", "TIMEOUT_PARAMETERS", "TLS_PARAMETERS", "USER_AGENT", "Clock", "HttpClient", "HttpError",
    "ProxyConfig", "Redactor", "RetryPolicy", "Timeouts", "default_clock", "is_secret_header", "parse_retry_after",
    "redact_headers", "redact_url", "use_clock", "verify_from_settings",
]
