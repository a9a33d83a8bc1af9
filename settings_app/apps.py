from django.apps import AppConfig


class SettingsAppConfig(AppConfig):
    name = "settings_app"
    verbose_name = "Settings"

    def ready(self) -> None:
        # Imported for their registrations: system checks and Settings panels.
        from settings_app import panels, services  # noqa: F401
        from settings_app.email import panels as email_panels  # noqa: F401
        from settings_app.email import services as email_services
        from settings_app.security import checks, master_password, signals  # noqa: F401
        from settings_app.security import panels as security_panels  # noqa: F401
        from tasktop_hub import admin_site, periodic, roles

        signals.connect()
        from django_q.signals import pre_execute

        from settings_app.hublog import levels
        from settings_app.hublog import panels as logging_panels  # noqa: F401
        from settings_app.support import jobs as support_jobs  # noqa: F401 — registers the report job

        pre_execute.connect(levels.before_task, dispatch_uid="hub-logging-level")
        master_password.register_condition()
        email_services.register_condition()
        # Every minute; the digest itself waits for the chosen frequency (settings_app/email/digest.py).
        periodic.register("email: notification digest", "settings_app.tasks.email_digest", minutes=1)
        roles.restrict_to_administrators("settings_app.vaultkey")
        from django.contrib import admin

        from settings_app.security.signin import ThrottledAdminLoginForm

        admin.site.login_form = ThrottledAdminLoginForm  # says "locked" rather than "wrong password"
        admin_site.register_header_label(lambda: services.get_settings().instance_label)
