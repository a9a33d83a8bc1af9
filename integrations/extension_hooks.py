"""What integrations tell the extensions app: who uses an extension (deleting or renaming it is
refused, naming them) and what to retry when a new version is saved (the work it blocked)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from extensions import signals
from extensions.models import Extension
from integrations.connectors.base import ConnectorError
from integrations.engine import connections, gateway
from integrations.engine.models import PendingWork, SyncState
from integrations.models import GATEWAY_KIND, Collection, GatewayDelivery, RepositoryConnection
from notifications.models import ActivityError


def users(ext: Extension) -> list[str]:
    found = []
    for c in Collection.objects.order_by("name"):
        for f, chosen in sorted((c.field_extensions or {}).items()):
            for direction, name in sorted(chosen.items()):
                if name == ext.name:
                    found.append(f"collection '{c.name}' field '{f}' ({direction})")
        if c.person_extension_id == ext.pk:
            found.append(f"collection '{c.name}' person reconciliation")
        if c.state_extension_id == ext.pk:
            found.append(f"collection '{c.name}' state transition")
        if c.payload_extension_id == ext.pk:
            found.append(f"collection '{c.name}' payload transformation")
    return found


def retry_blocked(ext: Extension) -> None:
    """A fixed version is saved: the work its errors blocked runs again at the next pass (a
    still-broken one records its error again, naming the new version)."""
    marker = f"Extension '{ext.name}' version "
    blocked = PendingWork.objects.filter(status=PendingWork.Status.BLOCKED, last_error__contains=marker)
    integrations = set(blocked.values_list("integration_id", flat=True))
    blocked.update(status=PendingWork.Status.READY, attempts=0, not_before=None)
    # Retrying: resolved when the work goes through, open again (naming the new version) if not.
    ActivityError.objects.filter(message__contains=marker, integration_id__in=integrations,
                                 status=ActivityError.Status.OPEN).update(status=ActivityError.Status.RETRYING)
    SyncState.objects.filter(integration_id__in=integrations).update(run_now=True)


def recorded_input(ext: Extension, connection_id: int, artifact_id: str, field: str) -> list[Any]:
    """The harness's arguments from one artifact read now through its connection (read only)."""
    conn = RepositoryConnection.objects.filter(pk=connection_id).first()
    if conn is None:
        raise ValidationError({"connection": f"Connection {connection_id} does not exist."})
    if conn.kind == GATEWAY_KIND and ext.type == Extension.Type.PAYLOAD:
        return [_delivered_payload(conn, artifact_id)]
    connector = connections.build(conn)
    try:
        found = connector.read([artifact_id])
        people = connector.people() if ext.type == Extension.Type.PERSON else None
    except ConnectorError as exc:
        raise ValidationError(f"Reading artifact '{artifact_id}' from '{conn.name}' failed: {exc}") from None
    finally:
        connections.close(connector)
    if not found:
        raise ValidationError({"artifact": f"Connection '{conn.name}' has no artifact '{artifact_id}'."})
    fields = dict(found[0].fields)
    value = fields.get(field)
    if field and field not in fields:
        raise ValidationError({"field": f"Artifact '{artifact_id}' has no field '{field}' ({', '.join(sorted(fields))})."})
    if ext.type == Extension.Type.PAYLOAD:
        return [fields]
    if ext.type == Extension.Type.PERSON:
        person = {"id": str(value or ""), "username": str(value or ""), "email": "", "name": ""}
        return [person, [{"id": p.id, "username": p.username, "email": p.email, "name": p.name} for p in people or []]]
    if ext.type == Extension.Type.STATE:
        return [value, value, fields]
    return [value, fields]


def _delivered_payload(conn: RepositoryConnection, artifact_id: str) -> Any:
    """A payload extension's recorded input on a gateway connection: a delivery's payload as
    POSTed (``delivery:17`` or ``17``), not the artifact it was reshaped into."""
    pk = artifact_id.removeprefix("delivery:")
    found = GatewayDelivery.objects.filter(pk=int(pk), collection__connection=conn).first() if pk.isdigit() else None
    if found is None:
        raise ValidationError({"artifact": f"Gateway connection '{conn.name}' has no delivery '{artifact_id}' "
                                           "(give a delivery's id, e.g. 17 or delivery:17)."})
    return found.payload


def register() -> None:
    signals.register_usage_finder(users)
    signals.register_saved_hook(retry_blocked)
    signals.register_saved_hook(gateway.retry_for_extension)  # deliveries its last version failed on
    signals.register_recorded_input(recorded_input)
