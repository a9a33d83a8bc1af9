"""The support and usage report: one zip an administrator sends to support.

Contents (``README.txt`` inside lists them): the log files, newest first within a size cap;
versions (Python, Django, every installed package); the configuration with every secret
redacted; the health result; the license summary; the database vendor and migration state;
usage counts (each app's registered section, ``tasktop_hub/support.py``).

No secret may reach the zip: configuration values are masked by name (anything named like a
password, key, token or secret, and passwords inside URLs), and then every file — the log
files included — is run through a redactor that knows every secret the hub stores (each
encrypted field of each row, decrypted for this purpose only), the Django secret key and the
database password.
"""

from __future__ import annotations

import io
import json
import platform
import re
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tasktop_hub import support

LOG_CAP_BYTES = 50 * 1024 * 1024
MASK = "***"
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|key|credential)")
Progress = Callable[[int, int, str], None]


def _masked_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        return MASK
    if parts.password:
        netloc = f"{parts.username}:{MASK}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return value


def redact_config(value: Any, name: str = "") -> Any:
    """Mask values by the name they are stored under, recursively; passwords in URLs too."""
    if SECRET_NAME.search(name) and value not in (None, "", [], {}):
        if isinstance(value, int | float | bool) and not isinstance(value, bool):
            return value  # a number named like a key (e.g. MAX_BYTES) is no secret
        return MASK
    if isinstance(value, dict):
        return {str(k): redact_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_config(v, name) for v in value]
    if isinstance(value, str) and "://" in value:
        return _masked_url(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


def stored_secrets() -> list[str]:
    """Every secret the hub holds: each encrypted field's value (when the vault is open), the
    Django secret key, the database password."""
    from settings_app.security import vault
    from settings_app.security.fields import encrypted_fields

    values: list[str] = [settings.SECRET_KEY, str(settings.DATABASES["default"].get("PASSWORD") or "")]
    for field in encrypted_fields():
        for obj in field.model._base_manager.all().iterator():
            try:
                value = getattr(obj, field.attname)
            except vault.VaultError:
                continue  # locked: these cannot be written anywhere by this process either
            values += [v for v in (value.values() if isinstance(value, dict) else [value]) if isinstance(v, str)]
    return [v for v in values if v and len(v) >= 4]


class Scrubber:
    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted(set(secrets), key=len, reverse=True)
        self.redactors = support.redactors(self.secrets)

    def __call__(self, text: str) -> str:
        for redactor in self.redactors:
            text = redactor(text)
        for secret in self.secrets:  # whatever no registered redactor knows
            text = text.replace(secret, MASK)
        return text


def log_files() -> list[Path]:
    """hub.log and its rotated files, newest first."""
    directory = Path(settings.HUB_LOG_DIR)
    files = [p for p in directory.glob("*.log*") if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def versions() -> dict[str, Any]:
    import django

    packages = sorted({(d.metadata["Name"] or "?", d.version) for d in metadata.distributions()},
                      key=lambda x: x[0].lower())
    return {"python": sys.version, "platform": platform.platform(), "django": django.get_version(),
            "packages": {name: version for name, version in packages}}


def configuration() -> dict[str, Any]:
    import os

    from settings_app.email import services as email
    from settings_app.hublog import services as logging_level
    from settings_app.runtime import SETTINGS
    from settings_app.services import get_settings

    names = ["DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "HUB_HOME", "HUB_LOG_DIR", "HUB_LOG_LEVEL",
             "HUB_LOG_MAX_BYTES", "HUB_LOG_BACKUPS", "HUB_TASK_TIMEOUT", "HUB_WORKER_STALE_SECONDS", "Q_CLUSTER",
             "DATABASES", "CACHES", "TIME_ZONE", "INSTALLED_APPS", "HUB_CONNECTION_SQLITE_DIRS",
             "HUB_CONNECTION_ALLOWED_HOSTS", "HUB_CONNECTION_DENIED_HOSTS", "SECRET_KEY"]
    django_settings = {name: getattr(settings, name, None) for name in names}
    environment = {k: v for k, v in os.environ.items() if k.startswith(("HUB_", "DATABASE_URL", "DJANGO_"))}
    hub = get_settings()
    mail = email.get()
    return redact_config({
        "django_settings": django_settings,
        "environment": environment,
        "runtime_settings": {s.name: getattr(hub, s.name) for s in SETTINGS},
        "logging_level": logging_level.state().describe(),
        "email_notifications": None if mail is None else {
            **{f: getattr(mail, f) for f in email.FIELDS}, "enabled": mail.enabled,
            "last_success_at": str(mail.last_success_at), "last_failure": mail.last_failure},
    })


def health() -> dict[str, Any]:
    from tasktop_hub.api.health import run_checks

    return {name: {"ok": r.ok, "message": r.message} for name, r in run_checks().items()}


def database() -> dict[str, Any]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    applied = set(loader.applied_migrations)
    by_app: dict[str, dict[str, list[str]]] = {}
    for app, name in sorted(loader.disk_migrations):
        entry = by_app.setdefault(app, {"applied": [], "unapplied": []})
        entry["applied" if (app, name) in applied else "unapplied"].append(name)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SELECT version()")
            version = str(cursor.fetchone()[0])
    except Exception:  # noqa: BLE001 — the version is a nicety; the vendor is what matters
        version = ""
    return {"vendor": connection.vendor, "version": version, "migrations": by_app,
            "unapplied": sum(len(v["unapplied"]) for v in by_app.values())}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def build(out: IO[bytes], progress: Progress | None = None, log_cap: int = LOG_CAP_BYTES) -> dict[str, Any]:
    """Write the report zip to ``out``; returns a summary (files, sizes, skipped logs)."""
    scrub = Scrubber(stored_secrets())
    progress = progress or (lambda done, total, what: None)
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("versions.json", versions), ("configuration.json", configuration), ("health.json", health),
        ("database.json", database),
    ] + [(f"{name}.json", build_section) for name, build_section in sorted(support.sections().items())]
    logs = log_files()
    total = len(parts) + len(logs)
    summary: dict[str, Any] = {"created": timezone.now().isoformat(), "files": [], "logs_left_out": []}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for done, (name, make) in enumerate(parts, 1):
            try:
                text = _json(make())
            except Exception as exc:  # noqa: BLE001 — one broken section must not cost the whole report
                text = _json({"error": f"{type(exc).__name__}: {exc}"})
            zf.writestr(name, scrub(text))
            summary["files"].append(name)
            progress(done, total, name)
        used = 0
        for n, path in enumerate(logs, len(parts) + 1):
            size = path.stat().st_size
            if summary["logs_left_out"] or used + size > log_cap:  # newest first: once full, older ones stay out
                summary["logs_left_out"].append(path.name)
                continue
            used += size
            zf.writestr(f"logs/{path.name}", scrub(path.read_text(errors="replace")))
            summary["files"].append(f"logs/{path.name}")
            progress(n, total, path.name)
        zf.writestr("README.txt", _readme(summary, log_cap))
    return summary


def _readme(summary: dict[str, Any], log_cap: int) -> str:
    left_out = ", ".join(summary["logs_left_out"]) or "none"
    return (f"tasktop_hub support and usage report, created {summary['created']}.\n\n"
            "versions.json       Python, Django and every installed package\n"
            "configuration.json  settings, environment, runtime settings; every secret masked as ***\n"
            "health.json         the /api/health checks\n"
            "database.json       database vendor and version, applied and unapplied migrations\n"
            "license.json        the license summary\n"
            "usage_*.json        usage counts\n"
            f"logs/               the log files, newest first, at most {log_cap // (1024 * 1024)} MiB "
            f"(left out: {left_out})\n")


def write(path: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Build into ``path`` atomically: a half-written report never carries the final name."""
    tmp = path.with_name(f".{path.name}.partial")
    with tmp.open("wb") as out:
        summary = build(out, progress)
    tmp.replace(path)
    return summary


def to_bytes() -> bytes:
    buffer = io.BytesIO()
    build(buffer)
    return buffer.getvalue()


def filename(now: datetime | None = None) -> str:
    return f"tasktop-hub-support-{(now or timezone.now()):%Y%m%d-%H%M%S}.zip"
