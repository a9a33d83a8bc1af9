from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from settings_app import runtime, services
from settings_app.models import HubSettings


@admin.register(HubSettings)
class HubSettingsAdmin(admin.ModelAdmin):
    fields = list(runtime.NAMES)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        # Not listed on the admin home: the Settings screen is the one way to these settings.
        return {}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:settings_app_hubsettings_change", args=[services.get_settings().pk]))

    def save_model(self, request: HttpRequest, obj: HubSettings, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        updated = services.update_settings(request.user, **changes)
        obj.pk = updated.pk

    def response_change(self, request: HttpRequest, obj: HubSettings) -> HttpResponseRedirect:
        self.message_user(request, "Global settings saved.")
        return HttpResponseRedirect(reverse("admin:hub-settings"))
