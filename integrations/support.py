"""Integrations' part of the support and usage report (registered from integrations/apps.py):
usage counts, and the connectors' redactor for every secret the hub stores."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.connectors.http.redaction import MASK, MIN_SECRET, redact_patterns, secret_forms
from integrations.engine.models import PendingWork
from integrations.models import ArtifactPair, Integration, RepositoryConnection, Route

DAYS = 30


def usage() -> dict[str, Any]:
    since = timezone.now() - timedelta(days=DAYS)
    per_day = (ArtifactPair.objects.filter(updated_at__gte=since).annotate(day=TruncDate("updated_at"))
               .values_list("day").annotate(n=Count("pk")).order_by("day"))
    return {
        "connections_by_kind": dict(RepositoryConnection.objects.values_list("kind").annotate(n=Count("pk")).order_by()),
        "integrations_by_state": dict(Integration.objects.values_list("run_state").annotate(n=Count("pk")).order_by()),
        "routes": Route.objects.count(),
        "artifact_pairs": ArtifactPair.objects.count(),
        "pending_work": dict(PendingWork.objects.values_list("status").annotate(n=Count("pk")).order_by()),
        f"artifacts_synced_per_day_last_{DAYS}_days": {str(day): n for day, n in per_day},
    }


def report_redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """Every spelling of every secret (:func:`secret_forms`: raw, URL-, JSON-, HTML-escaped,
    base64 anywhere inside base64 text) and the credential patterns, in one pass.

    The full :class:`~integrations.connectors.http.redaction.Redactor` also decodes every base64-looking
    token against every secret, which costs minutes on megabytes of logs with many secrets; the
    logs were already filtered when written, so the report's second pass uses the linear form.
    """
    forms = sorted({f for s in secrets if len(s) >= MIN_SECRET for f in secret_forms(s)}, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    def redact(text: str) -> str:
        return redact_patterns(pattern.sub(MASK, text) if pattern is not None else text)

    return redact


def register() -> None:
    from tasktop_hub import support

    support.register_section("usage_integrations", usage)
    support.register_redactor(report_redactor)
