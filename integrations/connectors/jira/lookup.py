"""Finding the issue a create left behind when its answer was lost, without trusting search alone.

Jira's search index is eventually consistent (Cloud: "Recent updates might not be immediately
visible in the returned search results"; Atlassian publishes no bound), so a label search right
after a create whose response was lost can miss the new issue, and the engine would create it a
second time. ``GET /issue/{key}`` reads the issue itself and is consistent at once, and keys are
numbered in order within a project. So after the label search comes up empty, the connector asks
search for the project's newest issue it *does* know, and reads the keys after it one by one: what
the index has not caught up with yet is exactly there. It stops after ``GAP`` keys in a row that
do not exist (a deleted issue leaves a hole in the numbering) or ``LIMIT`` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.connectors.jira.client import JiraHttp

GAP = 2  # consecutive missing keys that end the walk
LIMIT = 100  # keys read at most: creations by people and other threads meanwhile


def newest_with_label(http: JiraHttp, search: Callable[[str, int], list[dict]], project: str, label: str,
                      fields: str) -> dict | None:
    """The issue carrying ``label`` among those created after the newest one search knows."""
    newest = search(f'project = "{project}" ORDER BY key DESC', 1)
    number = int(newest[0]["key"].rpartition("-")[2]) if newest else 0
    missing = reads = 0
    while missing < GAP and reads < LIMIT:
        number += 1
        reads += 1
        issue, status = http.get(f"/issue/{project}-{number}", {"fields": fields}, allow=(404,))
        if status == 404:
            missing += 1
            continue
        missing = 0
        if label in (_fields(issue).get("labels") or []):
            return issue
    return None


def _fields(issue: Any) -> dict:
    return (issue or {}).get("fields") or {}
