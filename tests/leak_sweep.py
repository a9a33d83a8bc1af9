"""Where a leaked secret could surface, searched: every API response, every admin page, the log
records and the hub's log file, and a ``dumpdata`` export of the database.

``assert_clean`` also decodes every base64 run in the text (a ``Basic`` header is base64 of
``user:password``) and URL-decodes the text, so a canary is found in any of those spellings.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path
from urllib.parse import unquote, unquote_plus

from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.tasktop_hub.test_roles import _endpoints, _methods

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")


def _spellings(text: str) -> list[str]:
    out = [text, unquote(text), unquote_plus(text)]
    for run in _BASE64_RUN.findall(text):
        for start in range(4):  # a run may begin mid-token: try each alignment
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    out.append(decode(chunk).decode("utf-8", errors="replace"))
                except (binascii.Error, ValueError):
                    pass
    return out


def assert_clean(text: str, where: str, canaries: list[str]) -> None:
    spellings = _spellings(text)
    for canary in canaries:
        for spelling in spellings:
            assert canary not in spelling, f"secret {canary!r} leaked in {where}"


def sweep_api(client: Client, canaries: list[str], pk_by_prefix: dict[str, str] | None = None) -> None:
    """GET every API endpoint (JSON and the browsable HTML); ``999999`` in a path → the given pk."""
    for path, callback in _endpoints():
        if "get" not in _methods(callback):
            continue
        for prefix, pk in (pk_by_prefix or {}).items():
            if path.startswith(prefix):
                path = path.replace("999999", pk)
        for suffix in ("", "?format=api"):
            response = client.get(path + suffix)
            assert_clean(response.content.decode(errors="replace"), f"GET {path}{suffix}", canaries)


def sweep_admin(client: Client, canaries: list[str], extra: tuple[str, ...] = ()) -> None:
    """The admin index, custom screens, and each model's list, add and change pages."""
    pages = ["/admin/", "/admin/settings/", "/admin/activity/", *extra]
    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        for name in ("changelist", "add"):
            try:
                pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_{name}"))
            except NoReverseMatch:
                pass
        for obj in model._default_manager.all()[:20]:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    for page in pages:
        response = client.get(page)
        assert response.status_code in (200, 302, 403), (page, response.status_code)
        assert_clean(response.content.decode(errors="replace"), f"admin page {page}", canaries)


def sweep_logs(records: list, log_file: Path, log_start: int, canaries: list[str]) -> None:
    assert_clean("\n".join(r.getMessage() + str(r.args) + str(r.exc_text) for r in records), "log records",
                 canaries)
    if log_file.exists():
        with log_file.open(encoding="utf-8", errors="replace") as fh:
            fh.seek(log_start)
            assert_clean(fh.read(), "the log file", canaries)


def sweep_database(canaries: list[str]) -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert_clean(dump, "dumpdata", canaries)
    return dump
