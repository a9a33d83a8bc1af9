"""Jira-specific HTTP on top of the shared client: authentication per deployment and Jira's
error bodies (``{"errorMessages": [...], "errors": {field: message}}``) turned into messages.

Cloud: basic auth with the account's email and an API token. Data Center: a personal access
token as ``Authorization: Bearer``. One client per (URL, credentials) lives for the process, so a
``Retry-After`` from a 429 holds back every connector instance on that connection.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

from integrations.connectors import http
from integrations.connectors.base import ConnectorError

API = "/rest/api/2"


class JiraHttp:
    def __init__(self, base_url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        token = secrets.get("token") or ""
        cloud = options.get("deployment", "cloud") != "datacenter"
        kwargs: dict[str, Any] = {
            "timeouts": http.Timeouts.from_settings(options), "proxy": http.ProxyConfig.from_settings(options, secrets),
            "secrets": (token,), "name": "jira",
            "verify": http.verify_from_settings(options),  # Data Center may use a private CA
        }
        if cloud:
            email = options.get("email") or ""
            if not email or not token:
                raise ConnectorError("Jira Cloud needs the account's email and an API token.", auth=True)
            kwargs["auth"] = (email, token)
        else:
            if not token:
                raise ConnectorError("Jira Data Center needs a personal access token.", auth=True)
            kwargs["headers"] = {"Authorization": f"Bearer {token}"}
        self.cloud = cloud
        self.client = http.HttpClient(base_url, **kwargs)
        self.myself: dict | None = None
        self.schemas: dict[str, dict] | None = None
        self.lock = threading.Lock()
        # (project, issue type) → {status: {target status: transition name}}, learned as we go.
        self.workflows: dict[tuple[str, str], dict[str, dict[str, str]]] = {}

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                allow: tuple[int, ...] = (), idempotent: bool | None = None) -> tuple[Any, int]:
        try:
            response = self.client.request(method, API + path, params=params, json=json, allow=allow,
                                           idempotent=idempotent)
        except http.HttpError as exc:
            raise _jira_error(exc) from None
        if response.status_code in allow or response.status_code == 204 or not response.content:
            return None, response.status_code
        return self.client.json_of(response), response.status_code

    def get(self, path: str, params: Mapping[str, Any] | None = None, allow: tuple[int, ...] = ()) -> tuple[Any, int]:
        return self.request("GET", path, params=params, allow=allow)

    def field_schemas(self) -> dict[str, dict]:
        """Field id → schema (``/field``), read once per connection: how custom values are written."""
        if self.schemas is None:
            data, _ = self.get("/field")
            self.schemas = {f["id"]: f.get("schema") or {} for f in data or []}
        return self.schemas

    def me(self) -> dict:
        if self.myself is None:
            self.myself, _ = self.get("/myself")
        return self.myself or {}


def _jira_error(exc: http.HttpError) -> ConnectorError:
    body = exc.json() if exc.body else None
    if exc.status == 400 and isinstance(body, dict):
        parts = list(body.get("errorMessages") or [])
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        return ConnectorError("Jira refused the request: " + ("; ".join(parts) or "HTTP 400"))
    if exc.status == 410:
        return ConnectorError("This Jira no longer offers the endpoint used (HTTP 410): is the deployment "
                              "type right? Cloud uses /search/jql, Data Center /search.")
    return exc


_shared: dict[tuple, JiraHttp] = {}
_shared_lock = threading.Lock()


def shared(base_url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> JiraHttp:
    relevant = tuple(sorted((k, str(v)) for k, v in options.items()
                            if k in ("deployment", "email", "proxy_url", "connect_timeout", "read_timeout", "verify_tls",
                                     "ca_certificates")))
    digest = hashlib.sha256("\0".join(str(secrets.get(k) or "") for k in
                                      ("token", "proxy_username", "proxy_password")).encode()).hexdigest()
    key = (base_url, relevant, digest)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = JiraHttp(base_url, options, secrets)
        return client


def forget_clients() -> None:
    with _shared_lock:
        clients = list(_shared.values())
        _shared.clear()
    for c in clients:
        c.client.close()
