from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import jobs, services
from notifications.api import serializers as s
from notifications.models import ActivityError, ActivityIssue, BackgroundJob


def _filter_status(qs: QuerySet, request: Request) -> QuerySet:
    wanted = request.query_params.get("status")
    return qs.filter(status=wanted) if wanted else qs


class ActivityErrorViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ActivityError.objects.all()
    serializer_class = s.ActivityErrorSerializer

    def get_queryset(self) -> QuerySet:
        return _filter_status(super().get_queryset(), self.request)

    @extend_schema(request=None, responses=s.ActivityErrorSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        error = services.retry_error(self.get_object().pk, request.user)
        return Response(s.ActivityErrorSerializer(error).data)

    @extend_schema(request=None, responses=s.ActivityErrorSerializer)
    @action(detail=True, methods=["post"])
    def ignore(self, request: Request, pk: str | None = None) -> Response:
        error = services.ignore_error(self.get_object().pk, request.user)
        return Response(s.ActivityErrorSerializer(error).data)

    @extend_schema(request=None, responses=s.ActivityErrorSerializer)
    @action(detail=True, methods=["post"])
    def unignore(self, request: Request, pk: str | None = None) -> Response:
        error = services.unignore_error(self.get_object().pk, request.user)
        return Response(s.ActivityErrorSerializer(error).data)


class ActivityIssueViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ActivityIssue.objects.all()
    serializer_class = s.ActivityIssueSerializer

    def get_queryset(self) -> QuerySet:
        return _filter_status(super().get_queryset(), self.request)


class BackgroundJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = BackgroundJob.objects.all()
    serializer_class = s.BackgroundJobSerializer

    def get_queryset(self) -> QuerySet:
        return _filter_status(super().get_queryset(), self.request)

    @extend_schema(request=s.EnqueueJobSerializer, responses={201: s.BackgroundJobSerializer})
    def create(self, request: Request) -> Response:
        data = s.EnqueueJobSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = jobs.enqueue(data.validated_data["kind"], data.validated_data["params"], request.user)
        return Response(s.BackgroundJobSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.BackgroundJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        record = jobs.cancel(self.get_object().pk)
        return Response(s.BackgroundJobSerializer(record).data)
