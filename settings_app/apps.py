from django.apps import AppConfig


class SettingsAppConfig(AppConfig):
    name = "settings_app"
    verbose_name = "Settings"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Imported for their registrations: Settings panels, the processing blocker, signals.
        from settings_app import checks, master_password, panels, security_panels, signals  # noqa: F401
        from tasktop_hub.roles import sync_permissions

        signals.connect()
        post_migrate.connect(sync_permissions, dispatch_uid="hub-sync-role-permissions")
