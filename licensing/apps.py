from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from licensing import panels, services, signals, tasks  # noqa: F401  (blocker, Settings panel)

        signals.connect()
        post_migrate.connect(tasks.ensure_schedule, sender=self, dispatch_uid="licensing-security-schedule")
