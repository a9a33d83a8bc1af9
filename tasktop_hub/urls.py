"""The project's URLs. Apps' URL confs are included by dotted name: this module imports no app."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tasktop_hub.api.health import health_view, liveness_view
from tasktop_hub.api.root import api_root
from tasktop_hub.setup_gate import setup_view

api_v1: list[URLPattern | URLResolver] = [
    path("", api_root, name="api-root"),
    path("", include("settings_app.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("extensions.api.urls")),
    path("", include("notifications.api.urls")),
]

# A path no route matches answers JSON under /api/ (the documented error shape), HTML elsewhere.
handler404 = "tasktop_hub.api.errors.not_found"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/setup/", admin.site.admin_view(setup_view), name="hub-setup"),
    # Apps' admin pages and API routes under their full paths; before admin.site.urls, which
    # would claim /admin/<app>/.
    path("", include("settings_app.security.urls")),
    path("", include("licensing.urls")),
    path("", include("settings_app.email.urls")),
    path("", include("settings_app.hublog.urls")),
    path("", include("settings_app.support.urls")),
    path("", include("integrations.urls")),
    path("", include("storage.urls")),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/health", health_view, name="health"),
    path("api/health/live", liveness_view, name="health-live"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Browsers ask for /favicon.ico on pages that name no icon (the browsable API).
    path("favicon.ico", RedirectView.as_view(url=static("hub/favicon.svg"), permanent=True)),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
