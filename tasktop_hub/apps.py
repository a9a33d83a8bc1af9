from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class HubAdminConfig(AdminConfig):
    default_site = "tasktop_hub.admin_site.HubAdminSite"


class TasktopHubConfig(AppConfig):
    name = "tasktop_hub"
    verbose_name = "tasktop_hub"

    def ready(self) -> None:
        from tasktop_hub import checks  # noqa: F401  (registers the system checks)
