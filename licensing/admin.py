"""The user admin with the license's user limit as a form error (the pre_save check is the backstop)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from licensing import services

User = get_user_model()

if TYPE_CHECKING:  # the mixin's host, for the type checker only
    _FormBase = forms.ModelForm
else:
    _FormBase = object


class _UserLimitMixin(_FormBase):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        probe = copy.copy(self.instance)
        probe.is_active = cleaned.get("is_active", probe.is_active if probe.pk else True)
        try:
            services.check_user_activation(probe)
        except ValidationError as exc:
            field = "is_active" if "is_active" in self.fields else None
            self.add_error(field, exc.messages)
        return cleaned


class LicensedUserCreationForm(_UserLimitMixin, AdminUserCreationForm):
    pass


class LicensedUserChangeForm(_UserLimitMixin, UserChangeForm):
    pass


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class LicensedUserAdmin(UserAdmin):
    add_form = LicensedUserCreationForm
    form = LicensedUserChangeForm
    # Django's UserAdmin columns, plus whether the user counts against the license and their roles.
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active", "roles"]

    @admin.display(description="Roles")
    def roles(self, obj: Any) -> str:
        return ", ".join(g.name for g in obj.groups.all()) or ("superuser" if obj.is_superuser else "viewer (no group)")
