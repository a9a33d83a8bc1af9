"""A gateway collection (left) feeding a real ``database`` tool table (right) through a
"Gateway: create" integration, and a helper that POSTs to the real endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client

from extensions.models import Extension
from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from integrations.engine import connections, runner
from integrations.engine.models import PendingWork, SyncState
from integrations.gateway import services as gateway
from integrations.models import Collection, GatewayDelivery, Integration, RepositoryConnection, Route
from tests.integrations.engine.helpers import FIELDS, all_rows


@dataclass
class GatewayRig:
    integration: Integration
    collection: Collection
    right: DatabaseConnector
    token: str
    client: Client
    wrap: Callable[[Any], Any] | None = None  # a test wrapper around the right-hand connector

    def post(self, payload: Any, key: str | None = None, **headers: str) -> Any:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if key is not None:
            extra["HTTP_IDEMPOTENCY_KEY"] = key
        extra.update(headers)
        body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        return self.client.post(f"/api/v1/gateway/{self.collection.pk}/", body,
                                content_type=extra.pop("content_type", "application/json"), **extra)

    def factory(self, connection: RepositoryConnection) -> Any:
        inner = connections.build(connection)
        return self.wrap(inner) if self.wrap is not None and connection.kind == "database" else inner

    def run(self) -> dict:
        return runner.run_integration(self.integration.pk, factory=self.factory)

    def run_until_quiet(self, limit: int = 10) -> list[dict]:
        out = []
        for _ in range(limit):
            out.append(self.run())
            SyncState.objects.filter(integration=self.integration).update(lease_owner="", lease_expires=None)
            if not PendingWork.objects.filter(integration=self.integration, status="ready").exists() and \
                    not GatewayDelivery.objects.filter(status="received").exists():
                return out
        raise AssertionError(f"did not settle: {out[-3:]}")

    def rows(self) -> dict[str, Any]:
        return all_rows(self.right)


def make_gateway_rig(right_url: str, *, match_field: str = "", extension: Extension | None = None,
                     rate_limit: int = 600, extra_fields: tuple[str, ...] = ()) -> GatewayRig:
    create_work_item_table(right_url, "items", FIELDS, drop=True)
    options = {"table": "items", "projects": "ALPHA", "page_size": 100}
    gw_conn = RepositoryConnection.objects.create(name="gw", kind="gateway", url="", options={})
    gw = Collection.objects.create(name="alerts", connection=gw_conn, projects=["ALERTS"],
                                   field_mapping={f: f for f in (*FIELDS, *extra_fields)}, gateway_match_field=match_field,
                                   payload_extension=extension, gateway_rate_limit=rate_limit)
    right_conn = RepositoryConnection.objects.create(name="right-db", kind="database", url=right_url, options=options)
    right = Collection.objects.create(name="right-items", connection=right_conn, projects=["ALPHA"],
                                      field_mapping={f: f for f in FIELDS})
    integration = Integration.objects.create(name="gateway-create", template=Integration.Template.GATEWAY_CREATE,
                                             left_collection=gw, right_collection=right, run_state="running")
    Route.objects.create(integration=integration, left_project="ALERTS", right_project="ALPHA")
    token = gateway.regenerate_token(gw, None)
    return GatewayRig(integration, gw, DatabaseConnector(right_url, options, {}), token, Client())
