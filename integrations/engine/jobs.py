"""Background jobs (Activity → background jobs): full scan of existing pairs, and initiate
synchronization of chosen projects. Both only *record pending work*; the integration's next
run (requested at once) processes it, under the same lease and concurrency limit as always."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.exceptions import ValidationError

from integrations.connectors.base import ConnectorError
from integrations.engine import context, detection
from integrations.engine.models import SyncState
from integrations.models import ArtifactPair, Integration
from notifications.jobs import Job, register
from tasktop_hub import roles

SCAN_KIND = "engine.full_scan"
INITIATE_KIND = "engine.initiate_sync"


def _integration(params: dict[str, Any]) -> Integration:
    try:
        return Integration.objects.get(pk=int(params["integration_id"]))
    except (KeyError, TypeError, ValueError, Integration.DoesNotExist):
        raise ValidationError({"integration_id": "Give the id of an existing integration."}) from None


@register
class FullScanJob(Job):
    kind = SCAN_KIND
    started_by = roles.INTEGRATORS  # an engine action on an integration, like Run
    title = "Full scan of an integration's artifact pairs"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"integration_id": _integration(params).pk}

    def run(self, integration_id: int, factory: Any = None) -> dict[str, Any]:
        integration = Integration.objects.select_related(
            "left_collection__connection", "right_collection__connection").get(pk=integration_id)
        ctx = context.load(integration, factory)
        try:
            return full_scan(ctx, self)
        finally:
            ctx.close()


def full_scan(ctx: context.RunContext, job: Job | None = None) -> dict[str, Any]:
    """Re-read both sides of every pair in batches of the tools' page size; a side whose version
    differs from the stored one becomes pending work. Remote calls: ⌈pairs ÷ page size⌉ per side."""
    size = min(ctx.sides[s].connector.page_size for s in ("left", "right"))
    qs = ArtifactPair.objects.filter(integration=ctx.integration).order_by("pk")
    total = qs.count()
    done = changed = calls = 0
    last_pk = 0
    while True:
        batch = list(qs.filter(pk__gt=last_pk).values_list("pk", "left_id", "right_id", "left_version",
                                                            "right_version")[:size])
        if not batch:
            break
        last_pk = batch[-1][0]
        for side, id_index, version_index in (("left", 1, 3), ("right", 2, 4)):
            connector = ctx.sides[side].connector
            ids = [str(r[id_index]) for r in batch]
            arts = {a.id: a for a in context.with_retries(partial(connector.read, ids))}
            calls += 1
            stale = [(i, arts[i].project) for i, r in zip(ids, batch, strict=True)
                     if i in arts and arts[i].change_version != r[version_index]]
            detection.record(ctx.integration.pk, side, stale)
            changed += len(stale)
        done += len(batch)
        if job is not None:
            job.progress(done, total)
    SyncState.objects.filter(integration=ctx.integration).update(run_now=changed > 0)
    if job is not None:
        job.log(f"Scanned {done} pair(s) with {calls} read call(s); {changed} changed side(s) queued.")
    return {"pairs": done, "changed": changed, "read_calls": calls}


@register
class InitiateSyncJob(Job):
    kind = INITIATE_KIND
    started_by = roles.INTEGRATORS
    title = "Initiate synchronization"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        integration = _integration(params)
        routed = {s: {getattr(r, f"{s}_project") for r in integration.routes.all()} for s in ("left", "right")}
        projects = params.get("projects") or {s: sorted(routed[s]) for s in routed}
        if not isinstance(projects, dict) or set(projects) - {"left", "right"}:
            raise ValidationError({"projects": 'Give {"left": [projects], "right": [projects]}.'})
        errors = [f"{s} project '{p}' is not routed in integration '{integration.name}'"
                  for s, ps in projects.items() for p in ps if p not in routed[s]]
        if errors:
            raise ValidationError({"projects": "; ".join(errors) + "."})
        return {"integration_id": integration.pk, "projects": {s: list(ps) for s, ps in projects.items()}}

    def run(self, integration_id: int, projects: dict[str, list[str]], factory: Any = None) -> dict[str, Any]:
        integration = Integration.objects.select_related(
            "left_collection__connection", "right_collection__connection").get(pk=integration_id)
        ctx = context.load(integration, factory)
        total = sum(len(v) for v in projects.values())
        recorded = done = 0
        try:
            for side, names in projects.items():
                for project in names:
                    recorded += scan_project(ctx, side, project)
                    done += 1
                    self.progress(done, total, force=True)
                    self.log(f"{side} project {project}: scanned.")
        except ConnectorError as exc:
            raise RuntimeError(f"The tool failed while scanning: {exc}") from None
        finally:
            ctx.close()
        SyncState.objects.filter(integration_id=integration_id).update(run_now=True)
        return {"queued": recorded}


def scan_project(ctx: context.RunContext, side: str, project: str) -> int:
    """Every artifact of one project becomes pending work (the cursor is not touched)."""
    connector = ctx.sides[side].connector
    after, recorded = None, 0
    while True:
        page = context.with_retries(partial(connector.changes_after, project, None, after, detection.PAGE_LIMIT))
        detection.record(ctx.integration.pk, side, [(a.id, a.project) for a in page.artifacts])
        recorded += len(page.artifacts)
        if page.artifacts:
            after = (page.artifacts[-1].updated_at, page.artifacts[-1].id)
        if page.done:
            return recorded
