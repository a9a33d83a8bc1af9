"""Every change to connections, collections, integrations, routes and pairs.

Each function validates with the model's rules, writes, and records an audit row in one
transaction, so the admin, the API, commands and tasks behave the same.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models, transaction

from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route
from notifications.services import Actor, record_audit

M = TypeVar("M", bound=models.Model)

_LABELS = {
    RepositoryConnection: "connection",
    Collection: "collection",
    Integration: "integration",
    Route: "route",
    ArtifactPair: "pair",
}


def save(instance: M, actor: Actor, changed: dict[str, Any] | None = None) -> M:
    """Validate and save a new or changed domain object, with its audit row."""
    label = _LABELS[type(instance)]
    creating = instance._state.adding
    with transaction.atomic():
        instance.full_clean()
        instance.save()
        details = {"changed": sorted(changed)} if changed else {}
        record_audit(actor, f"{label}.{'create' if creating else 'update'}", f"{label}:{instance.pk} {instance}", **details)
    return instance


def update(instance: M, actor: Actor, **changes: Any) -> M:
    with transaction.atomic():
        fresh = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
        for name, value in changes.items():
            setattr(fresh, name, value)
        return save(fresh, actor, changes)


def delete(instance: models.Model, actor: Actor) -> None:
    label = _LABELS[type(instance)]
    with transaction.atomic():
        description = f"{label}:{instance.pk} {instance}"
        instance.delete()
        record_audit(actor, f"{label}.delete", description)


def set_run_state(integration: Integration, state: str, actor: Actor) -> Integration:
    """Run or stop an integration. Stopping keeps its pairs and cursors."""
    if state not in Integration.RunState.values:
        from django.core.exceptions import ValidationError

        raise ValidationError({"run_state": f"Must be one of: {', '.join(Integration.RunState.values)}."})
    if state == Integration.RunState.RUNNING and integration.run_state != state:
        # Refuse to run a configuration the engine cannot follow, naming each problem. (A tool
        # that is down is not refused: that becomes the connection's Activity issue at run time.)
        from django.core.exceptions import ValidationError

        from integrations.engine.validation import config_problems

        problems = config_problems(integration, live=True)
        if problems:
            raise ValidationError({"run_state": problems})
    with transaction.atomic():
        fresh = Integration.objects.select_for_update().get(pk=integration.pk)
        if fresh.run_state != state:
            fresh.run_state = state
            fresh.save(update_fields=["run_state", "updated_at"])
            record_audit(actor, f"integration.{'run' if state == 'running' else 'stop'}", f"integration:{fresh.pk} {fresh}")
    return fresh
