"""The admin site with the hub's two screens: Settings and Activity."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path


class HubAdminSite(admin.AdminSite):
    site_header = "tasktop_hub"
    site_title = "tasktop_hub"
    index_title = "Administration"

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path("settings/", self.admin_view(self.settings_view), name="hub-settings"),
            path("activity/", self.admin_view(self.activity_view), name="hub-activity"),
        ]
        return extra + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        from settings_app.services import get_settings

        label = get_settings().instance_label if request.user.is_authenticated else ""
        context["site_header"] = f"tasktop_hub — {label}" if label else "tasktop_hub"
        return context

    def settings_view(self, request: HttpRequest) -> HttpResponse:
        from settings_app.screen import build_panels

        context = {**self.each_context(request), "title": "Settings", "panels": build_panels(request)}
        return TemplateResponse(request, "admin/hub_settings.html", context)

    def activity_view(self, request: HttpRequest) -> HttpResponse:
        from notifications.screen import activity_context

        context = {**self.each_context(request), "title": "Activity", **activity_context(request)}
        return TemplateResponse(request, "admin/hub_activity.html", context)
