"""Repository connections in the admin: the connector kind first, then only that kind's parameters
and secrets, each with its help; a *Test connection* button on the connection's page.

Options are one input per declared parameter (stored as the ``options`` dict the API shows);
secrets are write-only inputs (settings_app/security/secret_inputs.py: never rendered back,
empty = unchanged, "Clear" removes one). The model's ``clean()`` validates both, and its messages
("table: This parameter is required.") land on the matching input.

*Test connection* is a submit button of the form itself: it tests what the form holds — kind, URL,
options, the secrets typed (the stored ones for inputs left empty) — and saves nothing. The page
comes back with the values typed, except the secrets, which are never rendered back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import services
from integrations.admin_base import ChosenInput, FirstStepAdminMixin, ServiceAdmin
from integrations.connectors import registry
from integrations.connectors.base import Connector, Parameter
from integrations.models import RepositoryConnection
from settings_app.security.secret_inputs import SecretInputsFormMixin

OPTION_PREFIX = "option__"
TEST_BUTTON = "_test_connection"  # the submit button's name: test the form's values, save nothing


class KindStep(forms.Form):
    kind = forms.ChoiceField(label="Connector kind", choices=(), help_text="The tool this connection reaches. "
                             "The next page asks for that tool's parameters and secrets only.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)  # declared above
        field.choices = [("", "---------"), *registry.choices()]


def option_field(param: Parameter) -> forms.Field:
    """The input for one non-secret parameter, typed as the connector declares it."""
    default = f" Default: {param.default}." if param.default not in (None, "") else ""
    common: dict[str, Any] = {"label": param.label, "required": False, "help_text": f"{param.help}{default}".strip()}
    if param.type == "integer":
        return forms.IntegerField(**common)
    if param.type == "boolean":
        return forms.BooleanField(**common)
    if param.type == "choice":
        return forms.ChoiceField(choices=[("", "---------"), *((c, c) for c in param.choices)], **common)
    if param.type == "url":
        return forms.CharField(**common, widget=forms.URLInput(attrs={"size": 60}))
    return forms.CharField(**common, widget=forms.TextInput(attrs={"size": 60}))


class ConnectionForm(SecretInputsFormMixin, forms.ModelForm):
    """The form of one connector kind (``connection_form`` builds one per kind)."""

    connector: type[Connector] | None = None
    # Set when the Test connection button sent the form: called with the form and whether it is
    # valid; the form then reports itself invalid, so the admin shows it again instead of saving.
    tester: Callable[[ConnectionForm, bool], None] | None = None

    class Meta:
        model = RepositoryConnection
        fields = ["name", "kind", "url", "successor_of", "change_detection_interval", "full_scan_enabled",
                  "full_scan_interval"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.options if isinstance(self.instance.options, dict) else {}
        for param in self.option_parameters():
            value = stored.get(param.name, param.default)
            self.fields[OPTION_PREFIX + param.name].initial = value
        if self.connector is not None and "url" in self.fields:
            self.fields["url"].help_text = self.connector.url_help or self.fields["url"].help_text
        if "successor_of" in self.fields and self.instance.pk:
            field = self.fields["successor_of"]
            assert isinstance(field, forms.ModelChoiceField)  # a foreign key
            field.queryset = RepositoryConnection.objects.exclude(pk=self.instance.pk)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self.tester is None:
            return valid
        self.tester(self, valid)
        return False

    def option_parameters(self) -> tuple[Parameter, ...]:
        return self.connector.option_parameters() if self.connector is not None else ()

    def secrets_kind(self) -> str | None:
        return self.connector.kind if self.connector is not None else None

    def secret_parameters(self, kind: str | None) -> list[Any]:
        return list(self.connector.secret_parameters()) if self.connector is not None else []

    def _post_clean(self) -> None:
        # The options dict is built from its inputs before the model validates it.
        if hasattr(self, "cleaned_data") and self.connector is not None:
            self.instance.options = {
                p.name: self.cleaned_data.get(OPTION_PREFIX + p.name) for p in self.option_parameters()
                if OPTION_PREFIX + p.name in self.cleaned_data
            }
        super()._post_clean()

    def _update_errors(self, errors: ValidationError) -> None:
        # "table: This parameter is required." → on the Table input.
        if hasattr(errors, "error_dict") and "options" in errors.error_dict:
            for message in ValidationError(errors.error_dict.pop("options")).messages:
                name, _, text = message.partition(": ")
                target = OPTION_PREFIX + name
                self.add_error(target if target in self.fields else None, text if target in self.fields else message)
        super()._update_errors(errors)


def connection_form(connector: type[Connector] | None, change_url: str = "") -> type[ConnectionForm]:
    """A ConnectionForm whose inputs are ``connector``'s parameters (declared, so the admin lays them out)."""
    attrs: dict[str, Any] = {"connector": connector, "__module__": __name__}
    if connector is not None:
        for param in connector.option_parameters():
            attrs[OPTION_PREFIX + param.name] = option_field(param)
    if change_url:  # the add form: the kind chosen on the first step
        attrs["kind"] = forms.ChoiceField(choices=registry.choices(), label="Connector kind",
                                          widget=ChosenInput(dict(registry.choices()), change_url))
    return type(f"{connector.kind.title() if connector else ''}ConnectionForm", (ConnectionForm,), attrs)


@admin.register(RepositoryConnection)
class ConnectionAdmin(FirstStepAdminMixin, ServiceAdmin):
    list_display = ["name", "kind", "url", "secrets_set", "status", "status_checked_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "url"]
    actions = ["test_connection"]
    change_form_template = "admin/integrations/connection_change_form.html"
    first_step_form = KindStep
    first_step_intro = "Choose the kind of tool first: each connector asks for its own parameters."

    @admin.display(description="Secrets set")
    def secrets_set(self, obj: RepositoryConnection) -> str:
        return ", ".join(obj.secret_names) or "—"

    @admin.display(description="Connector kind")
    def kind_label(self, obj: RepositoryConnection) -> str:
        return dict(registry.choices()).get(obj.kind, obj.kind)

    def connector_for(self, request: HttpRequest, obj: RepositoryConnection | None) -> type[Connector] | None:
        kind = obj.kind if obj is not None else (self.first_step_answer(request) or {}).get("kind")
        try:
            return registry.get(kind) if kind else None
        except KeyError:
            return None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A connection keeps its kind: another tool is another connection (a successor, if it
        # replaces this one), so its collections never point at a tool they were not made for.
        fixed = ["kind_label", "status", "status_message", "status_checked_at"] if obj is not None else []
        return [*super().get_readonly_fields(request, obj), *fixed]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        from django.contrib.admin.utils import flatten_fieldsets

        connector = self.connector_for(request, obj)
        form = connection_form(connector, "" if obj is not None else self.step_url(request))
        if request.method == "POST" and TEST_BUTTON in request.POST:
            # A static callable: as a plain function on the class it would be bound to the form.
            form.tester = staticmethod(lambda bound, valid: self._report_form_test(request, bound, valid))
        kwargs["form"] = form
        # The secret inputs exist per instance (SecretInputsFormMixin), not on the class.
        prefixes = (SecretInputsFormMixin.secret_prefix, SecretInputsFormMixin.clear_prefix)
        fields = kwargs.get("fields", flatten_fieldsets(self.get_fieldsets(request, obj)))
        if fields is not None:
            kwargs["fields"] = [f for f in fields if not f.startswith(prefixes)
                                and f not in self.get_readonly_fields(request, obj)]
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        connector = self.connector_for(request, obj)
        head = ["name", "kind_label" if obj is not None else "kind", "url"]
        sets: list[tuple[str | None, dict[str, Any]]] = [(None, {"fields": head})]
        if connector is None:
            return sets
        options = [OPTION_PREFIX + p.name for p in connector.option_parameters()]
        if options:
            sets.append((f"{connector.label}: options", {"fields": options}))
        secret_fields = [SecretInputsFormMixin.secret_prefix + p.name for p in connector.secret_parameters()]
        is_set = set(obj.secret_names) if obj is not None else set()
        secret_fields += [SecretInputsFormMixin.clear_prefix + p.name for p in connector.secret_parameters()
                          if p.name in is_set]
        if secret_fields:
            sets.append(("Secrets (write-only)", {
                "fields": secret_fields,
                "description": "Values are never shown. Leave an input empty to keep the stored value; tick "
                               "'Clear' to remove it.",
            }))
        if obj is not None:
            sets.append(("Status", {"fields": ["status", "status_message", "status_checked_at"],
                                    "description": "Written by Test connection and by every run."}))
        sets.append(("Polling and succession", {
            "classes": ["collapse"],
            "fields": ["change_detection_interval", "full_scan_enabled", "full_scan_interval", "successor_of"],
        }))
        return sets

    # -- Test connection: the button of the connection's form, and the list action --

    def _report_form_test(self, request: HttpRequest, form: ConnectionForm, valid: bool) -> None:
        if not valid:
            self.message_user(request, "Not tested: correct the values below first.", messages.ERROR)
            return
        connection = form.instance
        if connection.pk and not form.has_changed():
            # The saved values, untouched: their test is recorded as the connection's status.
            self._report_test(request, RepositoryConnection.objects.get(pk=connection.pk))
            return
        result = services.test_unsaved_connection(connection, request.user)
        retype = " Secrets typed are not kept on the page: type them again to save them." \
            if form.secret_patch() else ""
        self.message_user(request, f"Connection '{connection.name}' (values not saved): {result.message}{retype}",
                          messages.SUCCESS if result.ok else messages.ERROR)

    def _report_test(self, request: HttpRequest, connection: RepositoryConnection) -> None:
        result = services.test_connection(connection, request.user)
        self.message_user(request, f"Connection '{connection.name}': {result.message}",
                          messages.SUCCESS if result.ok else messages.ERROR)

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet) -> None:
        for connection in queryset:
            self._report_test(request, connection)
