"""Global settings: read, change (validated, audited), and the effective value per integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from notifications.services import Actor, record_audit, user_or_none
from settings_app import runtime
from settings_app.models import HubSettings

if TYPE_CHECKING:
    from integrations.models import Integration

EDITABLE_FIELDS = runtime.NAMES


def get_settings() -> HubSettings:
    obj, _ = HubSettings.objects.get_or_create(pk=HubSettings.SINGLETON_PK)
    return obj


def update_settings(actor: Actor, **changes: Any) -> HubSettings:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({name: f"Unknown setting. Settings are: {', '.join(EDITABLE_FIELDS)}." for name in unknown})
    with transaction.atomic():
        current = get_settings()
        obj = HubSettings.objects.select_for_update().get(pk=current.pk)
        before = {name: getattr(obj, name) for name in changes}
        for name, value in changes.items():
            setattr(obj, name, value)
        obj.full_clean()
        if getattr(actor, "is_authenticated", False):
            obj.updated_by = user_or_none(actor)
        obj.save()
        diff = {k: [before[k], v] for k, v in changes.items() if before[k] != v}
        if diff:
            record_audit(actor, "settings.update", "global settings", changes=diff)
    return obj


@dataclass(frozen=True)
class EffectiveSettings:
    """What governs one integration, and where each value comes from."""

    change_detection_interval: int
    change_detection_source: str
    full_scan_interval: int | None  # None: full scans are off
    full_scan_source: str
    max_concurrency: int


def effective_settings(integration: Integration, hub: HubSettings | None = None) -> EffectiveSettings:
    """Integration override > connection override > global.

    An integration joins two connections; when both override a value the smaller interval
    wins, so neither tool is polled less often than its connection asks for.
    """
    hub = hub or get_settings()
    connections = [integration.left_collection.connection, integration.right_collection.connection]

    if integration.change_detection_interval is not None:
        cd, cd_source = integration.change_detection_interval, "integration"
    else:
        overrides = [c.change_detection_interval for c in connections if c.change_detection_interval is not None]
        cd, cd_source = (min(overrides), "connection") if overrides else (hub.change_detection_interval, "global")

    enabled, interval, fs_source = _full_scan(integration, connections, hub)
    return EffectiveSettings(
        change_detection_interval=cd,
        change_detection_source=cd_source,
        full_scan_interval=interval if enabled else None,
        full_scan_source=fs_source,
        max_concurrency=hub.max_concurrency,
    )


def _full_scan(integration: Integration, connections: list, hub: HubSettings) -> tuple[bool, int, str]:
    for level, objs in (("integration", [integration]), ("connection", connections)):
        enabled_values = [o.full_scan_enabled for o in objs if o.full_scan_enabled is not None]
        intervals = [o.full_scan_interval for o in objs if o.full_scan_interval is not None]
        if enabled_values or intervals:
            # Any override at this level that turns scans on (or sets an interval) enables them.
            enabled = any(enabled_values) if enabled_values else hub.full_scan_enabled
            if intervals and not enabled_values:
                enabled = True
            return enabled, min(intervals) if intervals else hub.full_scan_interval, level
    return hub.full_scan_enabled, hub.full_scan_interval, "global"
