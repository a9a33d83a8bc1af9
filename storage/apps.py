from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage"

    def ready(self) -> None:
        # transfer registers its job kind, panels the Storage panel.
        from storage import lease, panels, pause, transfer  # noqa: F401
        from tasktop_hub import conditions, periodic

        conditions.register(conditions.Condition(
            key="storage-transfer", reason=pause.reason, issue_key="storage.transfer-running",
            issue_title="Processing paused for a database transfer", health=False))
        conditions.register(conditions.Condition(
            key="instance-lease", reason=lease.reason, issue_key="storage.instance-lease-lost",
            issue_title="Another hub installation took this database (instance lease lost)",
            healthy_message=lambda: "This installation holds the database's instance lease."))
        periodic.register("storage: end a dead transfer's pause", "storage.tasks.end_dead_transfer", minutes=1)
