from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications import jobs
from notifications.models import ActivityError, ActivityIssue, AuditEvent, BackgroundJob
from tasktop_hub.api.fast_lists import Computed
from tasktop_hub.api.serializers import StrictFieldsMixin


class ActivityErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityError
        fields = [
            "id", "integration_id", "integration_name", "artifact", "category", "message", "status",
            "occurrences", "first_seen", "last_seen", "resolved_at",
        ]
        read_only_fields = fields


class ActivityIssueSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityIssue
        fields = ["id", "key", "title", "message", "severity", "status", "raised_at", "last_seen", "resolved_at"]
        read_only_fields = fields


class BackgroundJobSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField(read_only=True, allow_null=True)
    params = serializers.SerializerMethodField()
    # The list builds its page from column values (tasktop_hub/api/fast_lists.py): 'percent' from these
    # two, 'params' with what its kind seals hidden.
    values_computed: ClassVar[dict[str, Computed]] = {
        "percent": Computed(("progress_done", "progress_total"), BackgroundJob.percent_of),
        "params": Computed(("kind", "params"), jobs.shown_params)}

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_params(self, obj: BackgroundJob) -> Any:
        return jobs.shown_params(obj.kind, obj.params)

    class Meta:
        model = BackgroundJob
        fields = [
            "id", "kind", "title", "params", "status", "progress_done", "progress_total", "percent", "log",
            "error", "result", "created_at", "started_at", "finished_at", "cancel_requested",
        ]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_id", "actor", "action", "target", "details"]
        read_only_fields = fields


class EnqueueJobSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.CharField()
    params = serializers.DictField(required=False, default=dict)
