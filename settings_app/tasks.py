"""django-q2 entry points of the settings app (thin: the work is in the sub-packages)."""

from __future__ import annotations


def email_digest() -> str:
    from settings_app.email import digest

    return digest.run()
