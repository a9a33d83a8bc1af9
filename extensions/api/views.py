"""``/api/v1/extensions/``: list, read, create, change, delete (integrators may write), the
versions kept, and ``POST …/{id}/run/`` (the test harness: writes nothing)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from extensions import harness, services
from extensions.models import Extension, ExtensionVersion
from tasktop_hub.api.serializers import StrictFieldsMixin


class ExtensionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Extension
        fields = ["id", "name", "description", "type", "source", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExtensionVersion
        fields = ["version", "source", "saved_at", "saved_by"]


class RunSerializer(StrictFieldsMixin, serializers.Serializer):
    input = serializers.JSONField(required=False, help_text="The JSON array of the entry function's arguments.")
    connection = serializers.IntegerField(required=False, help_text="Or: a recorded artifact of this connection…")
    artifact = serializers.CharField(required=False, max_length=200, help_text="…with this id…")
    field = serializers.CharField(required=False, max_length=200, default="",
                                  help_text="…and this tool field as the value (transform, person, state).")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        recorded = "connection" in data or "artifact" in data
        if recorded == ("input" in data) or (recorded and not ("connection" in data and "artifact" in data)):
            raise serializers.ValidationError("Give either input, or connection and artifact (and field).")
        return data


class RunResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    result = serializers.JSONField(allow_null=True)
    logs = serializers.ListField(child=serializers.CharField())
    ms = serializers.FloatField()
    version = serializers.IntegerField()
    message = serializers.CharField(required=False)
    line = serializers.IntegerField(required=False, allow_null=True)
    input = serializers.JSONField(help_text="The arguments the entry function received.")


class ExtensionViewSet(viewsets.ModelViewSet):
    queryset = Extension.objects.all()
    serializer_class = ExtensionSerializer

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.create(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.update(self.request.user, serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: Extension) -> None:
        services.delete(self.request.user, instance)

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        return Response(VersionSerializer(self.get_object().versions.all(), many=True).data)

    @extend_schema(request=RunSerializer, responses=RunResultSerializer)
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Run the extension on a sample input, or on an artifact read now from a connection: its
        output, console lines and time. Nothing is written to any tool or to the hub."""
        body = RunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d, ext = body.validated_data, self.get_object()
        args = d["input"] if "input" in d else harness.recorded_input(ext, d["connection"], d["artifact"], d["field"])
        return Response({**harness.run(ext, args), "input": args})
