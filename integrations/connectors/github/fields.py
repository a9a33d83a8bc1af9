"""GitHub issue JSON ↔ the hub's field dictionary, and the hidden hub-key marker in the body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Field name → type, as ``Connector.fields()`` reports them.
FIELDS: dict[str, str] = {
    "title": "string",
    "body": "text",
    "state": "choice",  # open | closed
    "state_reason": "choice",  # completed | not_planned | duplicate | reopened | None
    "labels": "multichoice",
    "assignees": "users",  # logins
    "assignee": "user",  # the first assignee: a single person, for person reconciliation
    "milestone": "choice",  # milestone title
    "author": "user",  # read-only: login of the creator
    "url": "url",  # read-only
}
READ_ONLY = frozenset({"author", "url"})
STATES = ("open", "closed")
# GitHub's "Update an issue": state_reason is completed, not_planned, duplicate (added 2024-25,
# with the "close as duplicate" UI) or reopened; it is ignored unless the state changes with it.
STATE_REASONS = ("completed", "not_planned", "duplicate", "reopened")

# Hidden in rendered Markdown; the key is one search token so ``/search/issues`` finds it.
MARKER = "<!-- tasktop-hub-key: {key} -->"
_MARKER_RE = re.compile(r"\s*<!-- tasktop-hub-key: (\S+) -->\s*$")


def parse_time(text: str) -> datetime:
    # GitHub: YYYY-MM-DDTHH:MM:SSZ, whole seconds, UTC.
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def format_since(when: datetime) -> str:
    """``since`` takes whole seconds; flooring keeps every artifact at ``when`` in the answer."""
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_body(body: str | None) -> tuple[str, str]:
    """(body without the marker, hub key or "")."""
    text = body or ""
    m = _MARKER_RE.search(text)
    if not m:
        return text, ""
    return text[: m.start()], m.group(1)


def join_body(body: str | None, hub_key: str) -> str:
    text = body or ""
    return f"{text}\n\n{MARKER.format(key=hub_key)}" if hub_key else text


def to_fields(issue: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    body, hub_key = split_body(issue.get("body"))
    milestone = issue.get("milestone") or None
    fields = {
        "title": issue.get("title") or "",
        "body": body,
        "state": issue.get("state"),
        "state_reason": issue.get("state_reason"),
        "labels": sorted(label["name"] if isinstance(label, dict) else str(label) for label in issue.get("labels") or []),
        "assignees": sorted(a["login"] for a in issue.get("assignees") or []),
        "assignee": ((issue.get("assignees") or [None])[0] or {}).get("login"),
        "milestone": milestone["title"] if milestone else None,
        "author": (issue.get("user") or {}).get("login", ""),
        "url": issue.get("html_url", ""),
    }
    return fields, hub_key


def to_payload(fields: Mapping[str, Any], milestones: Mapping[str, int], login_of: Any = str) -> dict[str, Any]:
    """Hub fields → PATCH/POST body. ``body`` is left to the caller (it carries the marker)."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValueError(f"GitHub issues have no field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    read_only = sorted(set(fields) & READ_ONLY)
    if read_only:
        raise ValueError(f"GitHub field(s) {', '.join(read_only)} cannot be written")
    payload: dict[str, Any] = {}
    if "title" in fields:
        payload["title"] = fields["title"] or ""
    if "state" in fields:
        state = str(fields["state"] or "").lower()
        if state not in STATES:
            raise ValueError(f"GitHub issue state must be open or closed, not {fields['state']!r}")
        payload["state"] = state
    if fields.get("state_reason"):
        if fields["state_reason"] not in STATE_REASONS:
            raise ValueError(f"state_reason must be one of {', '.join(STATE_REASONS)}, not {fields['state_reason']!r}")
        payload["state_reason"] = fields["state_reason"]
    if "labels" in fields:
        labels = fields["labels"] or []
        payload["labels"] = [labels] if isinstance(labels, str) else [str(x) for x in labels]
    if "assignees" in fields and "assignee" in fields:
        raise ValueError("Map either 'assignee' or 'assignees' of a GitHub issue, not both")
    if "assignees" in fields:
        people = fields["assignees"] or []
        payload["assignees"] = [login_of(people)] if isinstance(people, str) else [login_of(p) for p in people]
    if "assignee" in fields:  # one person replaces the assignees
        payload["assignees"] = [login_of(fields["assignee"])] if fields["assignee"] else []
    if "milestone" in fields:
        title = fields["milestone"]
        if title in (None, ""):
            payload["milestone"] = None
        elif title in milestones:
            payload["milestone"] = milestones[title]
        else:
            raise ValueError(f"GitHub has no milestone titled {title!r} in this repository")
    return payload
