"""``manage.py logging show | troubleshoot --for 2h | troubleshoot --until TIME | normal``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from settings_app.hublog import services


class Command(BaseCommand):
    help = "Show the logging level, turn Troubleshooting on (at most 24 hours) or back to Normal."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show")
        trouble = sub.add_parser("troubleshoot", help="DEBUG for the hub's own loggers until a time.")
        when = trouble.add_mutually_exclusive_group(required=True)
        when.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 30m, 2h, 1h30m (at most 24h)")
        when.add_argument("--until", metavar="TIME", help="an ISO time with its zone, e.g. 2026-12-02T09:00Z")
        sub.add_parser("normal", help="Stop Troubleshooting now.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "troubleshoot":
                if options["duration"]:
                    services.troubleshoot(None, duration=services.parse_duration(options["duration"]))
                else:
                    until = parse_datetime(options["until"].replace("Z", "+00:00"))
                    if until is None:
                        raise CommandError(f"--until: '{options['until']}' is not an ISO date and time.")
                    services.troubleshoot(None, until=until)
            elif action == "normal":
                services.normal(None)
        except ValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"level": exc.messages}
            raise CommandError(" ".join(f"{f}: {' '.join(m)}" for f, m in detail.items())) from None
        self.stdout.write(f"Logging level: {services.state().describe()}")
