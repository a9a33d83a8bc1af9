from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self) -> None:
        # Imported for their registrations: system checks, the Settings panel.
        from licensing import checks, panels, services, signals  # noqa: F401

        signals.connect()
        services.register_conditions()
        from licensing import support

        support.register()
