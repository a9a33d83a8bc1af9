"""manage.py license keygen|issue|apply|show

``keygen`` and ``issue`` let an operator run an issuer (normally on a machine other than the
hub); ``apply`` and ``show`` manage the license of this hub.
"""

from __future__ import annotations

import getpass
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing import keys, services, trust
from tasktop_hub.home import write_private_file


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"'{text}' is not a date; use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Generate issuer keys, issue license keys, apply a license to this hub, or show it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p_keygen = sub.add_parser("keygen", help="Create an issuer key pair (Ed25519).")
        p_keygen.add_argument("--out", required=True, help="File for the private key (PEM, written 0600).")
        p_keygen.add_argument("--encrypt", action="store_true", help="Protect the private key with a passphrase.")
        p_issue = sub.add_parser("issue", help="Sign a license key with an issuer private key.")
        p_issue.add_argument("--key", required=True, help="The issuer private key (PEM) from 'keygen'.")
        p_issue.add_argument("--licensee", required=True)
        p_issue.add_argument("--issuer", required=True, help="The issuer's name, shown on the Settings screen.")
        p_issue.add_argument("--type", default="Enterprise", dest="license_type")
        p_issue.add_argument("--description", default="")
        p_issue.add_argument("--max-users", type=int, required=True)
        p_issue.add_argument("--expires", required=True, help="Expiration date, YYYY-MM-DD (valid through it, UTC).")
        p_issue.add_argument("--created", help="Created date, YYYY-MM-DD (default: today).")
        p_apply = sub.add_parser("apply", help="Apply a license key to this hub.")
        p_apply.add_argument("key", nargs="?", help="The key; omit to read it from --file or stdin.")
        p_apply.add_argument("--file", help="Read the key from this file ('-' = stdin).")
        p_apply.add_argument("--issuer-public-key", default="",
                             help="The issuer's public key, if this hub does not trust it yet: trusted only if it "
                                  "signed the key, when the key is applied.")
        sub.add_parser("show", help="Show the license in force.")
        p_trust = sub.add_parser("trust", help="Trust a license issuer's public key (kept in HUB_HOME/trusted_issuers).")
        p_trust.add_argument("public_key", help="The public key printed by 'keygen' (base64 or PEM).")
        p_issue.add_argument("--apply", action="store_true",
                             help="Issuing for this hub: trust the issuer's public key and apply the key at once.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _passphrase(self, prompt: str) -> bytes | None:
        value = getpass.getpass(prompt)
        return value.encode() if value else None

    def _keygen(self, out: str, encrypt: bool = False, **options: Any) -> None:
        path = Path(out)
        if path.exists():
            raise CommandError(f"{path} exists; refusing to overwrite an issuer key.")
        passphrase = None
        if encrypt:
            passphrase = self._passphrase("Passphrase for the private key: ")
            if passphrase is None or getpass.getpass("Passphrase (again): ").encode() != passphrase:
                raise CommandError("The passphrases are empty or do not match.")
        private = keys.generate_private_key()
        write_private_file(path.resolve(), keys.private_key_pem(private, passphrase))
        public = private.public_key()
        self.stdout.write(f"Private key written to {path} (mode 0600). Keep it off the hub and backed up.")
        self.stdout.write(f"Issuer key id: {keys.key_id(public)}")
        self.stdout.write("Public key (paste it beside the license key on a hub's setup page, or run "
                          "`manage.py license trust <key>` on every hub that should trust this issuer):")
        self.stdout.write(keys.public_key_text(public))

    def _issue(self, key: str, licensee: str, issuer: str, license_type: str, description: str, max_users: int,
               expires: str, created: str | None = None, apply: bool = False, **options: Any) -> None:
        try:
            pem = Path(key).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {key}: {exc.strerror}") from None
        try:
            private = keys.load_private_key(pem)
        except TypeError:  # encrypted: ask for the passphrase
            private = keys.load_private_key(pem, self._passphrase("Passphrase for the private key: "))
        except ValueError as exc:
            raise CommandError(f"{key} is not an Ed25519 private key in PEM: {exc}") from None
        if max_users < 1:
            raise CommandError("--max-users must be at least 1.")
        created_date = _date(created) if created else date.today()
        expires_date = _date(expires)
        if expires_date < created_date:
            raise CommandError("--expires is before the created date.")
        document = keys.LicenseDocument(type=license_type, description=description, max_users=max_users,
                                        created=created_date, expires=expires_date, issuer=issuer, licensee=licensee)
        license_key = keys.issue(private, document)
        self.stdout.write(license_key)
        if apply:
            # One step: the issuer is trusted (audited) together with the key's application, never alone.
            self._apply(key=license_key, issuer_public_key=keys.public_key_text(private.public_key()))
            self.stdout.write(f"Issuer key {keys.key_id(private.public_key())} is trusted by this hub.")

    def _trust(self, public_key: str, **options: Any) -> None:
        try:
            kid, new = trust.trust(None, public_key)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        where = trust.path()
        self.stdout.write(self.style.SUCCESS(f"Issuer key {kid} is now trusted (kept in {where}).") if new
                          else f"Issuer key {kid} was already trusted.")

    def _apply(self, key: str | None = None, file: str | None = None, issuer_public_key: str = "",
               **options: Any) -> None:
        if key is None:
            try:
                key = sys.stdin.read() if file in (None, "-") else Path(file).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            lic = services.apply_license(None, key, issuer_public_key)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(
            f"License applied: {lic.license_type} for {lic.licensee}, {lic.max_users} users, valid through "
            f"{lic.expires.isoformat()} (the hub in HUB_HOME={settings.HUB_HOME})."))

    def _show(self, **options: Any) -> None:
        st = services.state()
        if st.license is None:
            self.stdout.write("Unlicensed. Apply a license with `manage.py license apply`.")
            return
        lic = st.license
        for label, value in (
            ("Status", "Expired" if st.state == "expired" else f"Valid ({st.days_left} day(s) left)"),
            ("License Type", lic.license_type), ("Description", lic.description or "-"),
            ("Maximum Users", f"{lic.max_users} ({st.active_users} active)"),
            ("Created Date", lic.created.isoformat()), ("Expiration Date", lic.expires.isoformat()),
            ("Issuer", lic.issuer), ("Licensee", lic.licensee), ("Issuer key id", lic.issuer_key_id),
        ):
            self.stdout.write(f"{label}: {value}")
        if st.warning:
            self.stdout.write(self.style.WARNING(st.warning))
