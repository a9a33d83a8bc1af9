from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from tasktop_hub import security_urls
from tasktop_hub.api.health import health_view

api_v1 = [
    path("", include("settings_app.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("notifications.api.urls")),
    path("auth/token/", obtain_auth_token, name="api-token"),
    *security_urls.api_urlpatterns,
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    *security_urls.admin_urlpatterns,  # before admin.site.urls, which would claim /admin/<app>/
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/health", health_view, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
