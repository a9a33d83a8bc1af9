"""The digest: one email with what is new on the Activity screen since the last one delivered.

Runs as a periodic task (declared in ``settings_app/apps.py``) every minute and acts when the
chosen frequency has passed since the last attempt. It counts errors first seen and issues
raised after ``covered_until`` (the end of the last delivered digest), leaving out errors that
are ignored by now; it sends only when there is something new. A failed send leaves
``covered_until`` where it was, so the next digest still covers everything, and raises one
Activity issue through the condition registry; the next success resolves it.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import ActivityError, ActivityIssue
from settings_app.email import services, transport
from settings_app.email.models import EmailSettings

log = logging.getLogger(__name__)
NEWEST = 10
MESSAGE_CHARS = 200


@dataclass
class Digest:
    errors: int
    issues: int
    newest_errors: list[tuple[str, str, str]]  # integration, artifact, message
    newest_issues: list[tuple[str, str]]  # title, message

    @property
    def empty(self) -> bool:
        return not (self.errors or self.issues)


def _short(text: str) -> str:
    """The first line only (never a stack trace), cut to a readable length."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


def collect(since: datetime | None, until: datetime) -> Digest:
    errors = ActivityError.objects.filter(first_seen__lte=until).exclude(status=ActivityError.Status.IGNORED)
    issues = ActivityIssue.objects.filter(raised_at__lte=until).exclude(key=services.ISSUE_KEY)
    if since is not None:
        errors, issues = errors.filter(first_seen__gt=since), issues.filter(raised_at__gt=since)
    return Digest(
        errors=errors.count(),
        issues=issues.count(),
        newest_errors=[(e.integration_name or "—", e.artifact, _short(e.message))
                       for e in errors.order_by("-first_seen")[:NEWEST]],
        newest_issues=[(i.title, _short(i.message)) for i in issues.order_by("-raised_at")[:NEWEST]],
    )


def links(obj: EmailSettings) -> dict[str, str]:
    base = obj.server_url.rstrip("/") + reverse("admin:hub-activity")
    return {"errors": f"{base}?tab=errors", "issues": f"{base}?tab=issues"}


def compose(obj: EmailSettings, digest: Digest, label: str = "") -> EmailMessage:
    urls = links(obj)
    prefix = " ".join(p for p in (obj.subject_prefix, f"[{label}]" if label else "") if p)
    message = EmailMessage()
    message["From"], message["To"] = obj.from_address, obj.to_address
    message["Subject"] = f"{prefix} {digest.errors} new error(s), {digest.issues} new issue(s)".strip()
    lines = [f"New errors: {digest.errors}", f"New issues: {digest.issues}", ""]
    if digest.newest_errors:
        lines += ["Newest errors:"] + [f"  - {i} | {a} | {m}" for i, a, m in digest.newest_errors] + [""]
    if digest.newest_issues:
        lines += ["Newest issues:"] + [f"  - {t}: {m}" for t, m in digest.newest_issues] + [""]
    lines += [f"Errors: {urls['errors']}", f"Issues: {urls['issues']}"]
    message.set_content("\n".join(lines) + "\n")
    e = html.escape
    rows = "".join(f"<tr><td>{e(i)}</td><td>{e(a)}</td><td>{e(m)}</td></tr>" for i, a, m in digest.newest_errors)
    items = "".join(f"<li><b>{e(t)}</b>: {e(m)}</li>" for t, m in digest.newest_issues)
    body = (f"<p>New errors: <b>{digest.errors}</b><br>New issues: <b>{digest.issues}</b></p>"
            + (f"<table><tr><th>Integration</th><th>Artifact</th><th>Message</th></tr>{rows}</table>" if rows else "")
            + (f"<ul>{items}</ul>" if items else "")
            + f'<p><a href="{e(urls["errors"])}">Errors</a> · <a href="{e(urls["issues"])}">Issues</a></p>')
    message.add_alternative(f"<html><body>{body}</body></html>", subtype="html")
    return message


def due(obj: EmailSettings, now: datetime) -> bool:
    if not obj.enabled:
        return False
    return obj.last_attempt_at is None or now - obj.last_attempt_at >= timedelta(minutes=obj.frequency_minutes) \
        - timedelta(seconds=30)  # the scheduler fires up to ~30 s late or early; do not skip a whole period


def run(force: bool = False) -> str:
    """One digest pass; returns what happened (off | not due | nothing new | sent | failed: …)."""
    obj = services.get()
    now = timezone.now()
    if obj is None or not obj.enabled:
        return "off"
    if not force and not due(obj, now):
        return "not due"
    digest = collect(obj.covered_until, now)
    if digest.empty:
        EmailSettings.objects.filter(pk=obj.pk).update(last_attempt_at=now)
        return "nothing new"
    from settings_app.services import get_settings

    try:
        transport.send(obj.server_config(), compose(obj, digest, get_settings().instance_label))
    except (transport.MailError, Exception) as exc:  # noqa: BLE001 — any failure becomes the Activity issue
        reason = str(exc) if isinstance(exc, transport.MailError) else f"{type(exc).__name__}: {exc}"
        with transaction.atomic():
            EmailSettings.objects.filter(pk=obj.pk).update(last_attempt_at=now, last_failure=reason,
                                                           last_failure_at=timezone.now())
        log.warning("Email notification failed: %s", reason)
        services._sync_issue()
        return f"failed: {reason}"
    with transaction.atomic():
        EmailSettings.objects.filter(pk=obj.pk).update(last_attempt_at=now, last_success_at=timezone.now(),
                                                       covered_until=now, last_failure="")
    log.info("Email notification sent to %s: %d error(s), %d issue(s)", obj.to_address, digest.errors, digest.issues)
    services._sync_issue()
    return "sent"
