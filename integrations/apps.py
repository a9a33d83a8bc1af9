from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from integrations.connectors import registry

        registry.autodiscover()
        from integrations.gateway.connector import GatewayConnector

        registry.register(GatewayConnector)  # outside connectors/: it reads the hub's own tables
        from integrations import support

        support.register()
        from integrations.connectors.http import redaction
        from tasktop_hub import secrets

        secrets.register_sink(redaction.remember)
        from django_q.signals import post_spawn

        from integrations import (
            extension_hooks,
            panels,  # noqa: F401 — the Move Routes and Import Pairs panels
        )
        from integrations import jobs as move_jobs  # noqa: F401 — route moves, pair imports
        from integrations.engine import jobs, services, signals  # noqa: F401 — registers jobs and retry handler
        from tasktop_hub import periodic

        extension_hooks.register()
        from integrations.engine import leases
        from tasktop_hub import inflight

        inflight.register(leases.runs_in_flight)  # a database transfer's drain waits for them
        from integrations.models import Integration
        from notifications.screen import register_integration_names

        # The Activity screen's integration filter (notifications may not import this app).
        register_integration_names(lambda: list(Integration.objects.order_by("name").values_list("id", "name")))

        periodic.register("engine-dispatcher", signals.TICK_FUNC, minutes=1)
        periodic.register("gateway-prune", "integrations.tasks.prune_gateway_deliveries", minutes=24 * 60)
        post_spawn.connect(signals.kick_dispatcher, dispatch_uid="engine-kick")
