from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from settings_app import services
from settings_app.api.serializers import HubSettingsSerializer


class HubSettingsView(APIView):
    """The global settings (change detection, full scan, concurrency, instance label)."""

    serializer_class = HubSettingsSerializer

    @extend_schema(responses=HubSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(HubSettingsSerializer(services.get_settings()).data)

    @extend_schema(request=HubSettingsSerializer, responses=HubSettingsSerializer)
    def put(self, request: Request) -> Response:
        return self._change(request, partial=False)

    @extend_schema(request=HubSettingsSerializer, responses=HubSettingsSerializer)
    def patch(self, request: Request) -> Response:
        return self._change(request, partial=True)

    def _change(self, request: Request, partial: bool) -> Response:
        serializer = HubSettingsSerializer(services.get_settings(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = services.update_settings(request.user, **serializer.validated_data)
        return Response(HubSettingsSerializer(obj).data)
