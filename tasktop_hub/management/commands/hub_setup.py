"""Bring the operational database up to date and make sure an administrator exists."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Migrate the database, create the cache table, collect static files, and create the first "
        "administrator from HUB_ADMIN_USER/HUB_ADMIN_PASSWORD (or by asking) when none exists."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-input", action="store_true", help="Never prompt; fail if an admin is needed.")

    def handle(self, *args: Any, no_input: bool = False, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Database migrated (HUB_HOME={settings.HUB_HOME}).")
        self._ensure_admin(no_input)

    def _ensure_admin(self, no_input: bool) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True, is_active=True).exists():
            return
        username = os.environ.get("HUB_ADMIN_USER", "")
        password = os.environ.get("HUB_ADMIN_PASSWORD", "")
        if not (username and password):
            if no_input:
                raise CommandError("No administrator exists; set HUB_ADMIN_USER and HUB_ADMIN_PASSWORD.")
            username = username or input("First administrator's username [admin]: ").strip() or "admin"
            while not password:
                first = getpass.getpass("Password: ")
                if first != getpass.getpass("Password (again): "):
                    self.stderr.write("The passwords differ; try again.")
                    continue
                password = first
        user = User(username=username, is_staff=True, is_superuser=True)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("The administrator password is refused: " + " ".join(exc.messages)) from None
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named '{username}' exists but is not an active superuser.")
        user.set_password(password)
        user.save()
        self.stdout.write(f"Administrator '{username}' created.")
