"""The audit trail is append-only everywhere: model, queryset, admin, purge; Activity rows are not
deleted by hand in the admin either."""

import pytest
from django.test import Client

from notifications import jobs, services
from notifications.models import ActivityIssue, AppendOnly, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_rows_cannot_be_changed_or_deleted_in_code():
    event = services.record_audit(None, "test.action", "x", a=1)
    event.action = "forged"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.action"


def test_deleting_a_user_keeps_their_audit_rows():
    user = UserFactory(username="leaver")
    event = services.record_audit(user, "test.action", "x")
    user.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.action == "test.action" and event.actor_id is None


def test_admin_offers_no_delete_for_audit_or_activity_rows(staff):
    event = services.record_audit(staff, "test.action", "x")
    issue = services.raise_issue("k", "t")
    client = Client()
    client.force_login(staff)
    assert client.get(f"/admin/notifications/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get(f"/admin/notifications/activityissue/{issue.pk}/delete/").status_code == 403
    client.post("/admin/notifications/activityissue/", {"action": "delete_selected", "_selected_action": [issue.pk]})
    assert ActivityIssue.objects.filter(pk=issue.pk).exists()


@pytest.mark.django_db(transaction=True)  # the job runs when its enqueueing commits
def test_the_purge_job_keeps_the_audit_trail(staff):
    from datetime import timedelta

    from django.utils import timezone

    event = services.record_audit(staff, "test.action", "x")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET at = %s WHERE id = %s",
                       [timezone.now() - timedelta(days=400), event.pk])
    record = jobs.enqueue("purge_activity", {"older_than_days": 30}, staff)
    record.refresh_from_db()
    assert record.status == "succeeded" and "audit" not in record.result
    assert AuditEvent.objects.filter(pk=event.pk).exists()
