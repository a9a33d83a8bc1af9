"""The admin site with the hub's screens (Settings, Activity, …), registered by the apps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path

from tasktop_hub.panels import build_panels
from tasktop_hub.setup_gate import is_set_up


@dataclass(frozen=True)
class Screen:
    """A page of the admin beside the model pages: ``/admin/<slug>/``, URL name ``admin:<name>``."""

    slug: str
    name: str
    title: str
    template: str
    context: Callable[[HttpRequest], dict[str, Any]]
    description: str = ""  # the admin home's line about it


_screens: dict[str, Screen] = {}
_header_label: list[Callable[[], str]] = []


def register_screen(screen: Screen) -> Screen:
    _screens[screen.name] = screen
    return screen


def register_header_label(provider: Callable[[], str]) -> None:
    """The instance label shown in the header ("tasktop_hub — Production"); one provider."""
    _header_label[:] = [provider]


def _settings_context(request: HttpRequest) -> dict[str, Any]:
    return {"panels": build_panels(request)}


# The Settings screen is the hub's own: apps fill it with panels (tasktop_hub.panels).
register_screen(Screen("settings", "hub-settings", "Settings", "admin/hub_settings.html", _settings_context,
                       "Polling, concurrency, license, security, storage"))


class HubAdminSite(admin.AdminSite):
    site_header = "tasktop_hub"
    site_title = "tasktop_hub"
    index_title = "Administration"

    def get_urls(self) -> list[URLResolver | URLPattern]:
        extra: list[URLResolver | URLPattern] = [
            path(f"{screen.slug}/", self.admin_view(self._screen_view(screen)), name=screen.name)
            for screen in _screens.values()
        ]
        return extra + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        label = _header_label[0]() if _header_label and request.user.is_authenticated else ""
        context["site_header"] = f"tasktop_hub — {label}" if label else "tasktop_hub"
        context["hub_screens"] = list(_screens.values())
        if request.user.is_authenticated and not is_set_up():
            # Until setup is done every model page, screen and "View site" leads back to the setup page:
            # offer none of them (no app sidebar, no Settings button) — only what is reachable.
            context.update(hub_setup_incomplete=True, is_nav_sidebar_enabled=False, available_apps=[], site_url=None)
        return context

    def _screen_view(self, screen: Screen) -> Callable[[HttpRequest], HttpResponse]:
        def view(request: HttpRequest) -> HttpResponse:
            context = {**self.each_context(request), "title": screen.title, **screen.context(request)}
            return TemplateResponse(request, screen.template, context)

        return view
