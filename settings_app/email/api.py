"""API for email notifications (administrators write; the password is write-only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from settings_app.email import digest, services
from settings_app.email.models import EmailSettings
from settings_app.security.fields import is_secret_set
from tasktop_hub.api.serializers import StrictFieldsMixin


class EmailSettingsSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False,
                                     style={"input_type": "password"},
                                     help_text="Write-only; omit to keep the stored one, empty to clear it.")
    password_set = serializers.SerializerMethodField()

    class Meta:
        model = EmailSettings
        fields = ["enabled", *services.FIELDS, "password", "password_set", "covered_until", "last_success_at",
                  "last_attempt_at", "last_failure", "last_failure_at", "updated_at"]
        read_only_fields = ["enabled", "covered_until", "last_success_at", "last_attempt_at", "last_failure",
                            "last_failure_at", "updated_at"]

    def get_password_set(self, obj: EmailSettings) -> bool:
        return is_secret_set(obj, "password")


class TestSerializer(StrictFieldsMixin, serializers.Serializer):
    values = serializers.DictField(required=False, help_text="Unsaved form values laid over the saved settings.")
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False)
    send_test_email = serializers.BooleanField(default=False)


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    data = dict(data)
    return data, data.pop("password", None)


class EmailSettingsView(APIView):
    """The email server and notification settings (404 until added)."""

    serializer_class = EmailSettingsSerializer

    @extend_schema(responses=EmailSettingsSerializer)
    def get(self, request: Request) -> Response:
        obj = services.get()
        if obj is None:
            return Response({"detail": "No email server is set up."}, status=status.HTTP_404_NOT_FOUND)
        return Response(EmailSettingsSerializer(obj).data)

    @extend_schema(request=EmailSettingsSerializer, responses=EmailSettingsSerializer)
    def put(self, request: Request) -> Response:
        serializer = EmailSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values, password = _split(serializer.validated_data)
        return Response(EmailSettingsSerializer(services.save(request.user, values, password)).data)

    @extend_schema(request=EmailSettingsSerializer, responses=EmailSettingsSerializer)
    def patch(self, request: Request) -> Response:
        serializer = EmailSettingsSerializer(services.get(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        values, password = _split(serializer.validated_data)
        return Response(EmailSettingsSerializer(services.save(request.user, values, password)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        services.delete(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailActionView(APIView):
    """POST …/on | …/off | …/send-now."""

    action = ""

    @extend_schema(request=None, responses=EmailSettingsSerializer)
    def post(self, request: Request) -> Response:
        if self.action == "send-now":
            if services.get() is None:  # nothing to send, and no settings to answer with
                raise serializers.ValidationError("Add an email server first (Settings → Email Notifications).")
            outcome = digest.run(force=True)
            return Response({"outcome": outcome, **EmailSettingsSerializer(services.get()).data})
        obj = services.set_enabled(request.user, self.action == "on")
        return Response(EmailSettingsSerializer(obj).data)


class EmailTestView(APIView):
    """Test the connection (connect, TLS, authenticate; optionally send a test email) on unsaved values."""

    serializer_class = TestSerializer

    @extend_schema(request=TestSerializer, responses=dict)
    def post(self, request: Request) -> Response:
        serializer = TestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.test_connection(data.get("values") or {}, data.get("password"), data["send_test_email"])
        return Response(result.as_dict())
