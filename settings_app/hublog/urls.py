"""Routes of the logging level and the support report (full paths; included by tasktop_hub/urls.py)."""

from django.contrib import admin
from django.urls import path

from settings_app.hublog.api import LoggingLevelView
from settings_app.hublog.views import logging_level_view, stop_troubleshooting_view

urlpatterns = [
    path("admin/settings/logging/", admin.site.admin_view(logging_level_view), name="hub-logging-level"),
    path("admin/settings/logging/stop/", admin.site.admin_view(stop_troubleshooting_view), name="hub-logging-stop"),
    path("api/v1/settings/logging/", LoggingLevelView.as_view(), name="logging-level"),
]
