import os
import sys
from typing import Any

from django.apps import AppConfig


def _starts_an_installation() -> bool:
    """A web server or worker start: the moment a new installation takes the instance lease."""
    if os.environ.get("HUB_DB_CONFIG_FD"):  # a transfer's migrate child
        return False
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    web = program == "gunicorn" or "gunicorn.arbiter" in sys.modules
    return web or sys.argv[1:2] in (["serve"], ["qcluster"], ["runserver"])


def _claim_at_start(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.alias != "default":
        return
    from django.db.backends.signals import connection_created

    from storage import lease

    connection_created.disconnect(dispatch_uid="storage-instance-lease-start")
    lease.reason()


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:
        # transfer registers its job kind, panels the Storage panel.
        from storage import lease, panels, pause, transfer  # noqa: F401
        from tasktop_hub import conditions, periodic, write_guard

        conditions.register(conditions.Condition(
            key="storage-transfer", reason=pause.reason, issue_key="storage.transfer-running",
            issue_title="Processing paused for a database transfer", health=False))
        conditions.register(conditions.Condition(
            key="instance-lease", reason=lease.reason, issue_key="storage.instance-lease-lost", hands_over=True,
            issue_title="Another hub installation took this database (instance lease lost)",
            healthy_message=lambda: "This installation holds the database's instance lease."))
        # While a transfer runs, writes are refused (or wait) everywhere but in the storage views,
        # which refuse what could touch the data being moved themselves (storage.services).
        write_guard.register_freeze(pause.write_freeze_reason)
        write_guard.exempt("/api/v1/storage/", "/admin/storage/")
        if _starts_an_installation():
            from django.db.backends.signals import connection_created

            connection_created.connect(_claim_at_start, dispatch_uid="storage-instance-lease-start")
        periodic.register("storage: end a dead transfer's pause", "storage.tasks.end_dead_transfer", minutes=1)
