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
    # 'percent' is computed from two columns (BackgroundJobSerializer.values_computed)
    ("/api/v1/activity/jobs/", BackgroundJob, BackgroundJobSerializer, True),
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
    BackgroundJob.objects.create(kind="purge_activity", title="unknown total", progress_total=0, progress_done=0)
    BackgroundJob.objects.create(kind="purge_activity", title="a third", progress_total=3, progress_done=1,
                                 status=BackgroundJob.Status.SUCCEEDED, result={"n": 2})
    assert (plan_for(serializer(), model) is not None) is fast
    client = APIClient()
    client.force_authenticate(staff)
    listed = client.get(path).json()["results"]
    assert listed
    rows = {row.pk: row for row in model.objects.filter(pk__in=[r["id"] for r in listed])}
    expected = json.loads(json.dumps(serializer([rows[r["id"]] for r in listed], many=True).data, cls=JSONEncoder))
    assert listed == expected
    assert [list(row) for row in listed] == [list(row) for row in expected]  # the fields' order too


def test_the_jobs_list_computes_percent_from_the_two_columns(staff):
    for done, total in ((1, 4), (0, 0), (1, 3), (3, 3)):
        BackgroundJob.objects.create(kind="purge_activity", title=f"{done}/{total}", progress_done=done,
                                     progress_total=total)
    client = APIClient()
    client.force_authenticate(staff)
    listed = client.get("/api/v1/activity/jobs/").json()["results"]
    assert {row["title"]: row["percent"] for row in listed} == {"1/4": 25.0, "0/0": None, "1/3": 33.3, "3/3": 100.0}
