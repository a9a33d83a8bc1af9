"""Routes of email notifications (full paths; included at the root by tasktop_hub/urls.py)."""

from django.contrib import admin
from django.urls import path

from settings_app.email.api import EmailActionView, EmailSettingsView, EmailTestView
from settings_app.email.views import email_action_view, email_settings_view

urlpatterns = [
    path("admin/settings/email/", admin.site.admin_view(email_settings_view), name="hub-email-settings"),
    path("admin/settings/email/<str:action>/", admin.site.admin_view(email_action_view), name="hub-email-action"),
    path("api/v1/notifications/email/", EmailSettingsView.as_view(), name="email-settings"),
    path("api/v1/notifications/email/test/", EmailTestView.as_view(), name="email-test"),
    path("api/v1/notifications/email/on/", EmailActionView.as_view(action="on"), name="email-on"),
    path("api/v1/notifications/email/off/", EmailActionView.as_view(action="off"), name="email-off"),
    path("api/v1/notifications/email/send-now/", EmailActionView.as_view(action="send-now"), name="email-send-now"),
]
