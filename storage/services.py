"""Storage state changes: test, transfer, cleanup, relocate, override (validated, audited)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connections

from notifications import jobs
from notifications.models import BackgroundJob
from notifications.services import record_audit
from storage import lease, pause, tables
from storage.connect import TestReport, alias_for, test_connection
from storage.transfer import MARKER, TransferJob, current_entry, marker_owner, starting
from storage.vendors import build_entry, describe_entry, parse_location, vendor_of_entry
from tasktop_hub import database

Actor = AbstractBaseUser | AnonymousUser | None

CONFIRMATION = "I understand"
TRANSFER_WARNING = (
    "The hub pauses processing, copies all of its data to the target database, verifies it and then runs on the "
    "target. Back up the internal database first. The target must be empty. Processing resumes by itself; if the "
    "transfer fails or is aborted the hub goes on with its current database, untouched."
)
RELOCATE_WARNING = (
    "Only the location or credentials of the same database change; no data is transferred. The hub checks that "
    "the new location reaches this very database (its identity) before saving."
)
OVERRIDE_WARNING = (
    "Overriding takes this database back from the other hub installation, which then stops processing. Make sure "
    "no other installation is using this database — shut it down first."
)


def _check_not_managed() -> None:
    if settings.HUB_DATABASE_MANAGED_BY_ENV:
        raise ValidationError("The database is managed by the environment (DATABASE_URL); change it there.")


def entry_from_input(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(vendor, DATABASES entry) from vendor, location, username, password, tls, ca_file."""
    location = parse_location(str(data.get("vendor", "")), str(data.get("location", "")))
    entry = build_entry(location, str(data.get("username", "")), str(data.get("password", "")),
                        str(data.get("tls") or ""), str(data.get("ca_file") or ""))
    return location.vendor, entry


def _own_identity() -> str | None:
    try:
        return lease.database_identity()
    except Exception:  # noqa: BLE001
        return None


def test(data: dict[str, Any]) -> TestReport:
    _vendor, entry = entry_from_input(data)
    return test_connection(entry, _own_identity())


def _check_no_transfer(what: str) -> None:
    """The storage views are exempt from the write guard: what could disturb a transfer waits."""
    if pause.is_fresh(pause.read()):
        raise ValidationError(f"A database transfer is running; {what} once it has finished (or abort it).")


def _confirm(confirm: str, what: str) -> None:
    if not str(confirm or "").startswith(CONFIRMATION):
        raise ValidationError({"confirm": f"Read the warning and confirm with \"{CONFIRMATION} …\" to {what}."})


def running_transfer() -> BackgroundJob | None:
    return BackgroundJob.objects.filter(kind=TransferJob.kind, status__in=[BackgroundJob.Status.QUEUED,
                                                                           BackgroundJob.Status.RUNNING]).first()


def start_transfer(data: dict[str, Any], confirm: str, actor: Actor) -> BackgroundJob:
    _check_not_managed()
    _confirm(confirm, "transfer")
    vendor, entry = entry_from_input(data)
    if vendor_of_entry(current_entry()) == vendor and _same_place(entry, current_entry()):
        raise ValidationError({"location": "That is the database the hub already uses."})
    if running_transfer() is not None and pause.is_fresh(pause.read()):
        raise ValidationError("A database transfer is already running.")
    report = test_connection(entry, _own_identity())
    if not report.ok:
        failed = "; ".join(c.message for c in report.checks if c.ok is False)
        raise ValidationError({"location": f"The connection test failed: {failed}"})
    if report.contents != "empty":
        raise ValidationError({"location": report.checks[-1].message})
    home = Path(settings.HUB_HOME)
    sealed = database.encrypt_secret(home, entry["PASSWORD"]) if entry.get("PASSWORD") else ""
    public = {k: v for k, v in entry.items() if k != "PASSWORD"}
    with starting():
        record = jobs.enqueue(TransferJob.kind, {"target": public, "vendor": vendor, "password_encrypted": sealed},
                              actor)
    record_audit(actor, "storage.transfer", f"job:{record.pk}", database=describe_entry(entry))
    return record


def abort_transfer(actor: Actor) -> BackgroundJob:
    job = running_transfer()
    if job is None:
        raise ValidationError("No database transfer is running.")
    record_audit(actor, "storage.transfer.abort", f"job:{job.pk}")
    return jobs.cancel(job.pk)


def _same_place(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(str(a.get(k) or "") == str(b.get(k) or "") for k in ("ENGINE", "NAME", "HOST", "PORT"))


def cleanup(data: dict[str, Any], actor: Actor) -> list[str]:
    """Drop a failed transfer's tables on a target — only if this installation's transfer made them."""
    _check_no_transfer("clean up")
    vendor, entry = entry_from_input(data)
    if _same_place(entry, current_entry()):
        raise ValidationError({"location": "That is the database the hub uses now; cleanup never touches it."})
    with alias_for(entry) as alias:
        owner = marker_owner(alias)
        present = tables.existing_tables(alias) & tables.hub_table_names()
        if owner is None:
            if present:
                raise ValidationError({"location": "These tables were not made by a transfer of this hub (no transfer "
                                                   "marker); cleanup leaves them alone."})
            return []
        if owner != settings.HUB_INSTALLATION_ID:
            raise ValidationError({"location": "Another hub installation's transfer made these tables; cleanup leaves "
                                               "them alone."})
        dropped = sorted(present | {MARKER})
        conn = connections[alias]
        with conn.cursor() as cursor:
            if vendor == "mysql":
                cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for name in dropped:
                cascade = " CASCADE" if vendor in ("postgresql",) else (" CASCADE CONSTRAINTS" if vendor == "oracle"
                                                                         else "")
                cursor.execute(f"DROP TABLE {conn.ops.quote_name(name)}{cascade}")
    record_audit(actor, "storage.cleanup", describe_entry(entry), tables=len(dropped))
    return dropped


def relocate(data: dict[str, Any], confirm: str, actor: Actor) -> dict[str, Any]:
    """The same external database at a new location or with new credentials: verify, then save."""
    _check_not_managed()
    _check_no_transfer("save a new location")
    _confirm(confirm, "save the new location")
    vendor, entry = entry_from_input(data)
    if vendor_of_entry(current_entry()) == "sqlite":
        raise ValidationError("The hub uses its internal database; move to an external one with a transfer.")
    report = test_connection(entry, _own_identity())
    if not report.ok or report.contents != "this_hub":
        raise ValidationError({"location": "The new location does not reach this hub's database (its identity "
                                           f"differs or the test failed): {report.checks[-1].message}"})
    database.write_record(Path(settings.HUB_HOME), Path(settings.HUB_DB_DIR), entry, vendor,
                          previous=describe_entry(current_entry()), relocated=True)
    database.refresh_now()
    record_audit(actor, "storage.relocate", describe_entry(entry))
    return {"database": describe_entry(entry)}


def override(confirm: str, actor: Actor) -> dict[str, Any]:
    _check_no_transfer("override")
    _confirm(confirm, "override")
    state = lease.override()
    record_audit(actor, "storage.lease.override", f"database:{lease.database_identity()}")
    return state


def status() -> dict[str, Any]:
    entry = current_entry()
    vendor = vendor_of_entry(entry)
    conn = connections["default"]
    try:
        version = ".".join(str(p) for p in conn.get_database_version())
    except Exception:  # noqa: BLE001
        version = ""
    last = BackgroundJob.objects.filter(kind=TransferJob.kind).order_by("-created_at").first()
    record = database.read_record(Path(settings.HUB_DB_DIR)) if not settings.HUB_DATABASE_MANAGED_BY_ENV else None
    return {
        "database": describe_entry(entry),
        "vendor": vendor,
        "server_version": version,
        "internal": vendor == "sqlite",
        "managed_by_environment": settings.HUB_DATABASE_MANAGED_BY_ENV,
        "configured_since": (record or {}).get("since"),
        "backup": (record or {}).get("backup") or "",
        "database_id": _own_identity(),
        "instance_lease": lease.status(),
        "transfer_running": pause.reason(),
        "last_transfer": None if last is None else {
            "job": last.pk, "status": last.status, "created_at": last.created_at.isoformat(),
            "error": last.error, "result": last.result},
    }
