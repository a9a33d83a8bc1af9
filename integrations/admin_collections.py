"""Collections in the admin: the connection first, then its projects and field mapping picked from
what the tool offers (``Connector.projects()`` and ``fields()``, via tool_catalog.py). A tool that
cannot be asked leaves text inputs and says why.

The field mapping is a table — model field, tool field, role — stored as the ``field_mapping`` and
``field_roles`` dicts the API shows. A *model field* is the hub's name for a field: two collections
synchronize the fields they map under the same model field name. Value translations (model field,
tool value, model value) and the transition graph (from state, to state) are tables too, stored as
the ``value_mappings`` and ``transitions`` JSON the API takes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from extensions.models import Extension
from integrations import tool_catalog
from integrations.admin_base import ChosenInput, FirstStepAdminMixin, ServiceAdmin
from integrations.admin_tables import Column, TableField
from integrations.models import GATEWAY_KIND, Collection, RepositoryConnection

ROWS_PER_FIELD_UP_TO = 20  # a tool with at most this many unmapped fields gets one row for each
EMPTY_ROWS = 5
ROLE_CHOICES = [("", "—"), ("person", "person"), ("state", "state")]
EMPTY_STATE_ROWS = 5  # blank rows offered under the stored value translations and transitions
VALUES_HELP = ("One row per tool value that the hub knows by another name: for single-selects and states, "
               "the tool's value on the left, the model value the other collection's translation also uses on "
               "the right (e.g. status: Nouveau → New). Values not listed pass through unchanged. Writing to the "
               "tool translates back.")
TRANSITIONS_HELP = ("The tool's allowed state changes, one row per move (e.g. New → In Progress): the hub walks "
                    "them to reach a state the tool cannot jump to. A row with no 'to' state keeps a state that "
                    "cannot be left. No rows: the tool takes any state directly.")
MAPPING_HELP = ("Each row maps one tool field under a model field name: the hub's name for it. Two collections "
                "synchronize the fields they map under the same model field name (e.g. both map their title "
                "field as 'summary'). Leave the model field empty to leave a tool field out.")


class ConnectionStep(forms.Form):
    connection = forms.ModelChoiceField(
        queryset=RepositoryConnection.objects.all(), label="Repository connection",
        help_text="The tool whose artifacts this collection holds. The next page offers that tool's projects and "
                  "fields.")


def _extensions_of(chosen: dict, model_field: str) -> dict[str, str]:
    spec = chosen.get(model_field)
    return {d: str(spec.get(d) or "") for d in Collection.DIRECTIONS} if isinstance(spec, dict) else {}


class CollectionForm(forms.ModelForm):
    """Built per request by ``collection_form``: ``catalog`` is what the tool offers."""

    catalog: tool_catalog.ToolCatalog = tool_catalog.ToolCatalog()
    transforms: list[str] = []  # the custom data transformations that can be chosen per field

    class Meta:
        model = Collection
        fields = ["name", "connection", "projects", "field_mapping", "person_strategy", "default_person",
                  "person_extension", "state_extension", "transitions", "value_mappings", "payload_extension",
                  "gateway_match_field", "gateway_rate_limit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        mapping = instance.field_mapping if isinstance(instance.field_mapping, dict) else {}
        roles = instance.field_roles if isinstance(instance.field_roles, dict) else {}
        chosen = instance.field_extensions if isinstance(instance.field_extensions, dict) else {}
        rows = [{"model": m, "tool": t, "role": roles.get(m, ""), **_extensions_of(chosen, m)}
                for m, t in mapping.items()]
        mapped_tool_fields = set(mapping.values())
        unmapped = [f for f in self.catalog.fields if f not in mapped_tool_fields]
        if self.catalog.available and len(unmapped) <= ROWS_PER_FIELD_UP_TO:
            # One row per tool field not mapped yet, its select already on it: name it to map it.
            rows += [{"model": "", "tool": f, "role": ""} for f in unmapped]
        else:
            # A tool with many fields (Jira's dozens): a few empty rows; save and continue for more.
            rows += [{"model": "", "tool": "", "role": ""} for _ in range(EMPTY_ROWS)]
        self.initial["field_mapping"] = rows
        blank: dict[str, str] = {}
        self.initial["value_mappings"] = [*value_rows(instance.value_mappings), *[blank] * EMPTY_STATE_ROWS]
        self.initial["transitions"] = [*transition_rows(instance.transitions), *[blank] * EMPTY_STATE_ROWS]
        if "projects" in self.fields:
            stored = instance.projects if isinstance(instance.projects, list) else []
            self.initial["projects"] = stored if self.catalog.available else ", ".join(stored)
            field = self.fields["projects"]
            if isinstance(field, forms.MultipleChoiceField):  # the tool listed its projects
                field.choices = [*((p, p) for p in self.catalog.projects),
                                 *((p, f"{p} (not listed by the tool)") for p in stored if p not in self.catalog.projects)]

    def clean_projects(self) -> list[str]:
        value = self.cleaned_data.get("projects")
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return list(value or [])

    def clean_field_mapping(self) -> dict[str, str]:
        rows = self.cleaned_data.get("field_mapping") or []
        missing = [r["model"] for r in rows if not r.get("tool")]
        if missing:
            raise ValidationError(f"{', '.join(missing)}: choose the tool field it maps to.")
        # The roles and extensions columns are the model's field_roles and field_extensions (set on
        # the instance before it validates).
        self.instance.field_roles = {r["model"]: r["role"] for r in rows if r.get("role")}
        if self.transforms:
            self.instance.field_extensions = {
                r["model"]: {d: r[d] for d in Collection.DIRECTIONS if r.get(d)}
                for r in rows if any(r.get(d) for d in Collection.DIRECTIONS)}
        return {r["model"]: r["tool"] for r in rows}

    def clean_value_mappings(self) -> dict[str, dict[str, str]]:
        rows = self.cleaned_data.get("value_mappings") or []
        # Each half-filled row named by what it holds, so the message points at it.
        problems = [f"'{r['tool']}' → '{r['model']}': choose the model field it translates."
                    for r in rows if not r["field"]]
        problems += [f"{r['field']}: give the tool value that '{r['model']}' translates." for r in rows
                     if r["field"] and not r["tool"]]
        problems += [f"{r['field']}: give the model value for the tool value '{r['tool']}'." for r in rows
                     if r["field"] and r["tool"] and not r["model"]]
        if problems:
            raise ValidationError(problems)
        # Unknown model fields are the model's check (against the mapping posted with it).
        stored: dict[str, dict[str, str]] = {}
        for r in rows:
            stored.setdefault(r["field"], {})[r["tool"]] = r["model"]
        return stored

    def clean_transitions(self) -> dict[str, list[str]]:
        rows = self.cleaned_data.get("transitions") or []
        problems = [f"→ '{r['to']}': give the state it moves from." for r in rows if not r["from"]]
        if problems:
            raise ValidationError(problems)
        graph: dict[str, list[str]] = {}
        for r in rows:
            targets = graph.setdefault(r["from"], [])
            if r["to"]:
                targets.append(r["to"])
        return graph

    def _update_errors(self, errors: ValidationError) -> None:
        # The roles and extensions are columns of the mapping table: their problems are shown there.
        for name, column in (("field_roles", "Role"), ("field_extensions", "Extensions")):
            if hasattr(errors, "error_dict") and name in errors.error_dict and name not in self.fields:
                for message in ValidationError(errors.error_dict.pop(name)).messages:
                    self.add_error("field_mapping", f"{column}: {message}")
        super()._update_errors(errors)  # type: ignore[misc]  # a private ModelForm hook django-stubs omits


def value_rows(stored: Any) -> list[dict[str, str]]:
    """``value_mappings`` ({model field: {tool value: model value}}) as the table's rows."""
    if not isinstance(stored, dict):
        return []
    return [{"field": str(f), "tool": str(t), "model": str(m)}
            for f, table in stored.items() if isinstance(table, dict) for t, m in table.items()]


def transition_rows(stored: Any) -> list[dict[str, str]]:
    """``transitions`` ({state: [states]}) as rows; a state listed with no way out keeps a row of its own
    (the configuration check reports a state that cannot be left, so it must survive a save)."""
    if not isinstance(stored, dict):
        return []
    rows = []
    for state, targets in stored.items():
        targets = targets if isinstance(targets, list) else []
        rows += [{"from": str(state), "to": str(t)} for t in targets] or [{"from": str(state), "to": ""}]
    return rows


def _state_tables(mapped: list[str]) -> dict[str, TableField]:
    """The value translation and transition tables; the model field is picked from the stored mapping
    (a field mapped on this page is offered once saved), typed when nothing is mapped yet."""
    field_choices = [("", "—"), *((m, m) for m in mapped)] if mapped else None
    values = TableField(
        [Column("field", "Model field", choices=field_choices, help="A mapped field, e.g. status."),
         Column("tool", "Tool value", help="As the tool names it."),
         Column("model", "Model value", help="As the hub names it.")],
        row_key=("field", "tool", "model"), label="Value translations", help_text=VALUES_HELP,
        # One tool value translated two ways is the error (the JSON could keep only one of them).
        unique=("field", "tool"), twice="{0}: tool value '{1}' is listed twice; give each tool value one row.")
    transitions = TableField(
        [Column("from", "From state"), Column("to", "To state")], row_key=("from", "to"),
        label="Transition graph", help_text=TRANSITIONS_HELP,
        twice="{0} → {1}: listed twice.")
    return {"value_mappings": values, "transitions": transitions}


def collection_form(catalog: tool_catalog.ToolCatalog, chosen: str = "", change_url: str = "",
                    mapped: list[str] | None = None) -> type[CollectionForm]:
    """The form for a collection of a connection whose tool offers ``catalog`` (``mapped``: the model
    fields the stored mapping names)."""
    mapped = mapped or []

    attrs: dict[str, Any] = {"catalog": catalog, "__module__": __name__}
    project_help = "The tool's projects this collection covers."
    if catalog.available:
        attrs["projects"] = forms.MultipleChoiceField(
            choices=[(p, p) for p in catalog.projects], widget=forms.CheckboxSelectMultiple,
            help_text=project_help + " Listed by the tool.", required=False)
        tool_choices: list[tuple[str, str]] | None = [("", "—")] + [
            (name, f"{name} ({kind})" if kind else name) for name, kind in catalog.fields.items()]
    else:
        attrs["projects"] = forms.CharField(
            required=False, widget=forms.TextInput(attrs={"size": 60}),
            help_text=project_help + " Comma-separated project keys, e.g. ALPHA, BETA.")
        tool_choices = None
    columns = [Column("model", "Model field", help="The hub's name, e.g. summary."),
               Column("tool", "Tool field", choices=tool_choices),
               Column("role", "Role", choices=ROLE_CHOICES,
                      help="person: matched between the tools' users; state: moved through the transition graph.")]
    # Custom data transformations per field and direction, when there are any to choose.
    transforms = list(Extension.objects.filter(type=Extension.Type.TRANSFORM).order_by("name")
                      .values_list("name", flat=True))
    if transforms:
        picks = [("", "—"), *((n, n) for n in transforms)]
        columns += [Column("read", "Read transformation", choices=picks, help="Tool value → model value."),
                    Column("write", "Write transformation", choices=picks, help="Model value → tool value.")]
    attrs["transforms"] = transforms
    attrs |= _state_tables(mapped)
    attrs["field_mapping"] = TableField(columns, row_key="model", label="Field mapping", help_text=MAPPING_HELP,
                                       empty_text="The tool offers no fields.")
    if chosen:
        attrs["connection"] = forms.ModelChoiceField(
            queryset=RepositoryConnection.objects.all(), label="Repository connection",
            widget=ChosenInput({chosen: str(RepositoryConnection.objects.filter(pk=chosen).first() or chosen)},
                               change_url))
    return type("CollectionForm", (CollectionForm,), attrs)


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
class CollectionAdmin(FirstStepAdminMixin, ServiceAdmin):
    list_display = ["name", "connection", "projects"]
    list_filter = [GatewayFilter, "connection"]
    change_form_template = "admin/integrations/collection_change_form.html"
    first_step_form = ConnectionStep
    first_step_intro = "Choose the repository connection first: its tool lists the projects and fields to pick from."

    def connection_for(self, request: HttpRequest, obj: Collection | None) -> RepositoryConnection | None:
        if obj is not None:
            return obj.connection
        answer = self.first_step_answer(request)
        return answer["connection"] if answer else None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Its projects and fields are that tool's: another tool's artifacts are another collection.
        fixed = ["connection", "gateway"] if obj is not None else []
        return [*super().get_readonly_fields(request, obj), *fixed]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        connection = self.connection_for(request, obj)
        gateway: list[tuple[str, dict[str, Any]]] = []
        if connection is not None and connection.kind == GATEWAY_KIND:
            gateway = [("Gateway", {"fields": [*(["gateway"] if obj is not None else []), "payload_extension",
                                               "gateway_match_field", "gateway_rate_limit"]})]
        return [
            (None, {"fields": ["name", "connection", "projects"]}),
            *gateway,
            ("Field mapping", {"fields": ["field_mapping"], "description": self._catalog_note(request, obj)}),
            ("People", {"fields": ["person_strategy", "default_person", "person_extension"]}),
            ("States and values", {
                "fields": ["value_mappings", "transitions", "state_extension"],
                "description": "Save the field mapping first: these tables name its model fields.",
            }),
        ]

    def _catalog_note(self, request: HttpRequest, obj: Any) -> str:
        catalog = self._catalog(request, obj)
        return catalog.problem if not catalog.available else ""

    def _catalog(self, request: HttpRequest, obj: Any) -> tool_catalog.ToolCatalog:
        # Asked once per request: the fieldsets and the form both need it.
        cached = getattr(request, "_hub_tool_catalog", None)
        if cached is None:
            connection = self.connection_for(request, obj)
            cached = tool_catalog.read(connection) if connection is not None else tool_catalog.ToolCatalog(
                problem="Choose the repository connection first.")
            request._hub_tool_catalog = cached  # type: ignore[attr-defined]  # a per-request memo
        return cached

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        connection = self.connection_for(request, obj)
        chosen = str(connection.pk) if obj is None and connection is not None else ""
        mapped = list(obj.field_mapping) if obj is not None and isinstance(obj.field_mapping, dict) else []
        kwargs["form"] = collection_form(self._catalog(request, obj), chosen,
                                         self.step_url(request) if chosen else "", mapped)
        return super().get_form(request, obj, change, **kwargs)

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
