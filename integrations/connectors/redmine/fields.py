"""Redmine issue JSON ↔ the hub's flat field dictionary.

Field names the connector exposes (values are plain strings/numbers):

- ``subject``, ``description``, ``start_date``, ``due_date`` (YYYY-MM-DD), ``done_ratio``,
  ``estimated_hours``: as Redmine has them;
- ``status``, ``tracker``, ``priority``: by *name* (written by name or id);
- ``assigned_to``, ``author`` (read only): the user's id as a string (written by id or login);
- ``cf:<name>``: a custom field by its name (the hub-key field is not exposed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

PLAIN = ("subject", "description", "start_date", "due_date", "done_ratio", "estimated_hours")
NAMED = ("status", "tracker", "priority")
READ_ONLY = ("author",)
LABELS = {
    "subject": "Subject", "description": "Description", "status": "Status", "tracker": "Tracker",
    "priority": "Priority", "assigned_to": "Assignee", "author": "Author (read only)",
    "start_date": "Start date", "due_date": "Due date", "done_ratio": "% Done", "estimated_hours": "Estimated time",
}
CF_PREFIX = "cf:"


def parse_time(value: str) -> datetime:
    """Redmine's JSON times are UTC with whole seconds: ``2026-11-28T12:17:19Z``."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def format_since(since: datetime) -> str:
    """The ``updated_on>=`` value: whole seconds, UTC, with ``Z`` (offsets and fractions get 422)."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return ">=" + since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_second(when: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def to_fields(issue: Mapping[str, Any], hub_key_field: int | None) -> tuple[dict[str, Any], str]:
    """The flat fields of an issue, and its hub key ("" when none)."""
    fields: dict[str, Any] = {name: issue.get(name) for name in PLAIN}
    if fields["description"] is None:
        fields["description"] = ""
    for name in NAMED:
        fields[name] = (issue.get(name) or {}).get("name")
    fields["assigned_to"] = _ref_id(issue.get("assigned_to"))
    fields["author"] = _ref_id(issue.get("author"))
    hub_key = ""
    for cf in issue.get("custom_fields") or []:
        if cf.get("id") == hub_key_field:
            hub_key = str(cf.get("value") or "")
        else:
            fields[CF_PREFIX + cf["name"]] = cf.get("value")
    return fields, hub_key


def version(updated_on: str, fields: Mapping[str, Any]) -> str:
    # updated_on has whole seconds: the digest tells apart two states written in one second.
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"{updated_on}/{digest}"


def _ref_id(ref: Mapping[str, Any] | None) -> str:
    return str(ref["id"]) if ref and ref.get("id") is not None else ""
