"""Email notifications from the shell: show, set, test, on, off, delete, send-now.

The password is never an argument (it would sit in the shell history and the process list):
``--password-stdin`` reads it from standard input, ``--clear-password`` removes it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from settings_app.email import digest, services, transport
from settings_app.email.models import EmailSettings
from settings_app.security.fields import is_secret_set

# The options come from the model's fields (services.FIELDS): one declaration. Short aliases
# for the ones typed most.
ALIASES = {"to_address": ["--to"], "from_address": ["--from"], "frequency_minutes": ["--frequency"]}


def _field_type(name: str) -> type:
    return int if isinstance(EmailSettings._meta.get_field(name), models.IntegerField) else str


def _values_options(parser: CommandParser) -> None:
    for name in services.FIELDS:
        if name == "ca_bundle":
            continue  # a file, read below
        field = EmailSettings._meta.get_field(name)
        assert isinstance(field, models.Field)  # FIELDS are the model's own columns, never relations
        parser.add_argument("--" + name.replace("_", "-"), *ALIASES.get(name, []), dest=name, type=_field_type(name),
                            choices=[c for c, _ in field.choices] if field.choices else None,
                            help=str(field.help_text) or None)
    parser.add_argument("--ca-bundle", metavar="PEM_FILE", help="A file of CA certificates; '' clears it.")
    parser.add_argument("--password-stdin", action="store_true", help="Read the SMTP password from standard input.")
    parser.add_argument("--clear-password", action="store_true")


class Command(BaseCommand):
    help = "Show or change the email notification settings, test them, turn them on/off, send a digest now."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="Print the settings and the last outcomes.")
        _values_options(sub.add_parser("set", help="Create or change the settings."))
        test = sub.add_parser("test", help="Test the connection with the saved settings and these (unsaved) values.")
        _values_options(test)
        test.add_argument("--send-test-email", action="store_true")
        for name in ("on", "off", "delete"):
            sub.add_parser(name)
        sub.add_parser("send-now", help="Send the digest now if there is something new.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "show":
                self._show()
            elif action in ("set", "test"):
                values, password = self._values(options)
                if action == "set":
                    services.save(None, values, password)
                    self._show()
                else:
                    self._test(values, password, options["send_test_email"])
            elif action in ("on", "off"):
                services.set_enabled(None, action == "on")
                self._show()
            elif action == "delete":
                self.stdout.write("Deleted." if services.delete(None) else "There were no email settings.")
            else:
                self.stdout.write(digest.run(force=True))
        except ValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"settings": exc.messages}
            raise CommandError(" ".join(f"{f}: {' '.join(m)}" for f, m in detail.items())) from None

    def _values(self, options: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        values = {name: options[name] for name in services.FIELDS if name != "ca_bundle" and options.get(name) is not None}
        if options.get("ca_bundle") is not None:
            path = options["ca_bundle"]
            try:
                values["ca_bundle"] = Path(path).read_text() if path else ""
            except OSError as exc:
                raise CommandError(f"--ca-bundle: cannot read {path}: {exc.strerror}.") from None
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        elif options["clear_password"]:
            password = ""
        return values, password

    def _test(self, values: dict[str, Any], password: str | None, send: bool) -> None:
        result = services.test_connection(values, password, send)
        for step in result.steps:
            self.stdout.write(f"{'ok ' if step.ok else 'FAILED'} {step.name}: {step.message}")
        if not result.ok:
            raise CommandError(result.failure or "The test failed.")

    def _show(self) -> None:
        obj = services.get()
        if obj is None:
            self.stdout.write("No email server is set up (notifications set --to … --host …).")
            return
        rows: list[tuple[str, object]] = [("notifications", "on" if obj.enabled else "off")]
        rows += [(f, getattr(obj, f)) for f in services.FIELDS if f != "ca_bundle"]
        rows += [("effective port", obj.port or transport.DEFAULT_PORTS[obj.protocol]),
                 ("password", "set" if is_secret_set(obj, "password") else "not set"),
                 ("ca bundle", "set" if obj.ca_bundle.strip() else "not set"),
                 ("last sent", obj.last_success_at or "never"), ("last attempt", obj.last_attempt_at or "never"),
                 ("last failure", f"{obj.last_failure_at}: {obj.last_failure}" if obj.last_failure else "none")]
        for name, value in rows:
            self.stdout.write(f"{name.replace('_', ' ') + ':':<22}{'' if value is None else value}")
