"""Storage API (administrators only): status, drivers, test, transfer, abort, cleanup, relocate, override.

Passwords are accepted, never returned; refusals use the hub's error shape naming the field.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storage import services
from storage.vendors import VENDORS, all_drivers
from tasktop_hub.api.permissions import IsAdministrator
from tasktop_hub.api.serializers import StrictFieldsMixin


class DatabaseSerializer(StrictFieldsMixin, serializers.Serializer):
    vendor = serializers.ChoiceField(choices=list(VENDORS))
    location = serializers.CharField(help_text="host[:port]/database (Oracle: host[:port]/service_name; SQL Server "
                                               "also host[:port];databaseName=db)")
    username = serializers.CharField()
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False,
                                     style={"input_type": "password"})
    tls = serializers.CharField(required=False, allow_blank=True, default="",
                                help_text="disable, prefer, require, verify-ca, verify-full (Oracle: disable, require); "
                                          "empty: prefer, SQL Server require, Oracle disable")
    ca_file = serializers.CharField(required=False, allow_blank=True, default="")


class ConfirmedDatabaseSerializer(DatabaseSerializer):
    confirm = serializers.CharField(help_text=f"Must start with \"{services.CONFIRMATION}\" (after reading the warning).")


class ConfirmSerializer(StrictFieldsMixin, serializers.Serializer):
    confirm = serializers.CharField(help_text=f"Must start with \"{services.CONFIRMATION}\".")


def _db(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "confirm"}


class _Admin(APIView):
    permission_classes = [IsAdministrator]


class StatusView(_Admin):
    """The database in use, its vendor and version, the instance lease, the last transfer."""

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        return Response(services.status())


class DriversView(_Admin):
    """Per vendor: driver installed, its version, the command that installs it, verified live or not."""

    @extend_schema(responses={200: {"type": "array", "items": {"type": "object"}}})  # a list, as answered
    def get(self, request: Request) -> Response:
        return Response([asdict(d) | {"location_format": VENDORS[d.vendor].location_format} for d in all_drivers()])


class TestView(_Admin):
    @extend_schema(request=DatabaseSerializer, responses=dict)
    def post(self, request: Request) -> Response:
        s = DatabaseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(services.test(s.validated_data).as_dict())


class TransferView(_Admin):
    @extend_schema(request=ConfirmedDatabaseSerializer, responses=dict)
    def post(self, request: Request) -> Response:
        s = ConfirmedDatabaseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        job = services.start_transfer(_db(s.validated_data), s.validated_data["confirm"], request.user)
        return Response({"job": job.pk, "status": job.status, "warning": services.TRANSFER_WARNING}, status=202)


class AbortView(_Admin):
    @extend_schema(request=None, responses=dict)
    def post(self, request: Request) -> Response:
        job = services.abort_transfer(request.user)
        return Response({"job": job.pk, "status": job.status})


class CleanupView(_Admin):
    @extend_schema(request=DatabaseSerializer, responses=dict)
    def post(self, request: Request) -> Response:
        s = DatabaseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response({"dropped": services.cleanup(s.validated_data, request.user)})


class RelocateView(_Admin):
    @extend_schema(request=ConfirmedDatabaseSerializer, responses=dict)
    def post(self, request: Request) -> Response:
        s = ConfirmedDatabaseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(services.relocate(_db(s.validated_data), s.validated_data["confirm"], request.user))


class OverrideView(_Admin):
    @extend_schema(request=ConfirmSerializer, responses=dict)
    def post(self, request: Request) -> Response:
        s = ConfirmSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(services.override(s.validated_data["confirm"], request.user))
