from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Activity"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from notifications import jobs_builtin  # noqa: F401  (registers the built-in jobs)
        from notifications.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
