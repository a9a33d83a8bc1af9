"""Every change to Activity and the audit trail goes through these functions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.models import ActivityError, ActivityIssue, AuditEvent

log = logging.getLogger(__name__)

Actor = AbstractBaseUser | AnonymousUser | None
RetryHandler = Callable[[ActivityError], None]
_retry_handlers: dict[str, RetryHandler] = {}

LIVE_ERROR_STATES = (ActivityError.Status.OPEN, ActivityError.Status.RETRYING, ActivityError.Status.IGNORED)


def user_or_none(actor: Actor) -> Any:
    """The actor as a value for a user foreign key: None for the system and anonymous callers.

    Typed ``Any``: the user model is swappable (``AUTH_USER_MODEL``), so no concrete class fits.
    """
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def record_audit(actor: Actor, action: str, target: str = "", **details: Any) -> AuditEvent:
    """Write an audit row; call it inside the transaction of the change it describes."""
    return AuditEvent.objects.create(actor=user_or_none(actor), action=action, target=target, details=details)


# --- errors -----------------------------------------------------------------------------


def register_retry_handler(category: str, handler: RetryHandler) -> None:
    """The app that raises errors of ``category`` says how to retry them."""
    _retry_handlers[category] = handler


@transaction.atomic
def record_error(
    *, artifact: str, message: str, integration_id: int | None = None, integration_name: str = "",
    category: str = "processing",
) -> ActivityError:
    """Record (or count again) the live error of one artifact. An ignored error stays ignored."""
    existing = (
        ActivityError.objects.select_for_update()
        .filter(integration_id=integration_id, artifact=artifact, status__in=LIVE_ERROR_STATES)
        .first()
    )
    if existing:
        new_status = existing.status
        if existing.status == ActivityError.Status.RETRYING:
            new_status = ActivityError.Status.OPEN
        ActivityError.objects.filter(pk=existing.pk).update(
            occurrences=F("occurrences") + 1, message=message, status=new_status, last_seen=timezone.now()
        )
        existing.refresh_from_db()
        return existing
    return ActivityError.objects.create(
        integration_id=integration_id, integration_name=integration_name, artifact=artifact,
        message=message, category=category,
    )


@transaction.atomic
def resolve_errors(*, artifact: str, integration_id: int | None) -> int:
    """The artifact went through: its live, non-ignored error is resolved."""
    return ActivityError.objects.filter(
        integration_id=integration_id, artifact=artifact,
        status__in=(ActivityError.Status.OPEN, ActivityError.Status.RETRYING),
    ).update(status=ActivityError.Status.RESOLVED, resolved_at=timezone.now())


def count_live_errors(integration_id: int, artifacts: list[str]) -> int:
    """How many of these artifacts have a live error in the integration."""
    return sum(ActivityError.objects.filter(integration_id=integration_id, artifact__in=artifacts[i:i + 500],
                                            status__in=LIVE_ERROR_STATES).count()
               for i in range(0, len(artifacts), 500))


@transaction.atomic
def move_errors(from_integration: int, to_integration: int, to_name: str, relabel: dict[str, str]) -> int:
    """Live errors follow their artifacts to another integration (routes moved), renamed as the
    target names them. A live error the target already has for an artifact is kept instead."""
    moved = 0
    olds = list(relabel)
    found = [a for i in range(0, len(olds), 500) for a in ActivityError.objects.filter(
        integration_id=from_integration, artifact__in=olds[i:i + 500], status__in=LIVE_ERROR_STATES,
    ).values_list("artifact", flat=True)]
    for old in found:  # usually none: only artifacts with a live error cost a query
        new = relabel[old]
        if ActivityError.objects.filter(integration_id=to_integration, artifact=new,
                                        status__in=LIVE_ERROR_STATES).exists():
            continue
        moved += ActivityError.objects.filter(
            integration_id=from_integration, artifact=old, status__in=LIVE_ERROR_STATES,
        ).update(integration_id=to_integration, integration_name=to_name, artifact=new)
    return moved


def _live_error(error_id: int) -> ActivityError:
    try:
        return ActivityError.objects.select_for_update().get(pk=error_id)
    except ActivityError.DoesNotExist:
        raise ValidationError(f"Activity error {error_id} does not exist.") from None


def retry_error(error_id: int, actor: Actor = None) -> ActivityError:
    with transaction.atomic():
        error = _live_error(error_id)
        if error.status == ActivityError.Status.RESOLVED:
            raise ValidationError("This error is already resolved; there is nothing to retry.")
        handler = _retry_handlers.get(error.category)
        if handler is None:
            raise ValidationError(f"Errors of category '{error.category}' cannot be retried.")
        error.status = ActivityError.Status.RETRYING
        error.save(update_fields=["status"])
        record_audit(actor, "activity.error.retry", f"error:{error.pk}", artifact=error.artifact)
        transaction.on_commit(lambda: handler(error))
    return error


def ignore_error(error_id: int, actor: Actor = None) -> ActivityError:
    with transaction.atomic():
        error = _live_error(error_id)
        if error.status == ActivityError.Status.RESOLVED:
            raise ValidationError("This error is already resolved; there is nothing to ignore.")
        error.status = ActivityError.Status.IGNORED
        error.ignored_by = user_or_none(actor)
        error.save(update_fields=["status", "ignored_by"])
        record_audit(actor, "activity.error.ignore", f"error:{error.pk}", artifact=error.artifact)
    return error


def unignore_error(error_id: int, actor: Actor = None) -> ActivityError:
    with transaction.atomic():
        error = _live_error(error_id)
        if error.status != ActivityError.Status.IGNORED:
            raise ValidationError("Only an ignored error can be un-ignored.")
        error.status = ActivityError.Status.OPEN
        error.ignored_by = None
        error.save(update_fields=["status", "ignored_by"])
        record_audit(actor, "activity.error.unignore", f"error:{error.pk}", artifact=error.artifact)
    return error


BULK_ACTIONS = {"retry": (retry_error, "Retry requested for"), "ignore": (ignore_error, "Ignored"),
                "unignore": (unignore_error, "Re-opened")}
BULK_MAX = 500


def bulk_error_action(action: str, error_ids: list[int], actor: Actor = None) -> tuple[int, list[str]]:
    """Retry, ignore or un-ignore several errors (the Activity screen's bulk actions).

    Each error goes through its own service call (its own transaction and audit row), so one
    refused error — already resolved, a category that cannot be retried — does not undo the
    others. Returns how many were done and one message per refused error.
    """
    if action not in BULK_ACTIONS:
        raise ValidationError(f"Unknown action '{action}'; one of: {', '.join(BULK_ACTIONS)}.")
    if not error_ids:
        raise ValidationError("Select at least one error.")
    if len(error_ids) > BULK_MAX:
        raise ValidationError(f"At most {BULK_MAX} errors at once; narrow the list with its filters.")
    func = BULK_ACTIONS[action][0]
    done, refused = 0, []
    for error_id in error_ids:
        try:
            func(error_id, actor)
            done += 1
        except ValidationError as exc:
            refused.append(f"Error {error_id}: {'; '.join(exc.messages)}")
    return done, refused


# --- issues -----------------------------------------------------------------------------


@transaction.atomic
def raise_issue(
    key: str, title: str, message: str = "", severity: str = ActivityIssue.Severity.ERROR
) -> ActivityIssue:
    """Raise the issue ``key`` unless it is already open (then refresh its text)."""
    issue = ActivityIssue.objects.select_for_update().filter(key=key, status=ActivityIssue.Status.OPEN).first()
    if issue:
        if (issue.title, issue.message, issue.severity) != (title, message, severity):
            issue.title, issue.message, issue.severity = title, message, severity
            issue.save(update_fields=["title", "message", "severity", "last_seen"])
        return issue
    log.warning("Issue raised: %s", title)
    return ActivityIssue.objects.create(key=key, title=title, message=message, severity=severity)


@transaction.atomic
def resolve_issue(key: str) -> bool:
    """The condition ``key`` cleared. Returns whether an open issue was resolved."""
    count = ActivityIssue.objects.filter(key=key, status=ActivityIssue.Status.OPEN).update(
        status=ActivityIssue.Status.RESOLVED, resolved_at=timezone.now()
    )
    if count:
        log.info("Issue resolved: %s", key)
    return bool(count)


def open_issue(key: str) -> ActivityIssue | None:
    return ActivityIssue.objects.filter(key=key, status=ActivityIssue.Status.OPEN).first()


def sync_condition_issues(keys: list[str] | None = None) -> tuple[dict[str, str | None], list[str]]:
    """Raise the Activity issue of each condition that stops processing, resolve the others.

    Runs periodically (declared in notifications/apps.py) even when no integration runs, so an
    expired license or a missing master password shows on the Activity screen, and a renewed
    one clears it, without waiting for the engine. Returns each condition's reason and what changed.
    ``keys`` limits it to those conditions (an app that just changed one need not wait for the next run).
    """
    from tasktop_hub import conditions

    reasons: dict[str, str | None] = {}
    changes: list[str] = []
    for condition in conditions.all_conditions():
        if keys is not None and condition.key not in keys:
            continue
        reason = condition.reason()
        reasons[condition.key] = reason
        with transaction.atomic():
            if reason:
                message = condition.issue_message(reason) if condition.issue_message else reason
                if open_issue(condition.issue_key) is None:
                    changes.append(f"Raised: {condition.issue_title}")
                raise_issue(condition.issue_key, condition.issue_title, message)
            elif resolve_issue(condition.issue_key):
                changes.append(f"Resolved: {condition.issue_title}")
    return reasons, changes
