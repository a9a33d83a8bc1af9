"""Routes of the security core: setup page, master password and license (admin and API)."""

from django.contrib import admin
from django.urls import path

from licensing.api import LicenseView
from licensing.views import apply_license_view
from settings_app.api import security as api
from settings_app.security_views import master_password_view
from tasktop_hub.setup_gate import setup_view

admin_urlpatterns = [
    path("admin/setup/", admin.site.admin_view(setup_view), name="hub-setup"),
    path("admin/security/master-password/<str:action>/", admin.site.admin_view(master_password_view),
         name="hub-master-password"),
    path("admin/security/license/apply/", admin.site.admin_view(apply_license_view), name="hub-license-apply"),
]

api_urlpatterns = [
    path("security/setup/", api.SetupStatusView.as_view(), name="api-setup-status"),
    path("security/master-password/", api.MasterPasswordView.as_view(), name="api-master-password"),
    path("security/master-password/set/", api.SetView.as_view(), name="api-master-password-set"),
    path("security/master-password/enter/", api.EnterView.as_view(), name="api-master-password-enter"),
    path("security/master-password/change/", api.ChangeView.as_view(), name="api-master-password-change"),
    path("security/master-password/reset/", api.ResetView.as_view(), name="api-master-password-reset"),
    path("license/", LicenseView.as_view(), name="api-license"),
]
