"""Connectors built from connections, and connection health: an authentication failure or an
unreachable tool raises ONE Activity issue and backs off polling until the tool recovers."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from integrations import services
from integrations.connectors import registry
from integrations.connectors.base import Connector, ConnectorError
from integrations.connectors.http import redaction
from integrations.engine import clock
from integrations.engine.models import ConnectionHealth
from integrations.models import RepositoryConnection
from notifications import services as activity

log = logging.getLogger(__name__)

MAX_BACKOFF = 600


def issue_key(connection: RepositoryConnection) -> str:
    return f"connection-failing:{connection.pk}"


def build(connection: RepositoryConnection) -> Connector:
    """A connector with the connection's decrypted secrets (raises VaultLocked when locked).

    This is where text from a tool enters the hub: every exception a call raises (and the build
    itself) comes out with the connection's secrets masked in every encoding (redaction.guard),
    before it can become an Activity issue or error, a job log line, an API answer or a log record.
    """
    cls = registry.get(connection.kind)
    secrets = getattr(connection, "secrets", None) or {}
    options = connection.options if isinstance(connection.options, dict) else {}
    connector = redaction.guard(lambda: cls(connection.url, options, secrets), connection.url, secrets)
    bind = getattr(connector, "bind", None)
    if callable(bind):  # a connector over the hub's own tables (the gateway) reads by connection
        bind(connection.pk)
    return connector


def close(connector: Connector) -> None:
    closer = getattr(connector, "close", None)
    if callable(closer):
        closer()


def backed_off(connection: RepositoryConnection) -> bool:
    health = ConnectionHealth.objects.filter(connection=connection).first()
    return bool(health and health.backoff_until and health.backoff_until > clock.now())


def is_connection_failure(exc: BaseException) -> bool:
    return isinstance(exc, ConnectorError) and (exc.auth or exc.unreachable)


def record_failure(connection: RepositoryConnection, exc: ConnectorError) -> None:
    health, _ = ConnectionHealth.objects.get_or_create(connection=connection)
    failures = health.failures + 1
    delay = min(MAX_BACKOFF, 15 * 2 ** (failures - 1)) * random.uniform(0.8, 1.2)  # noqa: S311 — jitter
    ConnectionHealth.objects.filter(pk=health.pk).update(
        failures=failures, backoff_until=clock.now() + timedelta(seconds=delay), last_error=str(exc)[:2000])
    what = "rejects the hub's credentials" if exc.auth else "is unreachable"
    services.record_status(connection, False, services.describe_failure(exc)[1])
    activity.raise_issue(
        issue_key(connection), f"Connection '{connection.name}' {what}",
        f"{exc} Polling of this connection backs off (next try in {int(delay)} s) and resumes by itself "
        "when the tool answers again; check its URL and credentials.",
    )
    log.warning("Connection %s failing (%s); backing off %.0f s", connection.pk, what, delay)


def record_success(connection: RepositoryConnection) -> None:
    """The engine reached the tool: clear the back-off and show the connection as connected."""
    if ConnectionHealth.objects.filter(connection=connection, failures__gt=0).update(
            failures=0, backoff_until=None, last_error=""):
        activity.resolve_issue(issue_key(connection))
    if connection.status != RepositoryConnection.Status.OK:
        services.record_status(connection, True, "Connected (the engine's last change detection reached the tool).")
