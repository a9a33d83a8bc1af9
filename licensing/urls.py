"""Routes of the licensing app (full paths; included at the root by tasktop_hub/urls.py)."""

from django.contrib import admin
from django.urls import path

from licensing.api import LicenseView
from licensing.views import apply_license_view

urlpatterns = [
    path("admin/security/license/apply/", admin.site.admin_view(apply_license_view), name="hub-license-apply"),
    path("api/v1/license/", LicenseView.as_view(), name="api-license"),
]
