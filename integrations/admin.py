"""The integrations' admin: connections (admin_connections.py), collections, integrations, routes, pairs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import admin_connections, services
from integrations.admin_base import ServiceAdmin
from integrations.models import ArtifactPair, Collection, Integration, Route
from tasktop_hub.admin_paging import LargeTableAdminMixin

__all__ = ["admin_connections"]  # imported so it registers the connections' admin


@admin.register(Collection)
class CollectionAdmin(ServiceAdmin):
    list_display = ["name", "connection", "projects"]
    list_filter = ["connection"]


class RouteInline(admin.TabularInline):
    model = Route
    extra = 0


@admin.register(Integration)
class IntegrationAdmin(ServiceAdmin):
    list_display = ["name", "template", "left_collection", "right_collection", "run_state"]
    list_filter = ["run_state", "template"]
    readonly_fields = ["run_state"]
    inlines = [RouteInline]
    actions = ["run_integrations", "stop_integrations", "process_all_artifacts", "initiate_synchronization",
               "full_scan"]

    @admin.action(description="Process all artifacts (next change detection)", permissions=["change"])
    def process_all_artifacts(self, request: HttpRequest, queryset: QuerySet) -> None:
        from integrations.engine import services as engine

        for integration in queryset:
            engine.process_all(integration, request.user)
        self.message_user(request, f"{queryset.count()} integration(s) will process all artifacts at their next run.")

    @admin.action(description="Initiate synchronization (scan routed projects now)", permissions=["change"])
    def initiate_synchronization(self, request: HttpRequest, queryset: QuerySet) -> None:
        from integrations.engine import services as engine

        for integration in queryset:
            engine.initiate_sync(integration, request.user)
        self.message_user(request, "Synchronization started: see Activity → background jobs.")

    @admin.action(description="Full scan of existing pairs now", permissions=["change"])
    def full_scan(self, request: HttpRequest, queryset: QuerySet) -> None:
        from integrations.engine import services as engine

        for integration in queryset:
            engine.full_scan(integration, request.user)
        self.message_user(request, "Full scan started: see Activity → background jobs.")

    @admin.action(description="Run selected integrations", permissions=["change"])
    def run_integrations(self, request: HttpRequest, queryset: QuerySet) -> None:
        for integration in queryset:
            services.set_run_state(integration, Integration.RunState.RUNNING, request.user)
        self.message_user(request, f"{queryset.count()} integration(s) running.")

    @admin.action(description="Stop selected integrations", permissions=["change"])
    def stop_integrations(self, request: HttpRequest, queryset: QuerySet) -> None:
        for integration in queryset:
            services.set_run_state(integration, Integration.RunState.STOPPED, request.user)
        self.message_user(request, f"{queryset.count()} integration(s) stopped.")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.delete(obj, request.user)
        for obj in instances:
            services.save(obj, request.user)


class IntegrationFixedAdmin(ServiceAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # An existing route (or pair) changes integration only through Settings → Move Routes,
        # which carries its pairs, pending work and errors along (integrations/moves.py).
        return [*super().get_readonly_fields(request, obj), *(["integration"] if obj is not None else [])]


@admin.register(Route)
class RouteAdmin(IntegrationFixedAdmin):
    list_display = ["integration", "left_project", "right_project"]
    list_filter = ["integration"]


@admin.register(ArtifactPair)
class ArtifactPairAdmin(LargeTableAdminMixin, IntegrationFixedAdmin):
    list_display = ["integration", "left_id", "right_id", "updated_at"]
    # By the column, not the model's ordering ("integration" sorts by the integration's name: a
    # join and a sort of every row); (integration_id, left_id) is the unique index, read in order.
    ordering = ["integration_id", "left_id"]
    list_select_related = ["integration"]
    list_filter = ["integration"]
    search_fields = ["left_id", "right_id"]
