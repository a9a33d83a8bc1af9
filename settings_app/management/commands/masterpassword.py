"""manage.py masterpassword set|change|reset|enter|status

Passwords are read from a prompt (twice for new ones), or from a file / stdin with
``--password-file`` / ``--new-password-file`` / ``--current-password-file`` (``-`` = stdin), so
they never appear in the process list or shell history.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settings_app.security import master_password, vault


def _read_file(name: str) -> str:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read {name}: {exc.strerror}") from None
    return text[:-1] if text.endswith("\n") else text


class Command(BaseCommand):
    help = "Set, change, reset, enter or show the master password that encrypts stored credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p_set = sub.add_parser("set", help="Set the master password on a new installation.")
        p_set.add_argument("--password-file", help="Read the password from this file ('-' = stdin).")
        p_set.add_argument("--from-environment", action="store_true",
                           help="Use HUB_MASTER_PASSWORD or HUB_MASTER_PASSWORD_FILE (container deployments).")
        p_enter = sub.add_parser("enter", help="Enter the current password when the stored one is missing or wrong.")
        p_enter.add_argument("--password-file")
        p_change = sub.add_parser("change", help="Change it (current password required); credentials stay valid.")
        p_change.add_argument("--current-password-file")
        p_change.add_argument("--new-password-file")
        p_reset = sub.add_parser("reset", help="Reset a lost password: every stored secret is WIPED.")
        p_reset.add_argument("--new-password-file")
        p_reset.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        sub.add_parser("status", help="Show whether a master password is set and loaded.")
        for p in (p_set, p_enter, p_change, p_reset):
            p.add_argument("--no-input", action="store_true", help="Never prompt.")

    def _secret(self, file_name: str | None, prompt: str, no_input: bool, confirm: bool = False) -> str:
        if file_name:
            return _read_file(file_name)
        if no_input:
            raise CommandError(f"{prompt}: give it with a --…-file option (or '-' for stdin) when --no-input is used.")
        first = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{prompt} (again): ") != first:
            raise CommandError("The two passwords do not match.")
        return first

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except ValidationError as exc:
            messages = [f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()] if hasattr(exc, "error_dict") \
                else exc.messages
            raise CommandError(" ".join(messages)) from None

    def _status(self, **options: Any) -> None:
        st = master_password.status()
        self.stdout.write(f"Master password: {st.summary}")
        if st.configured:
            self.stdout.write(f"Loaded from: {st.source or '-'}")
            self.stdout.write(f"Stored in HUB_HOME: {'yes' if st.stored_in_home else 'no'}")
            self.stdout.write(f"Last changed: {st.changed_at:%Y-%m-%d %H:%M UTC}")
        if not st.loaded:
            self.stdout.write("Rule for new passwords: " + vault.PASSWORD_RULE)

    def _set(self, password_file: str | None = None, no_input: bool = False, from_environment: bool = False,
             **options: Any) -> None:
        if from_environment:
            from settings_app.security import password_store

            found = [pw for source, pw in password_store.candidate_passwords() if source in ("environment", "file")]
            if not found:
                raise CommandError("Neither HUB_MASTER_PASSWORD nor HUB_MASTER_PASSWORD_FILE gives a password.")
            password = found[0]
        else:
            password = self._secret(password_file, "New master password", no_input, confirm=True)
        master_password.set_password(None, password)
        self.stdout.write(self.style.SUCCESS(
            f"Master password set and stored (encrypted) in HUB_HOME ({settings.HUB_HOME})."))

    def _enter(self, password_file: str | None = None, no_input: bool = False, **options: Any) -> None:
        password = self._secret(password_file, "Current master password", no_input)
        master_password.enter_password(None, password)
        self.stdout.write(self.style.SUCCESS(
            f"Master password accepted and stored (encrypted) in HUB_HOME ({settings.HUB_HOME})."))

    def _change(self, current_password_file: str | None = None, new_password_file: str | None = None,
                no_input: bool = False, **options: Any) -> None:
        current = self._secret(current_password_file, "Current master password", no_input)
        new = self._secret(new_password_file, "New master password", no_input, confirm=True)
        st = master_password.change_password(None, current, new)
        self.stdout.write(self.style.SUCCESS("Master password changed; stored credentials stay valid."))
        if st.environment_override:
            self.stdout.write(self.style.WARNING(
                f"{st.environment_override} is set and is tried first at start: update it to the new password."))

    def _reset(self, new_password_file: str | None = None, yes: bool = False, no_input: bool = False,
               **options: Any) -> None:
        if not yes:
            if no_input:
                raise CommandError("Resetting wipes every stored secret; add --yes to confirm.")
            if input("Every stored credential will be WIPED. Type 'reset' to continue: ").strip() != "reset":
                raise CommandError("Not reset.")
        new = self._secret(new_password_file, "New master password", no_input, confirm=True)
        wiped = master_password.reset_password(None, new)
        self.stdout.write(self.style.SUCCESS(f"Master password reset; {len(wiped)} secret(s) wiped."))
        for item in wiped:
            self.stdout.write(f"  re-enter: {item.label}")
