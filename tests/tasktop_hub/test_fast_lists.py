"""List pages built from column values (tasktop_hub/api/fast_lists.py) equal what the serializer gives."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.utils.encoders import JSONEncoder

from integrations.api.serializers import ArtifactPairSerializer, PendingWorkSerializer
from integrations.models import ArtifactPair, PendingWork
from notifications import services as activity
from notifications.api.serializers import (
    ActivityErrorSerializer,
    ActivityIssueSerializer,
    AuditEventSerializer,
    BackgroundJobSerializer,
)
from notifications.models import ActivityError, ActivityIssue, AuditEvent, BackgroundJob
from tasktop_hub.api.fast_lists import plan_for
from tests.factories import PairFactory

pytestmark = pytest.mark.django_db

LISTS = [
    ("/api/v1/pairs/", ArtifactPair, ArtifactPairSerializer, True),
    ("/api/v1/pending-work/", PendingWork, PendingWorkSerializer, True),
    ("/api/v1/activity/errors/", ActivityError, ActivityErrorSerializer, True),
    ("/api/v1/activity/issues/", ActivityIssue, ActivityIssueSerializer, True),
    ("/api/v1/audit/", AuditEvent, AuditEventSerializer, True),
    ("/api/v1/activity/jobs/", BackgroundJob, BackgroundJobSerializer, False),  # 'percent' is a property
]


@pytest.mark.parametrize(("path", "model", "serializer", "fast"), LISTS)
def test_the_page_equals_the_serializers_output(staff, path, model, serializer, fast):
    pair = PairFactory(base={"summary": "€ \"quoted\"\n", "n": 1.5})
    PendingWork.objects.create(integration=pair.integration, side="right", artifact_id="7", detected_at=timezone.now(),
                               not_before=None, last_error="boom")
    error = activity.record_error(artifact="c:1", message="m", integration_id=pair.integration_id)
    activity.ignore_error(error.pk, staff)
    activity.record_error(artifact="c:2", message="m", integration_id=None)
    activity.raise_issue("k", "An issue", "details")
    activity.record_audit(staff, "test.action", "t", detail={"a": [1, 2]})
    activity.record_audit(None, "test.system", "t")
    BackgroundJob.objects.create(kind="purge_activity", title="t", progress_total=4, progress_done=1, params={"x": 1})
    assert (plan_for(serializer(), model) is not None) is fast
    client = APIClient()
    client.force_authenticate(staff)
    listed = client.get(path).json()["results"]
    assert listed
    rows = {row.pk: row for row in model.objects.filter(pk__in=[r["id"] for r in listed])}
    expected = json.loads(json.dumps(serializer([rows[r["id"]] for r in listed], many=True).data, cls=JSONEncoder))
    assert listed == expected
