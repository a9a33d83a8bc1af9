"""``/api/v1/settings/logging/``: read the level; administrators change it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from settings_app.hublog import services
from tasktop_hub.api.serializers import StrictFieldsMixin


class LoggingLevelSerializer(StrictFieldsMixin, serializers.Serializer):
    level = serializers.ChoiceField(choices=[services.NORMAL, services.TROUBLESHOOTING])
    until = serializers.DateTimeField(required=False, allow_null=True,
                                      help_text="When Troubleshooting ends (at most 24 hours ahead).")
    duration_minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60, write_only=True,
                                                help_text="Instead of `until`: Troubleshooting for this long.")


def _data(state: services.State) -> dict[str, Any]:
    return {"level": state.level, "until": state.until}


class LoggingLevelView(APIView):
    serializer_class = LoggingLevelSerializer

    @extend_schema(responses=LoggingLevelSerializer)
    def get(self, request: Request) -> Response:
        return Response(LoggingLevelSerializer(_data(services.state())).data)

    @extend_schema(request=LoggingLevelSerializer, responses=LoggingLevelSerializer)
    def put(self, request: Request) -> Response:
        serializer = LoggingLevelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["level"] == services.NORMAL:
            state = services.normal(request.user)
        else:
            minutes = data.get("duration_minutes")
            state = services.troubleshoot(request.user, until=data.get("until"),
                                          duration=timedelta(minutes=minutes) if minutes else None)
        return Response(LoggingLevelSerializer(_data(state)).data)
