from django.apps import AppConfig


class ExtensionsConfig(AppConfig):
    name = "extensions"
    verbose_name = "Extensions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from extensions import panels  # noqa: F401 — registers the Settings panel
