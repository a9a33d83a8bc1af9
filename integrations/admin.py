from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from integrations import services
from integrations.connectors import registry
from integrations.models import GATEWAY_KIND, ArtifactPair, Collection, GatewayDelivery, Integration, RepositoryConnection, Route
from settings_app.security.secret_inputs import SecretInputsAdminMixin, SecretInputsFormMixin
from tasktop_hub.admin_paging import LargeTableAdminMixin


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through integrations.services so the admin is validated and audited."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        services.save(obj, request.user, {name: True for name in form.changed_data} if change else None)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.delete(obj, request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            services.delete(obj, request.user)


class ConnectionForm(SecretInputsFormMixin, forms.ModelForm):
    """Secrets are write-only inputs (settings_app/security/secret_inputs.py): never shown, empty = unchanged."""

    kind = forms.ChoiceField(choices=())

    class Meta:
        model = RepositoryConnection
        fields = ["name", "kind", "url", "options", "successor_of", "change_detection_interval", "full_scan_enabled",
                  "full_scan_interval"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)  # declared above
        kind.choices = registry.choices()

    def secret_parameters(self, kind: str | None) -> list[Any]:
        kinds = [kind] if kind else [k for k, _ in registry.choices()]
        params: list[Any] = []
        for name in kinds:
            try:
                params.extend(registry.get(name).secret_parameters())
            except KeyError:
                continue
        return params


@admin.register(RepositoryConnection)
class ConnectionAdmin(SecretInputsAdminMixin, ServiceAdmin):
    form = ConnectionForm
    list_display = ["name", "kind", "url", "secrets_set", "status", "status_checked_at"]

    @admin.display(description="Secrets set")
    def secrets_set(self, obj: RepositoryConnection) -> str:
        return ", ".join(obj.secret_names) or "—"

    list_filter = ["kind", "status"]
    search_fields = ["name", "url"]
    readonly_fields = ["status", "status_message", "status_checked_at"]
    actions = ["test_connection"]

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet) -> None:
        for connection in queryset:
            result = services.test_connection(connection, request.user)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"Connection '{connection.name}': {result.message}", level)


class GatewayFilter(admin.SimpleListFilter):
    title = "gateway"
    parameter_name = "gateway"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Gateway collections"), ("no", "Tool collections")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(connection__kind=GATEWAY_KIND)
        if self.value() == "no":
            return queryset.exclude(connection__kind=GATEWAY_KIND)
        return queryset


@admin.register(Collection)
class CollectionAdmin(ServiceAdmin):
    list_display = ["name", "connection", "projects"]
    list_filter = [GatewayFilter, "connection"]
    readonly_fields = ["gateway"]
    change_form_template = "admin/integrations/collection_change_form.html"

    @admin.display(description="Gateway")
    def gateway(self, obj: Collection) -> str:
        if obj.pk is None or not obj.is_gateway:
            return "Not a gateway collection (a gateway collection is on a connection of kind 'gateway')."
        token = (f"token generated {obj.gateway_token_set_at:%Y-%m-%d %H:%M} UTC" if obj.gateway_token_set_at
                 else "no token yet: regenerate one")
        return f"POST /api/v1/gateway/{obj.pk}/ — {token}."

    def get_urls(self) -> list[Any]:
        extra = [path("<int:pk>/gateway-token/", self.admin_site.admin_view(self.gateway_token_view),
                      name="integrations_collection_gateway_token")]
        return extra + super().get_urls()

    def gateway_token_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST: a new gateway token, shown on this page only (never stored, never in a message:
        messages travel in a cookie)."""
        from integrations.gateway import services as gateway

        collection = get_object_or_404(Collection.objects.select_related("connection"), pk=pk)
        if not self.has_change_permission(request, collection):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:integrations_collection_change", pk)
        try:
            token = gateway.regenerate_token(collection, request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return redirect("admin:integrations_collection_change", pk)
        return self._show_token(request, collection, token)

    def _show_token(self, request: HttpRequest, collection: Collection, token: str) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": f"Gateway token of '{collection.name}'",
                   "collection": collection, "token": token, "url": request.build_absolute_uri(
                       f"/api/v1/gateway/{collection.pk}/"), "opts": self.model._meta}
        response = TemplateResponse(request, "admin/integrations/gateway_token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def response_add(self, request: HttpRequest, obj: Collection, post_url_continue: str | None = None) -> HttpResponse:
        if obj.is_gateway:  # a new gateway collection: its first token, shown now
            from integrations.gateway import services as gateway

            return self._show_token(request, obj, gateway.regenerate_token(obj, request.user))
        return super().response_add(request, obj, post_url_continue)


@admin.register(GatewayDelivery)
class GatewayDeliveryAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    """What was POSTed to gateway collections and what became of it (read only: deliveries change
    only through the gateway and the worker)."""

    list_display = ["id", "collection", "status", "idempotency_key", "received_at", "artifact_id"]
    list_filter = ["status", "collection"]
    search_fields = ["idempotency_key", "artifact_id"]
    ordering = ["-id"]
    list_select_related = ["collection"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
