"""Receiving gateway POSTs and managing gateway tokens.

Receiving: the collection's token is checked (constant time), its rate window counted, and the
payload recorded as a ``GatewayDelivery`` in one transaction before the caller answers 202; a
repeated ``Idempotency-Key`` answers the delivery it first made. The worker turns deliveries
into artifacts (``integrations/engine/gateway.py``). Deliveries are not audited one by one:
each is its own durable record (admin: Gateway deliveries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.engine.models import SyncState
from integrations.gateway import tokens
from integrations.gateway.models import GatewayDelivery, GatewayWindow
from integrations.models import Collection, Integration
from notifications.services import Actor, record_audit

WINDOW = timedelta(seconds=60)
DEFAULT_KEEP_DAYS = 30
MAX_KEY_LENGTH = 200


class Refused(Exception):
    """A POST the gateway does not accept: the HTTP status and one clear message."""

    def __init__(self, status: int, message: str, *, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.retry_after = status, message, field, retry_after


@dataclass(frozen=True)
class Accepted:
    delivery: GatewayDelivery
    duplicate: bool


UNAUTHORIZED = ("Unknown gateway collection or wrong token: send the collection's gateway token as "
                "'Authorization: Bearer <token>' (or 'X-Gateway-Token: <token>').")


def authenticate(collection_ref: str, token: str) -> Collection:
    """The gateway collection named by id or name whose token this is, else ``Refused(401)``.
    The same answer for an unknown collection, a non-gateway one and a wrong token."""
    lookup: dict[str, Any] = {"pk": int(collection_ref)} if collection_ref.isdigit() else {"name": collection_ref}
    # [:1], not first(): no ORDER BY for a lookup by a unique column (every POST runs it).
    collection = next(iter(Collection.objects.select_related("connection").filter(**lookup)[:1]), None)
    stored = collection.gateway_token_digest if collection is not None and collection.is_gateway else ""
    if not tokens.matches(token or "", stored):  # computed and compared even when nothing is stored
        raise Refused(401, UNAUTHORIZED)
    assert collection is not None
    return collection


def take_rate(collection: Collection) -> None:
    """Count this POST in the collection's one-minute window; ``Refused(429)`` past its limit.
    Atomic UPDATEs, so every web process shares one count."""
    now = timezone.now()
    mine = GatewayWindow.objects.filter(collection=collection)
    if not mine.filter(started__gt=now - WINDOW).update(count=F("count") + 1):
        if not mine.filter(started__lte=now - WINDOW).update(started=now, count=1):
            try:
                with transaction.atomic():
                    GatewayWindow.objects.create(collection=collection, started=now, count=1)
            except IntegrityError:  # another request opened the window first
                mine.update(count=F("count") + 1)
    started, count = mine.values_list("started", "count").get()
    if count > collection.gateway_rate_limit:
        wait = max(1, math.ceil((started + WINDOW - now).total_seconds()))
        raise Refused(429, f"Rate limit of collection '{collection.name}' reached ({collection.gateway_rate_limit} "
                           f"POSTs per minute): try again in {wait} s.", retry_after=wait)


def check_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Refused(400, f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
                      field="Idempotency-Key")
    return key


def receive(collection: Collection, payload: Any, idempotency_key: str | None) -> Accepted:
    """Record the delivery durably (or find the one this key made) and wake the worker."""
    if collection.payload_extension_id is None and not isinstance(payload, dict):
        raise Refused(400, f"Collection '{collection.name}' has no payload transformation, so the body must be a JSON "
                           f"object of its fields (got {_json_type(payload)}).", field="body")
    key = check_key(idempotency_key)
    if key is not None:
        found = next(iter(GatewayDelivery.objects.filter(collection=collection, idempotency_key=key)[:1]), None)
        if found is not None:
            return Accepted(found, duplicate=True)
    try:
        with transaction.atomic():
            delivery = GatewayDelivery.objects.create(collection=collection, idempotency_key=key, payload=payload,
                                                      received_at=timezone.now())
            wake(collection)
    except IntegrityError:
        if key is None:
            raise
        # The same key at the same moment from another request: theirs is the delivery.
        return Accepted(GatewayDelivery.objects.get(collection=collection, idempotency_key=key), duplicate=True)
    return Accepted(delivery, duplicate=False)


def wake(collection: Collection) -> None:
    """The running "Gateway: create" integrations from this collection run at the next
    dispatcher pass (half a second), not an interval later."""
    SyncState.objects.filter(integration__left_collection=collection, run_now=False,
                             integration__template=Integration.Template.GATEWAY_CREATE,
                             integration__run_state=Integration.RunState.RUNNING).update(run_now=True)


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def regenerate_token(collection: Collection, actor: Actor) -> str:
    """A new token for the gateway collection; the old one stops working at once. Returns the
    token, which is shown this once: only its digest is stored. Audited (never the token)."""
    if not collection.is_gateway:
        raise ValidationError({"connection": f"Collection '{collection.name}' is not a gateway collection (its "
                                             "connection is not of kind 'gateway'): it has no gateway token."})
    token = tokens.new_token()
    with transaction.atomic():
        now = timezone.now()
        Collection.objects.filter(pk=collection.pk).update(gateway_token_digest=tokens.digest(token),
                                                           gateway_token_set_at=now)
        record_audit(actor, "collection.gateway_token", f"collection:{collection.pk} {collection}",
                     first=not collection.gateway_token_digest)
    collection.gateway_token_digest, collection.gateway_token_set_at = tokens.digest(token), now
    return token


def retry_failed(collection_ids: list[int], only: list[int] | None = None) -> int:
    """Failed deliveries of these collections (or only these of them) wait for the worker again
    (a fixed payload extension was saved, an Activity error retried); returns how many."""
    failed = GatewayDelivery.objects.filter(collection_id__in=collection_ids, status=GatewayDelivery.Status.FAILED)
    if only is not None:
        failed = failed.filter(pk__in=only)
    with transaction.atomic():
        count = failed.update(
            status=GatewayDelivery.Status.RECEIVED, processed_at=None)
        for c in Collection.objects.filter(pk__in=collection_ids):
            wake(c)
    return count


def keep_days() -> int:
    return int(getattr(settings, "HUB_GATEWAY_KEEP_DAYS", DEFAULT_KEEP_DAYS))


def prune_deliveries(days: int | None = None) -> int:
    """Delete processed deliveries older than ``days`` (``HUB_GATEWAY_KEEP_DAYS``, 30): the table
    would otherwise grow with every POST. Received and failed ones stay (work not done). An
    Idempotency-Key is remembered as long as its delivery: the window in which a repeat is
    recognised. The artifacts they made stay (the engine reads them)."""
    cutoff = timezone.now() - timedelta(days=keep_days() if days is None else days)
    total = 0
    while True:  # in slices: one huge DELETE would hold its locks for long
        ids = list(GatewayDelivery.objects.filter(status=GatewayDelivery.Status.PROCESSED, processed_at__lt=cutoff)
                   .values_list("pk", flat=True)[:5000])
        if not ids:
            return total
        total += GatewayDelivery.objects.filter(pk__in=ids).delete()[0]
