import os

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class HubAdminConfig(AdminConfig):
    default_site = "tasktop_hub.admin_site.HubAdminSite"


class TasktopHubConfig(AppConfig):
    name = "tasktop_hub"
    verbose_name = "tasktop_hub"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tasktop_hub import checks, periodic, roles  # noqa: F401 — checks registers the system checks on import

        # No sender: auth creates each app's permissions in that app's post_migrate, so only the
        # last call sees them all (every call is idempotent).
        post_migrate.connect(roles.sync_permissions, dispatch_uid="hub-sync-role-permissions")
        # No sender either: Django sends post_migrate only for apps with models (not this one).
        post_migrate.connect(periodic.sync_schedules, dispatch_uid="hub-sync-schedules")
        from django.conf import settings

        from tasktop_hub import database

        # Not with DATABASE_URL (the environment manages it) nor in a transfer's migrate child.
        if not settings.HUB_DATABASE_MANAGED_BY_ENV and not os.environ.get("HUB_DB_CONFIG_FD"):
            database.install_switcher(settings.HUB_HOME, settings.HUB_DB_DIR)
