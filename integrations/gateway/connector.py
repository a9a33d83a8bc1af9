"""The ``gateway`` connector kind: the artifacts POSTed to gateway collections, read from the hub's
own tables so the engine processes them like any tool's (routes, field flow, pairs, errors).

A gateway connection only gives: the hub never creates or writes there (a gateway collection is
the source of a "Gateway: create" integration). It lives outside ``integrations.connectors``
because it reads the database (connectors there import no Django app).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from integrations.connectors.base import ArtifactData, ChangePage, Connector, ConnectorError

PAGE = 500
READ_ONLY = ("A gateway connection only receives artifacts (POSTed to its gateway collections): "
             "the hub cannot create or change them there")


class GatewayConnector(Connector):
    kind = "gateway"
    label = "Gateway (artifacts POSTed to the hub)"
    url_help = "Not used: senders POST artifacts to the hub (each gateway collection has its own address)."
    parameters = ()
    page_size = PAGE

    def __init__(self, url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        super().__init__(url, options, secrets)
        self.connection_id: int | None = None

    def bind(self, connection_id: int) -> None:
        """Called by ``engine.connections.build``: which connection's artifacts to read."""
        self.connection_id = connection_id

    def _rows(self):  # noqa: ANN202
        from integrations.gateway.models import GatewayArtifact

        if self.connection_id is None:
            raise ConnectorError("The gateway connector was built without its connection.")
        return GatewayArtifact.objects.filter(connection_id=self.connection_id)

    def test_connection(self) -> str:
        return "The hub's gateway: artifacts arrive by POST to /api/v1/gateway/<collection>/."

    def projects(self) -> list[str]:
        from integrations.models import Collection

        found = Collection.objects.filter(connection_id=self.connection_id).values_list("projects", flat=True)
        return sorted({p for projects in found for p in projects or []})

    def changes(self, project: str, since: datetime | None, page: int) -> ChangePage:
        qs = self._rows().filter(project=project)
        if since is not None:
            qs = qs.filter(updated_at__gte=since)
        rows = list(qs.order_by("updated_at", "artifact_id")[page * PAGE:(page + 1) * PAGE + 1])
        return ChangePage([_artifact(r) for r in rows[:PAGE]], done=len(rows) <= PAGE)

    def read(self, ids: Iterable[str]) -> list[ArtifactData]:
        try:
            return [_artifact(r) for r in self._rows().filter(artifact_id__in=list(ids))]
        finally:
            _release_thread_connection()

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        return None  # the hub never creates here, so nothing here carries its key

    def creation_problem(self) -> str:
        return READ_ONLY + "."

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        raise ConnectorError(READ_ONLY + ".")

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        raise ConnectorError(READ_ONLY + f" (artifact {artifact_id}).")


def _release_thread_connection() -> None:
    """The engine reads from its processing threads, which otherwise keep one database connection
    each until they end: close it after the call (never inside a transaction, never the main
    thread's, which Django manages)."""
    from django.db import connection

    if threading.current_thread() is not threading.main_thread() and not connection.in_atomic_block:
        connection.close()


def _artifact(row: Any) -> ArtifactData:
    return ArtifactData(id=row.artifact_id, project=row.project, updated_at=row.updated_at, fields=dict(row.fields),
                        version=str(row.version))
