"""Every change to connections, collections, integrations, routes and pairs.

Each function validates with the model's rules, writes, and records an audit row in one
transaction, so the admin, the API, commands and tasks behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from integrations.connectors.base import ConnectorError
from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route
from notifications.services import Actor, record_audit
from tasktop_hub.errors import ServiceUnavailable

M = TypeVar("M", bound=models.Model)

_LABELS = {
    RepositoryConnection: "connection",
    Collection: "collection",
    Integration: "integration",
    Route: "route",
    ArtifactPair: "pair",
}


def save(instance: M, actor: Actor, changed: dict[str, Any] | None = None) -> M:
    """Validate and save a new or changed domain object, with its audit row."""
    label = _LABELS[type(instance)]
    creating = instance._state.adding
    with transaction.atomic():
        _refuse_integration_change(instance, creating)
        instance.full_clean()
        instance.save()
        details = {"changed": sorted(changed)} if changed else {}
        record_audit(actor, f"{label}.{'create' if creating else 'update'}", f"{label}:{instance.pk} {instance}", **details)
    return instance


def _refuse_integration_change(instance: models.Model, creating: bool) -> None:
    """A route (or pair) changes integration only through the move, which carries its pairs,
    cursors, pending work and errors along: editing the field alone would leave the pairs
    behind and the next run would create every twin again."""
    if creating or not isinstance(instance, Route | ArtifactPair):
        return
    stored = type(instance)._default_manager.filter(pk=instance.pk).values_list("integration_id", flat=True).first()
    if stored is not None and stored != instance.integration_id:
        from django.core.exceptions import ValidationError

        raise ValidationError({"integration": "A route's integration changes only by moving the route "
                                              "(Settings → Move Routes, the API's route moves, or "
                                              "'manage.py routes move'), which moves its pairs with it."})


def update(instance: M, actor: Actor, **changes: Any) -> M:
    with transaction.atomic():
        fresh = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        for name, value in changes.items():
            setattr(fresh, name, value)
        return save(fresh, actor, changes)


def delete(instance: models.Model, actor: Actor) -> None:
    label = _LABELS[type(instance)]
    with transaction.atomic():
        description = f"{label}:{instance.pk} {instance}"
        instance.delete()
        record_audit(actor, f"{label}.delete", description)


def set_run_state(integration: Integration, state: str, actor: Actor) -> Integration:
    """Run or stop an integration. Stopping keeps its pairs and cursors."""
    if state not in Integration.RunState.values:
        from django.core.exceptions import ValidationError

        raise ValidationError({"run_state": f"Must be one of: {', '.join(Integration.RunState.values)}."})
    if state == Integration.RunState.RUNNING and integration.run_state != state:
        # Refuse to run a configuration the engine cannot follow, naming each problem. (A tool
        # that is down is not refused: that becomes the connection's Activity issue at run time.)
        from django.core.exceptions import ValidationError

        from integrations.engine.validation import config_problems

        problems = config_problems(integration, live=True)
        if problems:
            raise ValidationError({"run_state": problems})
    with transaction.atomic():
        fresh = Integration.objects.select_for_update().get(pk=integration.pk)
        if fresh.run_state != state:
            fresh.run_state = state
            fresh.save(update_fields=["run_state", "updated_at"])
            record_audit(actor, f"integration.{'run' if state == 'running' else 'stop'}", f"integration:{fresh.pk} {fresh}")
    return fresh


# --- connection status ------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    problem: str  # "" | unreachable | tls | authentication | permissions | locked | failed
    message: str
    checked_at: datetime


def describe_failure(exc: Exception) -> tuple[str, str]:
    """What failed, as (problem, sentence), for a connection test or the engine's health."""
    text = str(exc)
    if isinstance(exc, ServiceUnavailable):  # the vault: no master password loaded
        return "locked", f"The stored credentials cannot be decrypted: {text}"
    if not isinstance(exc, ConnectorError):
        return "failed", f"The test failed: {type(exc).__name__}"
    if exc.unreachable and "TLS" in text:
        return "tls", f"TLS failed (certificate or handshake): {text}"
    if exc.unreachable:
        return "unreachable", f"The tool is unreachable: {text}"
    if exc.auth and getattr(exc, "status", None) == 403:
        return "permissions", f"The credentials are accepted but lack permission: {text}"
    if exc.auth:
        return "authentication", f"Authentication failed (the tool rejects the credentials): {text}"
    return "failed", f"The tool answered, but the test failed: {text}"


def record_status(connection: RepositoryConnection, ok: bool, message: str) -> datetime:
    """Write a connection's status and its time (the test action and the engine's health)."""
    now = timezone.now()
    status = RepositoryConnection.Status.OK if ok else RepositoryConnection.Status.FAILING
    # An UPDATE of the three columns: the row's encrypted secrets are neither read nor rewritten.
    RepositoryConnection.objects.filter(pk=connection.pk).update(
        status=status, status_message=message[:2000], status_checked_at=now)
    connection.status, connection.status_message, connection.status_checked_at = status, message[:2000], now
    return now


def _call_test(connection: RepositoryConnection) -> tuple[bool, str, str]:
    """(ok, problem, message) from the connector's test. Every message comes through the engine's
    build, which masks the secrets it was given in every exception (so a typed one too)."""
    from integrations.engine import connections

    connector = None
    try:
        connector = connections.build(connection)
        return True, "", connector.test_connection()
    except (ConnectorError, ServiceUnavailable) as exc:
        return False, *describe_failure(exc)
    finally:
        if connector is not None:
            connections.close(connector)


def test_unsaved_connection(connection: RepositoryConnection, actor: Actor) -> ConnectionTest:
    """Test the values of a connection form before they are saved (``connection``: validated, not
    saved — kind, URL, options, and its secrets with the typed ones applied). Nothing is written but
    the audit line: the stored status describes the saved values, which were not tested."""
    ok, problem, message = _call_test(connection)
    target = f"connection:{connection.pk} {connection}" if connection.pk else f"connection (new) {connection}"
    record_audit(actor, "connection.test", target, ok=ok, problem=problem, unsaved=True)
    return ConnectionTest(ok, problem, message, timezone.now())


def test_connection(connection: RepositoryConnection, actor: Actor) -> ConnectionTest:
    """Call the connector's test, record the verdict on the connection, audit it."""
    ok, problem, message = _call_test(connection)
    with transaction.atomic():
        checked_at = record_status(connection, ok, message)
        record_audit(actor, "connection.test", f"connection:{connection.pk} {connection}", ok=ok, problem=problem)
    return ConnectionTest(ok, problem, message, checked_at)
