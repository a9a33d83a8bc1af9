"""The worker's step for gateway collections: accepted deliveries → gateway artifacts → pending work.

A run of a "Gateway: create" integration takes the deliveries its (left) gateway collection
received, reshapes each payload with the collection's payload extension (none: the payload's
keys are the fields), and — in one fenced transaction per chunk — writes the gateway artifacts
(``delivery:<id>``, or ``key:<match value>`` merged into the artifact that value names), marks
the deliveries processed and records pending work for every "Gateway: create" integration from
the collection. The engine then creates (or updates) the twins through its normal path, whose
create intents and hub keys keep a killed worker from creating a twin twice.

A kill before the commit leaves the deliveries *received* (done again); after it, the pending
work is durable. A delivery the extension fails on is *failed* with an Activity error naming
the extension, its version and line; saving a fixed version retries it (``retry_for_extension``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction

from extensions import runtime
from extensions.models import Extension
from integrations.engine import clock, detection
from integrations.engine.context import RunContext
from integrations.gateway import services as gateway_services
from integrations.gateway.models import GatewayArtifact, GatewayDelivery
from integrations.models import Collection, Integration
from notifications import services as activity
from notifications.models import ActivityError

log = logging.getLogger(__name__)

CHUNK = 200
ERROR_CATEGORY = "sync"
MAX_ID = 150  # "key:" + this fits a 200-character hub key column with the hub key prefix


class DeliveryProblem(Exception):
    """Why one delivery cannot become an artifact (the payload, the extension or the match field)."""


def label(collection: Collection, artifact_id: str) -> str:
    """The Activity name of a gateway artifact or delivery, as the engine names its units."""
    return f"{collection.connection.name}:{artifact_id}"


def take_deliveries(ctx: RunContext) -> int:
    """Turn every received delivery of the integration's gateway collection into pending work.
    Returns how many deliveries were taken."""
    integration = ctx.integration
    if integration.template != Integration.Template.GATEWAY_CREATE:
        return 0
    collection = Collection.objects.select_related("connection").get(pk=integration.left_collection_id)
    if not collection.is_gateway:
        return 0
    taken = 0
    later: set[int] = set()  # the sandbox itself failed on these (not the script): the next pass
    while True:
        ids = list(GatewayDelivery.objects.filter(collection=collection, status=GatewayDelivery.Status.RECEIVED)
                   .exclude(pk__in=later).order_by("pk").values_list("pk", "payload")[:CHUNK])
        if not ids:
            return taken
        extension = (Extension.objects.filter(pk=collection.payload_extension_id).first()
                     if collection.payload_extension_id else None)
        # Reshaped outside the transaction (sandbox calls take time); applied only to the
        # deliveries still received when it commits (another run may have taken some).
        shaped = {}
        for pk, payload in ids:
            outcome = _shape(collection, extension, pk, payload)
            if outcome is None:
                later.add(pk)
            else:
                shaped[pk] = outcome
        taken += _apply(ctx, collection, shaped) if shaped else 0
        if len(ids) < CHUNK:
            return taken


def _shape(collection: Collection, extension: Extension | None, pk: int, payload: Any) -> tuple[str, dict] | str | None:
    """(artifact id, fields), the problem as text, or None when the sandbox process failed (died,
    or did not answer): not the script's fault, so the delivery waits for the next pass."""
    try:
        if extension is None:
            if not isinstance(payload, dict):
                raise DeliveryProblem("the payload is not a JSON object and the collection has no payload "
                                      "transformation to reshape it")
            fields = dict(payload)
        else:
            try:
                fields = runtime.call(extension, payload)
            except runtime.ExtensionFailure as exc:
                if exc.result.kind == "crash":
                    log.warning("Delivery %s: the sandbox failed (%s); taken again at the next pass", pk, exc)
                    return None
                raise DeliveryProblem(str(exc)) from None
        return artifact_id(collection, pk, fields), fields
    except DeliveryProblem as exc:
        return f"Delivery {pk} to gateway collection '{collection.name}': {exc}"


def artifact_id(collection: Collection, delivery_pk: int, fields: dict) -> str:
    name = collection.gateway_match_field
    if not name:
        return f"delivery:{delivery_pk}"
    value = fields.get(name)
    if value in (None, "") or isinstance(value, dict | list | bool):
        raise DeliveryProblem(f"the match field '{name}' has no value (a string or number) after reshaping; "
                              f"fields: {', '.join(sorted(fields)) or 'none'}")
    text = str(value)
    if len(text) > MAX_ID:
        raise DeliveryProblem(f"the match field '{name}' is longer than {MAX_ID} characters")
    return f"key:{text}"


def _apply(ctx: RunContext, collection: Collection, shaped: dict[int, tuple[str, dict] | str]) -> int:
    now = clock.now()
    project = collection.projects[0]
    with transaction.atomic():
        ctx.fence()  # only under the run's lease
        # Another run taking the same deliveries skips the rows this one holds (where the database can).
        skip = connection.features.has_select_for_update_skip_locked
        rows = list(GatewayDelivery.objects.select_for_update(skip_locked=skip)
                    .filter(pk__in=list(shaped), status=GatewayDelivery.Status.RECEIVED).order_by("pk"))
        made: dict[str, dict] = {}
        failed, retried = [], []
        for d in rows:
            outcome = shaped[d.pk]
            d.processed_at = now
            if isinstance(outcome, str):
                d.status, d.error = GatewayDelivery.Status.FAILED, outcome[:4000]
                failed.append(d)
                continue
            aid, fields = outcome
            made.setdefault(aid, {}).update(fields)  # deliveries in order: the later value wins
            if d.error:
                retried.append(d)
            d.status, d.artifact_id, d.error = GatewayDelivery.Status.PROCESSED, aid, ""
        _write_artifacts(collection, project, made, now)
        GatewayDelivery.objects.bulk_update(rows, ["status", "artifact_id", "error", "processed_at"], batch_size=500)
        targets = list(Integration.objects.filter(left_collection=collection,
                                                  template=Integration.Template.GATEWAY_CREATE).values_list("pk", "name"))
        for integration_id, _ in targets:
            detection.record(integration_id, "left", [(aid, project) for aid in made])
        for d in failed:
            for integration_id, name in targets:
                activity.record_error(artifact=label(collection, f"delivery:{d.pk}"), message=d.error,
                                      integration_id=integration_id, integration_name=name, category=ERROR_CATEGORY)
        for d in retried:
            for integration_id, _ in targets:
                activity.resolve_errors(artifact=label(collection, f"delivery:{d.pk}"), integration_id=integration_id)
    if failed:
        log.warning("Gateway collection %s: %d deliveries failed", collection.pk, len(failed))
    return len(rows)


def _write_artifacts(collection: Collection, project: str, made: dict[str, dict], now) -> None:  # noqa: ANN001
    existing = {a.artifact_id: a for a in GatewayArtifact.objects.select_for_update().filter(
        connection_id=collection.connection_id, artifact_id__in=list(made))}
    changed, new = [], []
    for aid, fields in made.items():
        a = existing.get(aid)
        if a is None:
            new.append(GatewayArtifact(connection_id=collection.connection_id, project=project, artifact_id=aid,
                                       fields=fields, version=1, updated_at=now))
        else:
            # A later delivery changes the fields it carries; the others keep their values.
            a.fields, a.version, a.updated_at, a.project = {**a.fields, **fields}, a.version + 1, now, project
            changed.append(a)
    GatewayArtifact.objects.bulk_create(new, batch_size=500)
    GatewayArtifact.objects.bulk_update(changed, ["fields", "version", "updated_at", "project"], batch_size=500)


def retry_delivery(integration_id: int, artifact_id: str) -> bool:
    """Activity "retry" of a failed delivery (``delivery:<id>``) of this integration's gateway
    collection: it is taken again at the next pass. Whether there was such a delivery."""
    kind, _, pk = artifact_id.partition(":")
    integration = Integration.objects.filter(pk=integration_id, template=Integration.Template.GATEWAY_CREATE).first()
    if kind != "delivery" or not pk.isdigit() or integration is None:
        return False
    failed = GatewayDelivery.objects.filter(pk=int(pk), collection_id=integration.left_collection_id,
                                            status=GatewayDelivery.Status.FAILED)
    if not failed.exists():
        return False
    gateway_services.retry_failed([integration.left_collection_id], only=[int(pk)])
    return True


def retry_for_extension(extension: Extension) -> None:
    """A new version of a payload extension is saved: the deliveries it failed on are taken again
    at the next pass (one still failing records its error again, naming the new version)."""
    collections = list(Collection.objects.filter(payload_extension=extension).values_list("pk", flat=True))
    if not collections:
        return
    gateway_services.retry_failed(collections)
    marker = f"Extension '{extension.name}' version "
    integrations = list(Integration.objects.filter(left_collection_id__in=collections,
                                                   template=Integration.Template.GATEWAY_CREATE).values_list("pk", flat=True))
    ActivityError.objects.filter(message__contains=marker, integration_id__in=integrations,
                                 status=ActivityError.Status.OPEN).update(status=ActivityError.Status.RETRYING)
