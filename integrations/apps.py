from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from integrations.connectors import registry

        registry.autodiscover()

        from django.db.models.signals import post_migrate
        from django_q.signals import post_spawn

        from integrations.engine import jobs, services, signals  # noqa: F401 — registers jobs and retry handler

        post_migrate.connect(signals.ensure_schedule, sender=self, dispatch_uid="engine-schedule")
        post_spawn.connect(signals.kick_dispatcher, dispatch_uid="engine-kick")
