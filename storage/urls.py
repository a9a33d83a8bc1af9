"""Routes of the storage app (full paths; included at the root by tasktop_hub/urls.py)."""

from django.contrib import admin
from django.urls import path

from storage import views
from storage.api import views as api

urlpatterns = [
    path("admin/storage/external/", admin.site.admin_view(views.external_view), name="hub-storage-external"),
    path("admin/storage/override/", admin.site.admin_view(views.override_view), name="hub-storage-override"),
    path("admin/storage/abort/", admin.site.admin_view(views.abort_view), name="hub-storage-abort"),
    path("api/v1/storage/", api.StatusView.as_view(), name="api-storage"),
    path("api/v1/storage/drivers/", api.DriversView.as_view(), name="api-storage-drivers"),
    path("api/v1/storage/test/", api.TestView.as_view(), name="api-storage-test"),
    path("api/v1/storage/transfer/", api.TransferView.as_view(), name="api-storage-transfer"),
    path("api/v1/storage/transfer/abort/", api.AbortView.as_view(), name="api-storage-abort"),
    path("api/v1/storage/cleanup/", api.CleanupView.as_view(), name="api-storage-cleanup"),
    path("api/v1/storage/relocate/", api.RelocateView.as_view(), name="api-storage-relocate"),
    path("api/v1/storage/override/", api.OverrideView.as_view(), name="api-storage-override"),
]
