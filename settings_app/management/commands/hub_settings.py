"""Show or change the global settings, and show what governs one integration."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from settings_app import services
from settings_app.limits import describe_seconds


class Command(BaseCommand):
    help = "Show or change the global settings (polling, full scan, concurrency, instance label)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Print the global settings.")
        change = sub.add_parser("set", help="Change one or more global settings.")
        change.add_argument("--instance-label")
        change.add_argument("--change-detection-interval", type=int, metavar="SECONDS")
        change.add_argument("--full-scan-interval", type=int, metavar="SECONDS")
        scans = change.add_mutually_exclusive_group()
        scans.add_argument("--enable-full-scan", dest="full_scan_enabled", action="store_const", const=True)
        scans.add_argument("--disable-full-scan", dest="full_scan_enabled", action="store_const", const=False)
        change.add_argument("--max-concurrency", type=int)
        effective = sub.add_parser("effective", help="Print the values that govern one integration.")
        effective.add_argument("--integration", type=int, required=True, metavar="ID")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "show":
            self._show()
        elif action == "set":
            self._set(options)
        else:
            self._effective(options["integration"])

    def _show(self) -> None:
        hub = services.get_settings()
        self.stdout.write(f"instance label:             {hub.instance_label or '-'}")
        self.stdout.write(f"change detection interval:  {describe_seconds(hub.change_detection_interval)}")
        scan = describe_seconds(hub.full_scan_interval) + ("" if hub.full_scan_enabled else " (disabled)")
        self.stdout.write(f"full scan interval:         {scan}")
        self.stdout.write(f"max concurrency:            {hub.max_concurrency}")

    def _set(self, options: dict[str, Any]) -> None:
        names = ["instance_label", "change_detection_interval", "full_scan_interval", "full_scan_enabled", "max_concurrency"]
        changes = {name: options[name] for name in names if options.get(name) is not None}
        if not changes:
            raise CommandError("Nothing to change; give at least one option (see --help).")
        try:
            services.update_settings(None, **changes)
        except ValidationError as exc:
            raise CommandError(" ".join(f"{f}: {' '.join(m)}" for f, m in exc.message_dict.items())) from None
        self._show()

    def _effective(self, integration_id: int) -> None:
        from django.apps import apps

        # By name, not import: settings_app sits below integrations (import-linter layers).
        Integration = apps.get_model("integrations", "Integration")
        try:
            integration = Integration.objects.select_related(
                "left_collection__connection", "right_collection__connection"
            ).get(pk=integration_id)
        except Integration.DoesNotExist:
            raise CommandError(f"Integration {integration_id} does not exist.") from None
        for key, value in asdict(services.effective_settings(integration)).items():
            self.stdout.write(f"{key}: {value}")
