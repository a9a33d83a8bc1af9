"""API for the license: show the one in force, apply a new one (administrators only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing import services
from tasktop_hub.api.permissions import IsAdministrator
from tasktop_hub.api.serializers import StrictFieldsMixin


class LicenseSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["unlicensed", "valid", "expired"])
    warning = serializers.CharField()
    days_left = serializers.IntegerField(allow_null=True)
    active_users = serializers.IntegerField()
    license_type = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    max_users = serializers.IntegerField(allow_null=True)
    created = serializers.DateField(allow_null=True)
    expires = serializers.DateField(allow_null=True)
    issuer = serializers.CharField(allow_null=True)
    licensee = serializers.CharField(allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)


class ApplySerializer(StrictFieldsMixin, serializers.Serializer):
    key = serializers.CharField(help_text="The license key as received; starts with 'TTHUB1.'.")
    issuer_public_key = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="The issuer's public key, when this hub does not trust it yet; trusted (audited) only if it signed "
                  "`key` and `key` is applied.")


def license_data() -> dict[str, Any]:
    st = services.state()
    lic = st.license
    fields = ("license_type", "description", "max_users", "created", "expires", "issuer", "licensee", "applied_at")
    return {
        "state": st.state, "warning": st.warning, "days_left": st.days_left, "active_users": st.active_users,
        **{name: getattr(lic, name) if lic else None for name in fields},
    }


class LicenseView(APIView):
    """The license in force ("unlicensed" before one is applied), and "Apply new license"."""

    permission_classes = [IsAdministrator]

    @extend_schema(responses=LicenseSerializer)
    def get(self, request: Request) -> Response:
        return Response(LicenseSerializer(license_data()).data)

    @extend_schema(request=ApplySerializer, responses=LicenseSerializer)
    def post(self, request: Request) -> Response:
        serializer = ApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.apply_license(request.user, data["key"], data["issuer_public_key"])
        return Response(LicenseSerializer(license_data()).data, status=status.HTTP_201_CREATED)
