import pytest
from django.core.exceptions import ValidationError

from notifications import services
from notifications.models import ActivityError, ActivityIssue

pytestmark = pytest.mark.django_db


def test_repeated_error_counts_instead_of_duplicating():
    services.record_error(artifact="c:1", message="boom", integration_id=1)
    services.record_error(artifact="c:1", message="boom again", integration_id=1)
    error = ActivityError.objects.get()
    assert error.occurrences == 2
    assert error.message == "boom again"


def test_ignored_error_stays_ignored_when_it_recurs(staff):
    error = services.record_error(artifact="c:1", message="boom", integration_id=1)
    services.ignore_error(error.pk, staff)
    services.record_error(artifact="c:1", message="boom", integration_id=1)
    error.refresh_from_db()
    assert error.status == ActivityError.Status.IGNORED
    assert error.ignored_by == staff
    assert ActivityError.objects.count() == 1


def test_retry_calls_the_categorys_handler(staff, django_capture_on_commit_callbacks):
    seen = []
    services.register_retry_handler("test-category", lambda e: seen.append(e.artifact))
    error = services.record_error(artifact="c:9", message="boom", integration_id=1, category="test-category")
    with pytest.raises(ValidationError):
        services.retry_error(services.record_error(artifact="c:10", message="x", category="unknown").pk, staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_error(error.pk, staff)
    assert seen == ["c:9"]
    error.refresh_from_db()
    assert error.status == ActivityError.Status.RETRYING


def test_resolving_a_successful_artifact():
    services.record_error(artifact="c:1", message="boom", integration_id=1)
    assert services.resolve_errors(artifact="c:1", integration_id=1) == 1
    assert ActivityError.objects.get().status == ActivityError.Status.RESOLVED
    # After resolution a new failure opens a new error.
    services.record_error(artifact="c:1", message="again", integration_id=1)
    assert ActivityError.objects.filter(status="open").count() == 1


def test_issue_is_raised_once_and_resolved_when_the_condition_clears():
    services.raise_issue("license-expired", "License expired")
    services.raise_issue("license-expired", "License expired")
    assert ActivityIssue.objects.filter(status="open").count() == 1
    assert services.resolve_issue("license-expired") is True
    assert services.resolve_issue("license-expired") is False
    services.raise_issue("license-expired", "License expired")
    assert ActivityIssue.objects.count() == 2
    assert ActivityIssue.objects.filter(status="open").count() == 1
