"""Write-only inputs for encrypted dict fields, shared by the API and the admin.

Semantics everywhere: a secret's value is never shown, only whether it is set.

* API: ``"secrets": {"token": "…"}`` sets ``token``; ``{"token": null}`` clears it; a name not
  sent stays unchanged (so ``PATCH`` without ``secrets`` changes none). Responses carry
  ``secrets_set``: the names of the secrets that are set.
* Admin: one password input per sensitive parameter (never pre-filled; left empty = unchanged)
  and a "clear" checkbox for each one that is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from settings_app.security import vault
from settings_app.security.fields import secret_names

LOCKED_MESSAGE = ("The stored secrets cannot be changed while the master password is not loaded; enter it at "
                  "/admin/security/master-password/enter/ (Settings → Master Password).")

# The mixins' hosts, for the type checker only (at run time a mixin must not add a base):
# each is mixed into exactly that kind of class.
if TYPE_CHECKING:
    _SerializerBase = serializers.ModelSerializer
    _FormBase = forms.ModelForm
else:
    _SerializerBase = _FormBase = object


def merge_patch(instance: Any, field_name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    """The stored dict with ``patch`` applied (None clears a name). Raises ValidationError when locked."""
    current: dict[str, Any] = {}
    if instance is not None and getattr(instance, "pk", None) is not None and secret_names(instance, field_name):
        try:
            current = dict(getattr(instance, field_name))
        except vault.VaultError as exc:
            raise ValidationError({field_name: LOCKED_MESSAGE if isinstance(exc, vault.VaultLocked) else str(exc)}) \
                from None
    for name, value in patch.items():
        if value is None:
            current.pop(name, None)
        else:
            current[name] = value
    return current


class SecretsPatchField(serializers.DictField):
    """``{"name": "value" | null}``; write-only."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Write-only. {name: value} sets a secret, {name: null} clears it; names not sent "
                                       "stay unchanged. Responses list the names that are set in secrets_set.")
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)


class WriteOnlySecretsMixin(_SerializerBase):
    """For a StrictModelSerializer of a model with an EncryptedJSONField named ``secrets``."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "secrets" in attrs:
            try:
                attrs["secrets"] = merge_patch(getattr(self, "instance", None), "secrets", attrs["secrets"])
            except ValidationError as exc:
                raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
        return super().validate(attrs)

    def get_secrets_set(self, obj: Any) -> list[str]:
        return secret_names(obj, "secrets")


class SecretInputsFormMixin(_FormBase):
    """A ModelForm mixin adding one password input (+ "clear") per sensitive parameter.

    Subclasses implement ``secret_parameters(kind)`` (None: the add form, every kind's); the
    model's ``clean()`` validates the merged dict — see integrations/admin_connections.py, which
    also lays the inputs out (they exist per instance: "Clear" only for a secret that is set).
    """

    secrets_field = "secrets"
    secret_prefix = "secret__"
    clear_prefix = "clear_secret__"

    def secret_parameters(self, kind: str | None) -> list[Any]:
        raise NotImplementedError

    def secrets_kind(self) -> str | None:
        """Whose secrets the form offers: the instance's kind; None (every kind's) on an add form."""
        return getattr(self.instance, "kind", None) if self.instance.pk else None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        kind = self.secrets_kind()
        is_set = set(secret_names(instance, self.secrets_field)) if instance.pk else set()
        seen: set[str] = set()
        for param in self.secret_parameters(kind):
            if param.name in seen:
                continue
            seen.add(param.name)
            state = "Set — leave empty to keep it." if param.name in is_set else "Not set."
            if kind is None:
                state += " Only the secrets of the chosen connector kind are accepted."
            self.fields[self.secret_prefix + param.name] = forms.CharField(
                label=param.label, required=False, strip=False,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text=f"Secret. {state} {param.help}".strip(),
            )
            if param.name in is_set:
                self.fields[self.clear_prefix + param.name] = forms.BooleanField(
                    label=f"Clear {param.label}", required=False
                )

    def secret_patch(self) -> dict[str, Any]:
        data = self.cleaned_data
        patch: dict[str, Any] = {}
        for name, value in data.items():
            if name.startswith(self.clear_prefix) and value:
                patch[name[len(self.clear_prefix):]] = None
        for name, value in data.items():
            if name.startswith(self.secret_prefix) and value:
                patch[name[len(self.secret_prefix):]] = value
        return patch

    def _post_clean(self) -> None:
        # Apply the patch before the model validates (RepositoryConnection.clean checks secrets
        # against the connector), and report its problems on the matching inputs.
        patch = self.secret_patch() if hasattr(self, "cleaned_data") else {}
        if patch:
            try:
                merged = merge_patch(self.instance, self.secrets_field, patch)
            except ValidationError as exc:
                self.add_error(None, exc.messages)
            else:
                setattr(self.instance, self.secrets_field, merged)
        super()._post_clean()  # type: ignore[misc]  # a private ModelForm hook django-stubs omits

    def _update_errors(self, errors: ValidationError) -> None:
        # Model errors on the secrets dict ("token: Must be text.") go to the matching input.
        if hasattr(errors, "error_dict") and self.secrets_field in errors.error_dict:
            for message in ValidationError(errors.error_dict.pop(self.secrets_field)).messages:
                name, _, text = message.partition(": ")
                target = self.secret_prefix + name
                self.add_error(target if target in self.fields else None,
                               text if target in self.fields else message)
        super()._update_errors(errors)  # type: ignore[misc]  # a private ModelForm hook django-stubs omits
