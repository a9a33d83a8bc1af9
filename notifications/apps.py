from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Activity"

    def ready(self) -> None:
        from notifications import jobs_builtin  # noqa: F401  (registers the built-in jobs)
