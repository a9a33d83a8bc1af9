"""What the engine does with a connector's change feed, for connector tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def drain(conn: Any, project: str, since: datetime | None, limit: int = 100) -> list[str]:
    """Follow keyset pages of ``changes_after`` until done, collecting artifact ids in order."""
    seen: list[str] = []
    after = None
    while True:
        page = conn.changes_after(project, since, after, limit)
        seen += [a.id for a in page.artifacts]
        if page.artifacts:
            after = (page.artifacts[-1].updated_at, page.artifacts[-1].id)
        if page.done:
            return seen
