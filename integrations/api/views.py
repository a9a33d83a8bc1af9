from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import services
from integrations.api import serializers as s
from integrations.api.engine_views import EngineActionsMixin
from integrations.connectors import registry
from integrations.gateway import services as gateway_services
from integrations.models import ArtifactPair, Collection, Integration, PendingWork, RepositoryConnection, Route
from settings_app.services import effective_settings
from tasktop_hub.api.fast_lists import ValuesListMixin
from tasktop_hub.api.filters import DeclaredFilters, ListFilter
from tasktop_hub.api.pagination import KeysetPagination


class ServiceModelViewSet(viewsets.ModelViewSet):
    """CRUD whose writes go through integrations.services (validated, audited)."""

    def perform_create(self, serializer: Any) -> None:
        instance = serializer.Meta.model(**serializer.validated_data)
        serializer.instance = services.save(instance, self.request.user)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update(serializer.instance, self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance: Model) -> None:
        services.delete(instance, self.request.user)


class ConnectionViewSet(ServiceModelViewSet):
    queryset = RepositoryConnection.objects.all()
    serializer_class = s.ConnectionSerializer
    filterset_fields = ["kind"]

    @extend_schema(request=None, responses=s.ConnectionTestSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Call the connector's test; the verdict and its time are recorded on the connection."""
        result = services.test_connection(self.get_object(), request.user)
        return Response(s.ConnectionTestSerializer(result).data)


class CollectionViewSet(ServiceModelViewSet):
    queryset = Collection.objects.select_related("connection")
    serializer_class = s.CollectionSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        collection = Collection.objects.select_related("connection").get(pk=response.data["id"])
        if collection.is_gateway:
            # A new gateway collection gets its token now, shown in this answer only.
            token = gateway_services.regenerate_token(collection, request.user)
            response.data = {**response.data, "gateway_token_set_at": collection.gateway_token_set_at,
                             "gateway_token": token, "gateway_url": gateway_url(collection)}
        return response

    @extend_schema(request=None, responses=s.GatewayTokenSerializer)
    @action(detail=True, methods=["post"], url_path="gateway-token")
    def gateway_token(self, request: Request, pk: str | None = None) -> Response:
        """A new gateway token (the old one stops working); shown in this answer only.
        Administrators and integrators."""
        collection = self.get_object()
        token = gateway_services.regenerate_token(collection, request.user)
        return Response({"token": token, "url": gateway_url(collection)}, status=201)


def gateway_url(collection: Collection) -> str:
    return f"/api/v1/gateway/{collection.pk}/"


class IntegrationViewSet(EngineActionsMixin, ServiceModelViewSet):
    queryset = Integration.objects.select_related("left_collection__connection", "right_collection__connection")
    serializer_class = s.IntegrationSerializer

    @extend_schema(request=None, responses=s.IntegrationSerializer)
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        integration = services.set_run_state(self.get_object(), Integration.RunState.RUNNING, request.user)
        return Response(s.IntegrationSerializer(integration).data)

    @extend_schema(request=None, responses=s.IntegrationSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        integration = services.set_run_state(self.get_object(), Integration.RunState.STOPPED, request.user)
        return Response(s.IntegrationSerializer(integration).data)

    @extend_schema(responses=s.EffectiveSettingsSerializer)
    @action(detail=True, methods=["get"], url_path="effective-settings")
    def effective_settings(self, request: Request, pk: str | None = None) -> Response:
        return Response(asdict(effective_settings(self.get_object())))


class RouteViewSet(ServiceModelViewSet):
    queryset = Route.objects.select_related("integration")
    serializer_class = s.RouteSerializer


class ArtifactPairViewSet(ValuesListMixin, ServiceModelViewSet):
    """Pairs grow without bound: cursor pages by id; each filter is a range of an index
    (``(integration, id)``, ``(route, id)``, and the unique ``(integration, left_id | right_id)``)."""

    queryset = ArtifactPair.objects.all()
    serializer_class = s.ArtifactPairSerializer
    pagination_class = KeysetPagination
    filter_backends = [DeclaredFilters]
    keyset_ordering = ("id",)
    list_filters = (
        ListFilter("integration", "integration_id", "int", "Only pairs of this integration (its id)."),
        ListFilter("route", "route_id", "int", "Only pairs of this route (its id)."),
        ListFilter("left_id", "left_id", "text", "The pair of this left artifact id (needs integration: an "
                   "artifact id means something within one integration's collection)."),
        ListFilter("right_id", "right_id", "text", "The pair of this right artifact id (needs integration)."),
    )

    def filter_queryset(self, queryset: Any) -> Any:
        params = self.request.query_params
        if self.action == "list" and "integration" not in params:
            for side in ("left_id", "right_id"):
                if side in params:
                    raise ValidationError({side: ["Give the integration too (?integration=<id>): an artifact id "
                                                  "is only unique within one integration."]})
        return super().filter_queryset(queryset)


class PendingWorkViewSet(ValuesListMixin, viewsets.ReadOnlyModelViewSet):
    """Changes detected and waiting to be processed (the engine's queue), oldest first."""

    queryset = PendingWork.objects.all()
    serializer_class = s.PendingWorkSerializer
    pagination_class = KeysetPagination
    filter_backends = [DeclaredFilters]
    keyset_ordering = ("id",)
    list_filters = (
        ListFilter("integration", "integration_id", "int", "Only the pending work of this integration (its id)."),
        ListFilter("status", "status", "choice", "Only rows in this status.", tuple(PendingWork.Status.values)),
    )


class ConnectorKindViewSet(viewsets.ViewSet):
    """The connector kinds this hub can connect to, with their parameters."""

    serializer_class = s.ConnectorKindSerializer

    def list(self, request: Request) -> Response:
        data = [
            {"kind": kind, "label": cls.label,
             "parameters": [asdict(p) | {"choices": list(p.choices)} for p in cls.parameters]}
            for kind, cls in ((k, registry.get(k)) for k in registry.kinds())
        ]
        return Response(data)
