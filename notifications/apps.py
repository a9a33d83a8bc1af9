from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Activity"

    def ready(self) -> None:
        from notifications import jobs_builtin, support  # noqa: F401 — jobs_builtin registers the built-in jobs
        from notifications.screen import activity_context
        from tasktop_hub import periodic
        from tasktop_hub.admin_site import Screen, register_screen

        support.register()
        from notifications import jobs
        from tasktop_hub import inflight

        inflight.register(jobs.running_jobs)  # a database transfer's drain waits for them
        register_screen(Screen("activity", "hub-activity", "Activity", "admin/hub_activity.html", activity_context,
                               "Errors, issues and background jobs"))
        periodic.register("notifications: fail abandoned jobs", "notifications.tasks.fail_abandoned_jobs", minutes=5)
        # One task raises and resolves the Activity issue of every condition that stops processing.
        periodic.register("conditions: raise and resolve issues", "notifications.tasks.sync_condition_issues",
                          minutes=1)
