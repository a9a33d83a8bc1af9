"""Integrations and routes in the admin: the two collections first, then a per-field table (the
fields both collections map: direction, frequency, conflict strategy) instead of the
``field_flow`` and ``conflict_overrides`` JSON, and routes whose projects are picked from each
side's collection. The stored shape, and so the API, is unchanged: a row at the defaults (both
ways, always, the integration's strategy) is simply not written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import services
from integrations.admin_base import ChosenInput, FirstStepAdminMixin, IntegrationFixedAdmin, ServiceAdmin
from integrations.admin_tables import Column, TableField
from integrations.models import Collection, Integration, Route

DEFAULT_DIRECTION, DEFAULT_FREQUENCY = "both", "always"
FLOW_HELP = ("One row per model field that both collections map. Direction: which way a change flows. Frequency: "
             "'always', or only when the twin is created (the create-only templates copy every field only then). "
             "Conflict: what wins when both sides changed the field since the last synchronization.")


class CollectionsStep(forms.Form):
    left_collection = forms.ModelChoiceField(queryset=Collection.objects.all(), label="Left collection")
    right_collection = forms.ModelChoiceField(
        queryset=Collection.objects.all(), label="Right collection",
        help_text="The next page lists the model fields both collections map, and their projects for the routes.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("left_collection") and data.get("left_collection") == data.get("right_collection"):
            self.add_error("right_collection", "The right collection must differ from the left one.")
        return data


def _direction_choices(left: Collection | None, right: Collection | None) -> list[tuple[str, str]]:
    a, b = (left.name if left else "left"), (right.name if right else "right")
    return [("both", "both ways"), ("left_to_right", f"{a} → {b} only"), ("right_to_left", f"{b} → {a} only"),
            ("none", "not synchronized")]


def flow_rows(integration: Integration, left: Collection | None, right: Collection | None) -> list[dict[str, str]]:
    """The table's rows: every field both collections map, then any other field the stored
    configuration names (kept visible: the configuration check reports it)."""
    left_map = left.field_mapping if left and isinstance(left.field_mapping, dict) else {}
    right_map = right.field_mapping if right and isinstance(right.field_mapping, dict) else {}
    flow = integration.field_flow if isinstance(integration.field_flow, dict) else {}
    overrides = integration.conflict_overrides if isinstance(integration.conflict_overrides, dict) else {}
    names = [f for f in left_map if f in right_map]
    names += [f for f in [*flow, *overrides] if f not in names]
    rows = []
    for name in dict.fromkeys(names):
        found = flow.get(name)
        spec: dict[str, Any] = found if isinstance(found, dict) else {}
        rows.append({"field": name, "direction": str(spec.get("direction", DEFAULT_DIRECTION)),
                     "frequency": str(spec.get("frequency", DEFAULT_FREQUENCY)),
                     "conflict": str(overrides.get(name, ""))})
    return rows


class IntegrationForm(forms.ModelForm):
    class Meta:
        model = Integration
        fields = ["name", "template", "left_collection", "right_collection", "conflict_strategy", "field_flow",
                  "change_detection_interval", "full_scan_enabled", "full_scan_interval"]

    sides: tuple[Collection | None, Collection | None] = (None, None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["field_flow"] = flow_rows(self.instance, *self.sides)

    def clean_field_flow(self) -> dict[str, dict[str, str]]:
        rows = self.cleaned_data.get("field_flow") or []
        flow: dict[str, dict[str, str]] = {}
        for r in rows:
            spec = {}
            if r.get("direction") and r["direction"] != DEFAULT_DIRECTION:
                spec["direction"] = r["direction"]
            if r.get("frequency") and r["frequency"] != DEFAULT_FREQUENCY:
                spec["frequency"] = r["frequency"]
            if spec:
                flow[r["field"]] = {"direction": r.get("direction") or DEFAULT_DIRECTION, **spec}
        # The conflict column is the model's conflict_overrides (set before the model validates).
        self.instance.conflict_overrides = {r["field"]: r["conflict"] for r in rows if r.get("conflict")}
        return flow

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict") and "conflict_overrides" in errors.error_dict:
            for message in ValidationError(errors.error_dict.pop("conflict_overrides")).messages:
                self.add_error("field_flow", f"Conflict: {message}")
        super()._update_errors(errors)  # type: ignore[misc]  # a private ModelForm hook django-stubs omits


def integration_form(left: Collection | None, right: Collection | None, change_url: str = "") \
        -> type[IntegrationForm]:
    strategies = dict(Integration.ConflictStrategy.choices)
    columns = [
        Column("field", "Model field", fixed=True),
        Column("direction", "Direction", choices=_direction_choices(left, right)),
        Column("frequency", "Frequency", choices=[("always", "always"), ("on_create", "only when created")]),
        Column("conflict", "Conflict", choices=[("", "the integration's strategy"), *strategies.items()]),
    ]
    attrs: dict[str, Any] = {
        "sides": (left, right), "__module__": __name__,
        "field_flow": TableField(columns, row_key="field", label="Field flow", help_text=FLOW_HELP,
                                 empty_text="The two collections map no model field in common: nothing can flow. "
                                            "Map a field under the same model field name in both collections."),
    }
    if change_url:  # the add form: the collections chosen on the first step
        labels = {str(c.pk): c.name for c in (left, right) if c is not None}
        for name in ("left_collection", "right_collection"):
            attrs[name] = forms.ModelChoiceField(queryset=Collection.objects.all(),
                                                 label=name.replace("_", " ").capitalize(),
                                                 widget=ChosenInput(labels, change_url))
    return type("IntegrationForm", (IntegrationForm,), attrs)


class ProjectChoice(forms.ChoiceField):
    """A select of the collection's projects whose wrong value the model refuses (Route.clean), so the
    admin says what the API says: which project is not in which collection, and its projects."""

    def valid_value(self, value: Any) -> bool:
        return True


class RouteForm(forms.ModelForm):
    sides: tuple[Collection | None, Collection | None] = (None, None)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        left, right = self.sides
        if left is not None and right is not None and not self.instance.integration_id:
            # A route added with its integration: the model cannot check it before the integration exists.
            probe = Route(left_project=data.get("left_project") or "", right_project=data.get("right_project") or "")
            for field, message in probe.project_errors(left, right).items():
                self.add_error(field, message)
        return data


def route_form(left: Collection | None, right: Collection | None, stored: list[Route] | None = None,
               chosen: Integration | None = None, change_url: str = "") -> type[forms.ModelForm]:
    """Route inputs as selects of each side's projects (plus any project a stored route still names)."""

    def choices(collection: Collection | None, side: str) -> list[tuple[str, str]]:
        projects = list(collection.projects) if collection and isinstance(collection.projects, list) else []
        kept = [getattr(r, f"{side}_project") for r in stored or []]
        extra = [(p, f"{p} (not in the collection)") for p in dict.fromkeys(kept) if p and p not in projects]
        return [("", "---------"), *((p, p) for p in projects), *extra]

    attrs: dict[str, Any] = {"__module__": __name__}
    if left is not None:
        attrs["left_project"] = ProjectChoice(choices=choices(left, "left"), label=f"Left project ({left.name})")
    if right is not None:
        attrs["right_project"] = ProjectChoice(choices=choices(right, "right"),
                                                   label=f"Right project ({right.name})")
    if chosen is not None and change_url:  # the add page: the integration chosen on the first step
        attrs["integration"] = forms.ModelChoiceField(queryset=Integration.objects.all(), label="Integration",
                                                      widget=ChosenInput({str(chosen.pk): chosen.name}, change_url))
    meta = type("Meta", (), {"model": Route, "fields": ["integration", "left_project", "right_project"]})
    attrs["Meta"] = meta
    attrs["sides"] = (left, right)
    return type("RouteForm", (RouteForm,), attrs)


class RouteInline(admin.TabularInline):
    model = Route
    extra = 1
    fields = ["left_project", "right_project"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        owner = self.admin_site._registry[Integration]
        assert isinstance(owner, IntegrationAdmin)  # registered below
        left, right = owner.sides(request, obj)
        kwargs["form"] = route_form(left, right, list(obj.routes.all()) if obj is not None else None)
        return super().get_formset(request, obj, **kwargs)


@admin.register(Integration)
class IntegrationAdmin(FirstStepAdminMixin, ServiceAdmin):
    list_display = ["name", "template", "left_collection", "right_collection", "run_state"]
    list_filter = ["run_state", "template"]
    inlines = [RouteInline]
    actions = ["run_integrations", "stop_integrations", "process_all_artifacts", "initiate_synchronization",
               "full_scan"]
    first_step_form = CollectionsStep
    first_step_intro = ("Choose the two collections first: the next page lists the fields they both map and "
                        "their projects.")

    def sides(self, request: HttpRequest, obj: Integration | None) -> tuple[Collection | None, Collection | None]:
        if obj is not None:
            return obj.left_collection, obj.right_collection
        answer = self.first_step_answer(request) or {}
        return answer.get("left_collection"), answer.get("right_collection")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Its pairs and routes are between these two collections: other collections are another integration.
        fixed = ["left_collection", "right_collection"] if obj is not None else []
        return [*super().get_readonly_fields(request, obj), "run_state", *fixed]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            (None, {"fields": ["name", "template", "left_collection", "right_collection", "run_state"]}),
            ("Fields", {"fields": ["conflict_strategy", "field_flow"]}),
            ("Polling overrides", {"classes": ["collapse"],
                                   "fields": ["change_detection_interval", "full_scan_enabled", "full_scan_interval"]}),
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        left, right = self.sides(request, obj)
        kwargs["form"] = integration_form(left, right, self.step_url(request) if obj is None else "")
        return super().get_form(request, obj, change, **kwargs)

    def _each(self, request: HttpRequest, queryset: QuerySet, act: Any) -> int:
        """Apply ``act`` to each integration; a refusal is reported in words, not as an error page."""
        done = 0
        for integration in queryset:
            try:
                act(integration)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"Integration '{integration.name}': {' '.join(exc.messages)}",
                                  messages.ERROR)
        return done

    @admin.action(description="Process all artifacts (next change detection)", permissions=["change"])
    def process_all_artifacts(self, request: HttpRequest, queryset: QuerySet) -> None:
        from integrations.engine import services as engine

        done = self._each(request, queryset, lambda i: engine.process_all(i, request.user))
        if done:
            self.message_user(request, f"{done} integration(s) will process all artifacts at their next run.")

    @admin.action(description="Initiate synchronization (scan routed projects now)", permissions=["change"])
    def initiate_synchronization(self, request: HttpRequest, queryset: QuerySet) -> None:
        from integrations.engine import services as engine

        if self._each(request, queryset, lambda i: engine.initiate_sync(i, request.user)):
            self.message_user(request, "Synchronization started: see Activity → background jobs.")

    @admin.action(description="Full scan of existing pairs now", permissions=["change"])
    def full_scan(self, request: HttpRequest, queryset: QuerySet) -> None:
        from integrations.engine import services as engine

        if self._each(request, queryset, lambda i: engine.full_scan(i, request.user)):
            self.message_user(request, "Full scan started: see Activity → background jobs.")

    @admin.action(description="Run selected integrations", permissions=["change"])
    def run_integrations(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = self._each(request, queryset,
                          lambda i: services.set_run_state(i, Integration.RunState.RUNNING, request.user))
        if done:
            self.message_user(request, f"{done} integration(s) running.")

    @admin.action(description="Stop selected integrations", permissions=["change"])
    def stop_integrations(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = self._each(request, queryset,
                          lambda i: services.set_run_state(i, Integration.RunState.STOPPED, request.user))
        self.message_user(request, f"{done} integration(s) stopped.")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.delete(obj, request.user)
        for obj in instances:
            services.save(obj, request.user)


class IntegrationStep(forms.Form):
    integration = forms.ModelChoiceField(queryset=Integration.objects.all(), label="Integration",
                                         help_text="The next page offers the projects of its two collections.")


@admin.register(Route)
class RouteAdmin(FirstStepAdminMixin, IntegrationFixedAdmin):
    list_display = ["integration", "left_project", "right_project"]
    list_filter = ["integration"]
    first_step_form = IntegrationStep
    first_step_intro = "Choose the integration first: a route pairs a project of each of its collections."

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        integration = obj.integration if obj is not None else (self.first_step_answer(request) or {}).get("integration")
        if integration is not None:
            kwargs["form"] = route_form(integration.left_collection, integration.right_collection,
                                        [obj] if obj is not None else None, integration,
                                        self.step_url(request) if obj is None else "")
        return super().get_form(request, obj, change, **kwargs)
