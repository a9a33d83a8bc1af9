from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import jobs, services
from notifications.api import serializers as s
from notifications.models import ActivityError, ActivityIssue, AuditEvent, BackgroundJob
from tasktop_hub.api.fast_lists import ValuesListMixin
from tasktop_hub.api.filters import DeclaredFilters, ListFilter, since_until
from tasktop_hub.api.pagination import KeysetPagination


class GrowingList(ValuesListMixin, viewsets.GenericViewSet):
    """Lists that grow without bound: cursor pages on a unique, never-changing ordering (newest
    first) and declared filters, each backed by a composite index (notifications/models.py); the
    page is built from column values (tasktop_hub/api/fast_lists.py)."""

    pagination_class = KeysetPagination
    filter_backends = [DeclaredFilters]


def _status(choices: Any) -> ListFilter:
    return ListFilter("status", "status", "choice", "Only rows in this status.", tuple(choices.values))


class ActivityErrorViewSet(GrowingList, viewsets.ReadOnlyModelViewSet):
    queryset = ActivityError.objects.all()
    serializer_class = s.ActivityErrorSerializer
    keyset_ordering = ("-first_seen", "-id")
    list_filters = (
        ListFilter("integration", "integration_id", "int", "Only errors of this integration (its id)."),
        _status(ActivityError.Status),
        *since_until("first_seen", "first occurrence"),
    )

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


class ActivityIssueViewSet(GrowingList, viewsets.ReadOnlyModelViewSet):
    queryset = ActivityIssue.objects.all()
    serializer_class = s.ActivityIssueSerializer
    keyset_ordering = ("-raised_at", "-id")
    list_filters = (_status(ActivityIssue.Status), *since_until("raised_at", "raising"))


class BackgroundJobViewSet(GrowingList, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = BackgroundJob.objects.all()
    serializer_class = s.BackgroundJobSerializer
    keyset_ordering = ("-created_at", "-id")
    list_filters = (
        _status(BackgroundJob.Status),
        ListFilter("kind", "kind", "text", "Only jobs of this kind (e.g. purge_activity)."),
        *since_until("created_at", "creation"),
    )

    @extend_schema(request=s.EnqueueJobSerializer, responses={201: s.BackgroundJobSerializer})
    def create(self, request: Request) -> Response:
        data = s.EnqueueJobSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = jobs.enqueue(data.validated_data["kind"], data.validated_data["params"], request.user)
        return Response(s.BackgroundJobSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.BackgroundJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        record = jobs.cancel(self.get_object().pk, request.user)
        return Response(s.BackgroundJobSerializer(record).data)


class AuditEventViewSet(GrowingList, viewsets.ReadOnlyModelViewSet):
    """The audit trail: who changed what, newest first. Read-only (append-only trail)."""

    queryset = AuditEvent.objects.select_related("actor")
    serializer_class = s.AuditEventSerializer
    keyset_ordering = ("-at", "-id")
    list_filters = (
        ListFilter("action", "action", "text", "Only events of this action (e.g. job.enqueue)."),
        ListFilter("actor", "actor_id", "int", "Only events by this user (their id)."),
        *since_until("at", "time"),
    )
