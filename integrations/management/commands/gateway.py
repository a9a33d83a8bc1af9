"""manage.py gateway list | token COLLECTION | deliveries COLLECTION — gateway collections.

``token`` makes a new token (the old one stops working) and prints it this once: only its
digest is stored. ``deliveries`` lists the last deliveries and what became of them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.gateway import services
from integrations.models import GATEWAY_KIND, Collection, GatewayDelivery


class Command(BaseCommand):
    help = "Gateway collections: list them, regenerate a token (shown once), show deliveries."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "token", "deliveries"])
        parser.add_argument("collection", nargs="?", help="collection (id or name)")
        parser.add_argument("--limit", type=int, default=20, help="deliveries: how many, newest first")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "list":
            for c in Collection.objects.filter(connection__kind=GATEWAY_KIND).order_by("name"):
                token = f"token set {c.gateway_token_set_at:%Y-%m-%d %H:%M}" if c.gateway_token_set_at else "no token"
                self.stdout.write(f"{c.pk}\t{c.name}\t/api/v1/gateway/{c.pk}/\t{token}")
            return
        collection = self._find(opts["collection"])
        if opts["action"] == "token":
            try:
                token = services.regenerate_token(collection, None)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            self.stdout.write(f"New gateway token of '{collection.name}' (shown once; the old one no longer works):")
            self.stdout.write(token)
            return
        for d in GatewayDelivery.objects.filter(collection=collection).order_by("-pk")[:max(1, opts["limit"])]:
            self.stdout.write(f"{d.pk}\t{d.received_at:%Y-%m-%d %H:%M:%S}\t{d.status}\t{d.idempotency_key or '-'}\t"
                              f"{d.artifact_id or '-'}\t{d.error}")

    def _find(self, ref: str | None) -> Collection:
        if not ref:
            raise CommandError("Name the collection (id or name).")
        found = Collection.objects.select_related("connection").filter(
            **({"pk": int(ref)} if ref.isdigit() else {"name": ref})).first()
        if found is None:
            raise CommandError(f"No collection '{ref}'.")
        return found
