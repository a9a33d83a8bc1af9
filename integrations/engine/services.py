"""Engine actions (admin, API, commands): run now, process all artifacts, initiate
synchronization, full scan, and retrying an Activity error. Each is validated and audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.engine import gateway
from integrations.engine.jobs import INITIATE_KIND, SCAN_KIND
from integrations.engine.models import PendingWork, SyncState
from integrations.engine.validation import config_problems
from integrations.models import ArtifactPair, Integration
from notifications import jobs
from notifications.models import ActivityError, BackgroundJob
from notifications.services import Actor, record_audit, register_retry_handler


def _state(integration: Integration) -> SyncState:
    return SyncState.objects.get_or_create(integration=integration)[0]


def check_configuration(integration: Integration) -> None:
    """Raise ValidationError naming every configuration problem (asks the tools)."""
    problems = config_problems(integration, live=True)
    if problems:
        raise ValidationError(problems)


def run_now(integration: Integration, actor: Actor) -> None:
    with transaction.atomic():
        SyncState.objects.filter(pk=_state(integration).pk).update(run_now=True)
        record_audit(actor, "integration.run_now", f"integration:{integration.pk} {integration}")


def process_all(integration: Integration, actor: Actor) -> None:
    """The next change detection treats every artifact in routed projects as changed."""
    if not integration.routes.exists():
        raise ValidationError(f"Integration '{integration.name}' has no routes: nothing would be processed.")
    with transaction.atomic():
        SyncState.objects.filter(pk=_state(integration).pk).update(process_all_requested=True, run_now=True)
        record_audit(actor, "integration.process_all", f"integration:{integration.pk} {integration}")


def initiate_sync(integration: Integration, actor: Actor, projects: dict[str, list[str]] | None = None) -> BackgroundJob:
    """Scan the chosen (default: all routed) projects now, as a background job."""
    _state(integration)
    return jobs.enqueue(INITIATE_KIND, {"integration_id": integration.pk, "projects": projects or {}}, actor)


def full_scan(integration: Integration, actor: Actor) -> BackgroundJob:
    _state(integration)
    return jobs.enqueue(SCAN_KIND, {"integration_id": integration.pk}, actor)


def _retry(error: ActivityError) -> None:
    """Activity 'retry': the artifact's blocked work becomes ready and runs at the next pass."""
    if error.integration_id is None:
        return  # every sync error names its integration; nothing of an unknown one can be retried
    artifact_id = _artifact_id(error)
    if gateway.retry_delivery(error.integration_id, artifact_id):
        return  # a gateway delivery that failed before it became work: taken again at the next pass
    ids = {artifact_id}
    pair = ArtifactPair.objects.filter(integration_id=error.integration_id, left_id=artifact_id).first()
    if pair is not None:
        ids |= {pair.left_id, pair.right_id}
    updated = PendingWork.objects.filter(
        integration_id=error.integration_id, artifact_id__in=ids, status=PendingWork.Status.BLOCKED,
    ).update(status=PendingWork.Status.READY, attempts=0, not_before=None)
    SyncState.objects.filter(integration_id=error.integration_id).update(run_now=True)
    if not updated:
        # Nothing blocked any more (e.g. the row was re-detected): the next run will decide.
        return


def _artifact_id(error: ActivityError) -> str:
    """The id in an Activity label "<connection name>:<artifact id>" (processing.unit_label): the
    connection names are known, so an id with a colon in it (a gateway's "delivery:17") stays whole."""
    integration = Integration.objects.filter(pk=error.integration_id or 0).select_related(
        "left_collection__connection", "right_collection__connection").first()
    if integration is not None:
        for c in (integration.left_collection, integration.right_collection):
            prefix = f"{c.connection.name}:"
            if error.artifact.startswith(prefix):
                return error.artifact[len(prefix):]
    return error.artifact.rpartition(":")[2]


register_retry_handler("sync", _retry)
