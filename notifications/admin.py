from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications import jobs, services
from notifications.models import ActivityError, ActivityIssue, AuditEvent, BackgroundJob
from notifications.screen import integration_names
from tasktop_hub.admin_paging import LargeTableAdminMixin, indexed_values_filter


class ReadOnlyAdmin(admin.ModelAdmin):
    """Activity rows change only through services (retry, ignore, resolve) and leave only through the
    purge job; nobody edits or deletes them by hand in the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OnActivityScreen:
    """Errors, issues and background jobs have one home, the Activity screen (admin home → Activity),
    which links to these pages; listing them again on the admin home would be a second way in."""

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}


def _apply(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, action: str) -> None:
    try:
        done, refused = services.bulk_error_action(action, list(queryset.values_list("pk", flat=True)), request.user)
    except ValidationError as exc:
        modeladmin.message_user(request, "; ".join(exc.messages), messages.ERROR)
        return
    for message in refused:
        modeladmin.message_user(request, message, messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{services.BULK_ACTIONS[action][1]} {done} error(s).")


class IntegrationFilter(admin.SimpleListFilter):
    title = "integration"
    parameter_name = "integration"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in integration_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(integration_id=int(value)) if value and value.isdigit() else queryset


@admin.register(ActivityError)
class ActivityErrorAdmin(OnActivityScreen, LargeTableAdminMixin, ReadOnlyAdmin):
    list_display = ["artifact", "integration_name", "message", "status", "occurrences", "first_seen", "last_seen"]
    # Each filter is a range of a composite index (models.py); the integration's choices come from
    # the integrations app, not from a DISTINCT over every error.
    list_filter = ["status", IntegrationFilter]
    search_fields = ["artifact", "message"]
    actions = ["retry", "ignore", "unignore"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Retry and ignore are actions, which need change permission (integrators and
        # administrators have it, viewers do not); the form itself has no editable fields.
        return request.user.has_perm("notifications.change_activityerror")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Retry selected errors", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(self, request, queryset, "retry")

    @admin.action(description="Ignore selected errors", permissions=["change"])
    def ignore(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(self, request, queryset, "ignore")

    @admin.action(description="Stop ignoring selected errors", permissions=["change"])
    def unignore(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(self, request, queryset, "unignore")


@admin.register(ActivityIssue)
class ActivityIssueAdmin(OnActivityScreen, ReadOnlyAdmin):
    list_display = ["title", "severity", "status", "raised_at", "resolved_at"]
    list_filter = ["status", "severity"]


@admin.register(BackgroundJob)
class BackgroundJobAdmin(OnActivityScreen, LargeTableAdminMixin, ReadOnlyAdmin):
    list_display = ["title", "status", "progress_done", "progress_total", "started_at", "finished_at"]
    list_filter = ["status", indexed_values_filter("kind", "kind")]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["parameters" if name == "params" else name for name in super().get_fields(request, obj)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["parameters"]

    @admin.display(description="params")
    def parameters(self, obj: BackgroundJob) -> str:
        return json.dumps(jobs.shown_params(obj.kind, obj.params), indent=2, sort_keys=True)


@admin.register(AuditEvent)
class AuditEventAdmin(LargeTableAdminMixin, ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "target"]
    list_select_related = ["actor"]
    list_filter = [indexed_values_filter("action", "action")]
    search_fields = ["target", "action"]
