"""Routes of the security core (full paths; included at the root by tasktop_hub/urls.py)."""

from django.contrib import admin
from django.urls import path

from settings_app.security import api, signin
from settings_app.security.views import master_password_view

urlpatterns = [
    # Public: a token for a user name and password, throttled (settings_app/security/throttle.py).
    path("api/v1/auth/token/", signin.obtain_auth_token, name="api-token"),
    path("admin/security/master-password/<str:action>/", admin.site.admin_view(master_password_view),
         name="hub-master-password"),
    path("api/v1/security/setup/", api.SetupStatusView.as_view(), name="api-setup-status"),
    path("api/v1/security/master-password/", api.MasterPasswordView.as_view(), name="api-master-password"),
    path("api/v1/security/master-password/set/", api.SetView.as_view(), name="api-master-password-set"),
    path("api/v1/security/master-password/enter/", api.EnterView.as_view(), name="api-master-password-enter"),
    path("api/v1/security/master-password/change/", api.ChangeView.as_view(), name="api-master-password-change"),
    path("api/v1/security/master-password/reset/", api.ResetView.as_view(), name="api-master-password-reset"),
]
