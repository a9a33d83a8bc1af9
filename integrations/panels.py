"""The "Move Routes" and "Import Artifact Pair Information" panels of the Settings screen."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from integrations.jobs import IMPORT_KIND
from integrations.models import ArtifactPair, Route, RouteMove
from notifications.models import BackgroundJob
from tasktop_hub.panels import Panel, register_panel


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"  # type: ignore[attr-defined]


@register_panel("move_routes")
def move_routes_panel(request: HttpRequest) -> Panel:
    last = RouteMove.objects.select_related("source", "target").first()
    unfinished = RouteMove.objects.filter(status=RouteMove.Status.MOVING).select_related("source", "target").first()
    rows = [("Routes", str(Route.objects.count())),
            ("Moves made", str(RouteMove.objects.filter(status=RouteMove.Status.DONE).count()))]
    if last is not None:
        moved = last.counts.get("moved", {})
        rows.append(("Last move", f"{last.source.name} → {last.target.name}: {last.get_status_display()} "
                                  f"({moved.get('pairs', 0)} pair(s)), started {_when(last.started_at)}"))
    warning = ""
    if unfinished is not None:
        warning = (f"The move from '{unfinished.source.name}' to '{unfinished.target.name}' is unfinished: "
                   "neither integration runs until it is moved again (same source, target and routes).")
    return Panel("move_routes", "Move Routes Between Integrations", rows=rows, warning=warning,
                 links=[("Move Routes", reverse("hub-move-routes"))],
                 note="Moves routes with their artifact pairs, pending work and open errors, so that no artifact "
                      "is created twice. Stopping both integrations first is recommended.")


@register_panel("import_pairs")
def import_pairs_panel(request: HttpRequest) -> Panel:
    last = BackgroundJob.objects.filter(kind=IMPORT_KIND).order_by("-created_at").first()
    rows = [("Artifact pairs", str(ArtifactPair.objects.count())),
            ("Waiting for their base", str(ArtifactPair.objects.filter(establish_base=True).count()))]
    if last is not None:
        rows.append(("Last import", f"{last.get_status_display()} at {_when(last.finished_at or last.created_at)}"
                                    + (f": {last.result}" if last.result else "")))
    return Panel("import_pairs", "Import Artifact Pair Information", rows=rows,
                 links=[("Import Pairs", reverse("hub-import-pairs")),
                        ("Export Pairs (CSV)", reverse("pairs-transfer-export") + "?file_format=csv")],
                 note="Pairs made elsewhere (another hub, another sync product, a spreadsheet) so that switching "
                      "creates no duplicates; imported pairs write nothing until one side changes.")
