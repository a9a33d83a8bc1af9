"""The "Extensions" panel of the Settings screen."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse

from extensions.models import Extension
from tasktop_hub.panels import Panel, register_panel


@register_panel("extensions")
def extensions_panel(request: HttpRequest) -> Panel:
    counts = dict(Extension.objects.values_list("type").annotate(n=Count("id")).values_list("type", "n"))
    rows = [(label, str(counts.get(value, 0))) for value, label in Extension.Type.choices]
    return Panel("extensions", "Extensions", rows=rows,
                 links=[("Manage Extensions", reverse("admin:extensions_extension_changelist")),
                        ("Add an extension", reverse("admin:extensions_extension_add")),
                        # Where a payload transformation is chosen (the integrations app's admin, by URL name).
                        ("Gateway collections", reverse("admin:integrations_collection_changelist") + "?gateway=yes")],
                 actions=[("Install the examples", reverse("admin:extensions_install_examples"))],
                 note="Sandboxed JavaScript: custom data transformations per field, payload transformation "
                      "for gateway collections, person reconciliation and state transitions. See docs/extensions.md.")
