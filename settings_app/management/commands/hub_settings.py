"""Show or change the global settings, and show what governs one integration."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from settings_app import runtime, services


class Command(BaseCommand):
    help = "Show or change the global settings (declared in settings_app/runtime.py)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Print the global settings.")
        change = sub.add_parser("set", help="Change one or more global settings.")
        for setting in runtime.SETTINGS:  # one option per declared runtime setting
            if setting.type is bool:
                on, off = setting.switches or (f"--enable-{setting.name}", f"--disable-{setting.name}")
                pair = change.add_mutually_exclusive_group()
                pair.add_argument(on, dest=setting.name, action="store_const", const=True,
                                  help=f"{setting.label}: on.")
                pair.add_argument(off, dest=setting.name, action="store_const", const=False, help=setting.help_text)
            else:
                unit = setting.bound.unit.upper() if setting.bound else None
                change.add_argument(setting.option, dest=setting.name, type=setting.type, metavar=unit,
                                    help=setting.help_text)
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
        for setting in runtime.SETTINGS:
            self.stdout.write(f"{setting.label.lower() + ':':<34}{setting.display(getattr(hub, setting.name))}")

    def _set(self, options: dict[str, Any]) -> None:
        changes = {name: options[name] for name in runtime.NAMES if options.get(name) is not None}
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
