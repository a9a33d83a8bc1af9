"""Route moves and pair import/export over the API. Thin: integrations/moves.py,
integrations/pairs_io.py and the job kinds in integrations/jobs.py do the work; starting either
needs the administrators role (the job kinds' ``started_by``, checked in ``jobs.enqueue``)."""

from __future__ import annotations

import io
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import moves, pairs_io
from integrations.jobs import IMPORT_KIND, MOVE_KIND, save_upload
from integrations.models import Integration, RouteMove
from notifications import jobs
from notifications.api.serializers import BackgroundJobSerializer
from tasktop_hub import roles

CONFIRMATION = "I understand that the routes, their pairs, pending work and open errors move to the target"
MAX_UPLOAD = 64 * 1024 * 1024


class MoveRequestSerializer(serializers.Serializer):
    # DRF pops declared fields off the class, so "source" does not shadow Field.source at run time.
    source = serializers.IntegerField(help_text="The integration the routes leave.")  # type: ignore[assignment]
    target = serializers.IntegerField(help_text="The integration the routes join.")
    routes = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    swap = serializers.BooleanField(default=False, help_text="The source's left side is the target's right side.")
    confirm = serializers.CharField(required=False, allow_blank=True, help_text=f"To move: '{CONFIRMATION}'.")


class RouteMoveSerializer(serializers.ModelSerializer):
    class Meta:
        model = RouteMove
        fields = ["id", "source", "target", "routes", "swap", "status", "job_id", "counts", "started_at",
                  "finished_at"]
        read_only_fields = fields


class RouteMoveViewSet(viewsets.ReadOnlyModelViewSet):
    """GET the moves made; POST review/ to see what would move; POST to move (a background job)."""

    queryset = RouteMove.objects.all()
    serializer_class = RouteMoveSerializer
    write_role = roles.ADMINISTRATORS

    def _body(self, request: Request) -> dict[str, Any]:
        body = MoveRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    @extend_schema(request=MoveRequestSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"])
    def review(self, request: Request) -> Response:
        d = self._body(request)
        return Response(moves.review(d["source"], d["target"], d["routes"], d["swap"]).as_dict())

    @extend_schema(request=MoveRequestSerializer, responses=BackgroundJobSerializer)
    def create(self, request: Request) -> Response:
        d = self._body(request)
        if d.get("confirm", "").strip() != CONFIRMATION:
            raise ValidationError({"confirm": f"Confirm the move by sending confirm: '{CONFIRMATION}'."})
        job = jobs.enqueue(MOVE_KIND, {k: d[k] for k in ("source", "target", "routes", "swap")}, request.user)
        return Response(BackgroundJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class PairsImportSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The CSV or JSON file (multipart).")
    content = serializers.CharField(required=False, trim_whitespace=False, help_text="Or the file's text (JSON body).")
    format = serializers.ChoiceField(choices=["csv", "json"], required=False)
    dry_run = serializers.BooleanField(default=False)
    verify = serializers.BooleanField(default=False, help_text="Read every artifact through its tool.")


class PairsTransferViewSet(viewsets.ViewSet):
    """POST import/ (dry run: the report; else a background job, all or nothing); GET export/."""

    write_role = roles.ADMINISTRATORS
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request=PairsImportSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"], url_path="import")
    def import_pairs(self, request: Request) -> Response:
        body = PairsImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        if "file" in d:
            if d["file"].size > MAX_UPLOAD:
                raise ValidationError({"file": f"Larger than {MAX_UPLOAD // (1024 * 1024)} MiB."})
            data, name = d["file"].read(), d["file"].name or ""
        elif "content" in d:
            data, name = d["content"].encode(), ""
        else:
            raise ValidationError({"file": "Send the file (multipart 'file') or its text ('content')."})
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": "The file is not UTF-8 text."}) from None
        fmt = d.get("format") or pairs_io.detect_format(name, text)
        report = pairs_io.dry_run(text, fmt, verify=d["verify"])
        if d["dry_run"] or not report.ok:
            code = status.HTTP_200_OK if d["dry_run"] else status.HTTP_400_BAD_REQUEST
            return Response(report.as_dict(), status=code)
        job = jobs.enqueue(IMPORT_KIND, {"upload": save_upload(data, fmt), "verify": d["verify"]}, request.user)
        return Response({**report.as_dict(), "job": BackgroundJobSerializer(job).data},
                        status=status.HTTP_202_ACCEPTED)

    # Not "format": DRF reads that query parameter to choose a renderer.
    @extend_schema(parameters=[OpenApiParameter("file_format", str, enum=["csv", "json"]),
                               OpenApiParameter("integration", int)], responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse:
        fmt = request.query_params.get("file_format", "csv")
        if fmt not in ("csv", "json"):
            raise ValidationError({"file_format": "Use csv or json."})
        integration = None
        if request.query_params.get("integration"):
            integration = Integration.objects.filter(pk=_int(request.query_params["integration"])).first()
            if integration is None:
                raise ValidationError({"integration": "No such integration."})
        out = io.StringIO()
        pairs_io.write_export(pairs_io.export(integration), fmt, out)
        response = HttpResponse(out.getvalue(), content_type="text/csv" if fmt == "csv" else "application/json")
        response["Content-Disposition"] = f'attachment; filename="pairs.{fmt}"'
        return response


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValidationError({"integration": "Give an integration id."}) from None
