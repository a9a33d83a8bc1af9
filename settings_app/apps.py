from django.apps import AppConfig


class SettingsAppConfig(AppConfig):
    name = "settings_app"
    verbose_name = "Settings"

    def ready(self) -> None:
        from settings_app import panels  # noqa: F401  (registers the Settings screen panels)
