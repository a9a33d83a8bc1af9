from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self) -> None:
        from licensing import panels, services, signals  # noqa: F401  (blocker, Settings panel)

        signals.connect()
