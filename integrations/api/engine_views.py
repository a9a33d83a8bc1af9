"""Engine actions on an integration: process all, initiate synchronization, full scan, run now,
check configuration. Thin: each calls integrations.engine.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from integrations.engine import services as engine
from notifications.api.serializers import BackgroundJobSerializer
from tasktop_hub.api.serializers import StrictFieldsMixin


class InitiateSyncSerializer(StrictFieldsMixin, serializers.Serializer):
    left = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    right = serializers.ListField(child=serializers.CharField(), required=False, default=list)


class MessageSerializer(serializers.Serializer):
    detail = serializers.CharField()


class EngineActionsMixin(GenericViewSet):
    """Mixed into IntegrationViewSet (a model view set: ``get_object`` finds the integration)."""

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"], url_path="process-all")
    def process_all(self, request: Request, pk: str | None = None) -> Response:
        integration = self.get_object()
        engine.process_all(integration, request.user)
        return Response({"detail": f"The next change detection of '{integration.name}' treats every artifact "
                                   "in its routed projects as changed."}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=InitiateSyncSerializer, responses=BackgroundJobSerializer)
    @action(detail=True, methods=["post"], url_path="initiate-sync")
    def initiate_sync(self, request: Request, pk: str | None = None) -> Response:
        body = InitiateSyncSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        projects = {k: v for k, v in body.validated_data.items() if v} or None
        job = engine.initiate_sync(self.get_object(), request.user, projects)
        return Response(BackgroundJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=BackgroundJobSerializer)
    @action(detail=True, methods=["post"], url_path="full-scan")
    def full_scan(self, request: Request, pk: str | None = None) -> Response:
        job = engine.full_scan(self.get_object(), request.user)
        return Response(BackgroundJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"], url_path="run-now")
    def run_now(self, request: Request, pk: str | None = None) -> Response:
        engine.run_now(self.get_object(), request.user)
        return Response({"detail": "A run starts at the next dispatcher pass."}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"], url_path="check")
    def check(self, request: Request, pk: str | None = None) -> Response:
        engine.check_configuration(self.get_object())
        return Response({"detail": "The configuration is consistent with the tools."})
