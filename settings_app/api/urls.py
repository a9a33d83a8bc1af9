from django.urls import path

from settings_app.api.views import HubSettingsView

urlpatterns = [path("settings/", HubSettingsView.as_view(), name="hub-settings")]
