"""API for the master password (administrators only) and the setup status.

Passwords are accepted, never returned; refusals use the hub's error shape naming the field.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from settings_app.security import master_password, vault
from tasktop_hub.api.permissions import IsAdministrator
from tasktop_hub.api.serializers import StrictFieldsMixin


def _password(help_text: str = "", required: bool = True) -> serializers.CharField:
    return serializers.CharField(write_only=True, trim_whitespace=False, required=required, help_text=help_text,
                                 style={"input_type": "password"})


class StatusSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    loaded = serializers.BooleanField()
    summary = serializers.CharField()
    # A field named like a DRF Field attribute: DRF reads declared fields, the stubs see the attribute.
    source = serializers.CharField(  # type: ignore[assignment]
        allow_null=True, help_text="environment | file | stored | entered")
    stored_in_home = serializers.BooleanField()
    environment_override = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    changed_at = serializers.DateTimeField(allow_null=True)
    password_rule = serializers.CharField()


def _status_data() -> dict[str, Any]:
    st = master_password.status()
    return {
        "configured": st.configured, "loaded": st.loaded, "summary": st.summary, "source": st.source,
        "stored_in_home": st.stored_in_home, "environment_override": st.environment_override,
        "created_at": st.created_at, "changed_at": st.changed_at, "password_rule": vault.PASSWORD_RULE,
    }


class SetSerializer(StrictFieldsMixin, serializers.Serializer):
    password = _password(vault.PASSWORD_RULE)
    confirmation = _password("Optional: the password again.", required=False)


class EnterSerializer(StrictFieldsMixin, serializers.Serializer):
    password = _password()


class ChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    current_password = _password()
    new_password = _password(vault.PASSWORD_RULE)
    confirmation = _password("Optional: the new password again.", required=False)


class ResetSerializer(StrictFieldsMixin, serializers.Serializer):
    new_password = _password(vault.PASSWORD_RULE)
    confirmation = _password("Optional: the new password again.", required=False)
    acknowledge_secrets_wiped = serializers.BooleanField(
        help_text="Must be true: every stored secret is wiped and must be entered again."
    )

    def validate_acknowledge_secrets_wiped(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Resetting wipes every stored secret; send true to confirm.")
        return value


class MasterPasswordView(APIView):
    """Whether a master password is set and loaded (never the password)."""

    permission_classes = [IsAdministrator]

    @extend_schema(responses=StatusSerializer)
    def get(self, request: Request) -> Response:
        return Response(StatusSerializer(_status_data()).data)


class _ActionView(APIView):
    permission_classes = [IsAdministrator]
    input_serializer: type[serializers.Serializer]

    def run(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extra = self.run(request, serializer.validated_data)
        return Response({**StatusSerializer(_status_data()).data, **extra})


class SetView(_ActionView):
    """First start: set the master password."""

    input_serializer = SetSerializer

    @extend_schema(request=SetSerializer, responses=StatusSerializer)
    def post(self, request: Request) -> Response:
        return super().post(request)

    def run(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        master_password.set_password(request.user, data["password"], data.get("confirmation"))
        return {}


class EnterView(_ActionView):
    """The stored password is missing or wrong: enter the current one to unlock."""

    input_serializer = EnterSerializer

    @extend_schema(request=EnterSerializer, responses=StatusSerializer)
    def post(self, request: Request) -> Response:
        return super().post(request)

    def run(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        master_password.enter_password(request.user, data["password"])
        return {}


class ChangeView(_ActionView):
    """Change the master password (current one required); stored secrets stay valid."""

    input_serializer = ChangeSerializer

    @extend_schema(request=ChangeSerializer, responses=StatusSerializer)
    def post(self, request: Request) -> Response:
        return super().post(request)

    def run(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        master_password.change_password(request.user, data["current_password"], data["new_password"],
                                        data.get("confirmation"))
        return {}


class ResetView(_ActionView):
    """Reset a lost master password: every stored secret is wiped and listed in an Activity issue."""

    input_serializer = ResetSerializer

    @extend_schema(request=ResetSerializer, responses=StatusSerializer)
    def post(self, request: Request) -> Response:
        return super().post(request)

    def run(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        wiped = master_password.reset_password(request.user, data["new_password"], data.get("confirmation"))
        return {"wiped": [w.label for w in wiped]}


class SetupStatusSerializer(serializers.Serializer):
    set_up = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.DictField())


class SetupStatusView(APIView):
    """What the first-run setup still needs (reachable before setup is complete)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=SetupStatusSerializer)
    def get(self, request: Request) -> Response:
        from tasktop_hub.setup_gate import missing

        problems = missing()
        return Response({"set_up": not problems, "missing": [{"field": f, "message": m} for f, m in problems]})
