"""django-q2 entry points of the settings app (thin: the work is in the sub-packages)."""

from __future__ import annotations

from django.utils import timezone


def email_digest() -> str:
    """Periodic (every minute; the digest waits for its own frequency). A send, or a failed one,
    shows on the Activity screen as a finished job."""
    from notifications.jobs import record_periodic_run
    from settings_app.email import digest

    started = timezone.now()
    outcome = digest.run()
    if outcome == "sent" or outcome.startswith("failed"):
        record_periodic_run("periodic.email_digest", "Email notification digest", started, [outcome],
                            {"outcome": outcome})
    return outcome
