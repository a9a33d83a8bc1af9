"""Admin pages of route moves and pair imports (full paths; included by tasktop_hub/urls.py)."""

from django.contrib import admin
from django.urls import path

from integrations.views import import_pairs_view, move_routes_view

urlpatterns = [
    path("admin/settings/move-routes/", admin.site.admin_view(move_routes_view), name="hub-move-routes"),
    path("admin/settings/import-pairs/", admin.site.admin_view(import_pairs_view), name="hub-import-pairs"),
]
