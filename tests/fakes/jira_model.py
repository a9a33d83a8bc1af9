"""How the Jira stand-in (tests/fakes/jira_api.py) is *less convenient* than a lenient fake, each
rule with the published source it follows:

- **The search index lags** (:class:`SearchIndex`). Jira Cloud platform REST API, "Search for
  issues using JQL enhanced search": "Recent updates might not be immediately visible in the
  returned search results. If you need read-after-write consistency, you can utilize the
  ``reconcileIssues`` parameter" (up to 50 issue ids); Atlassian's RFC-61 and public reports of
  new issues missing from search for a while. No bound is published: ``search_lag`` seconds is the
  test's choice. ``GET /issue/{key}`` reads the issue itself and never lags.
- **Pages can be short** (:func:`page_size`). Same endpoint, ``maxResults``: "To manage page size,
  API may return fewer items per page where a large number of fields or properties are
  requested"; only ``isLast``/``nextPageToken`` say whether more follow. Atlassian publishes no
  formula: the stand-in allows ``page_budget`` field values per page (400: 36 issues with the 11
  fields the connector asks for), so every multi-page read is exercised by default.
- **People lists are capped** (:func:`user_window`). Cloud "Find users assignable to issues": it
  "takes the users in the range defined by startAt and maxResults, up to the thousandth user, and
  then returns only the users from that range that can be assigned", so "usually returns fewer
  users than specified in maxResults" (also JRACLOUD-73019: nothing past index 1000, for
  ``/user/search`` too). Data Center 10 "Find assignable users": "The maximum allowed value is 100
  (The combination of maxResults and startAt is limited to the first 100 results)"; DC 8/9 cap at
  1,000 (JSWSERVER-21156). A query narrows the list *before* the cap, so searching per person
  finds people a full listing cannot reach.
"""

from __future__ import annotations

from typing import Any

CLOUD_USER_CAP = 1000  # nothing past the thousandth user (Cloud, and Data Center before 10)
DC_USER_CAP = 100  # Data Center 10: startAt + maxResults limited to the first 100
PAGE_BUDGET = 400  # field values per search page (the stand-in's own rule: see above)


def page_size(requested: int, fields: set[str] | None, budget: int = PAGE_BUDGET) -> int:
    """Issues one search page holds: at most 100, fewer when many fields are asked for."""
    width = max(1, len(fields) if fields is not None else 30)  # no "fields": all of them (~30)
    return max(1, min(100, requested, budget // width))


def user_window(found: list[dict], start: int, size: int, cloud: bool) -> list[dict]:
    """The slice of ``found`` (already narrowed by the query) a user search may return."""
    if cloud:
        cap, size = CLOUD_USER_CAP, min(size, 1000)
    else:
        cap, size = DC_USER_CAP, min(size, 100)
    return found[start: min(start + size, cap)]


class SearchIndex:
    """What search sees: each issue as it was ``lag`` seconds ago (absent if it is younger)."""

    def __init__(self, lag: float = 0.0) -> None:
        self.lag = lag
        self._horizon = 0.0  # when the last recorded change becomes visible
        self._versions: dict[str, list[tuple[float, dict]]] = {}  # key → [(visible from, snapshot)]

    def record(self, issue: dict, now: float, at: float | None = None) -> None:
        """The issue changed at ``at`` (default ``now``): search shows this state from ``at + lag``
        on (``lag`` as it is now: a test can make one issue lag more than the next)."""
        snapshot = {**issue, "fields": {**issue["fields"], "labels": list(issue["fields"].get("labels") or [])}}
        visible_at = (now if at is None else min(at, now)) + self.lag  # a stamp set ahead of the clock: now
        self._horizon = max(self._horizon, visible_at)
        versions = self._versions.setdefault(issue["key"], [])
        versions.append((visible_at, snapshot))
        versions.sort(key=lambda v: v[0])
        # Keep what is still ahead of the clock plus the newest visible one.
        visible = [i for i, (when, _) in enumerate(versions) if when <= now]
        if len(visible) > 1:
            del versions[: visible[-1]]

    def view(self, issues: list[dict], now: float, reconcile: set[str] = frozenset()) -> list[dict]:  # type: ignore[assignment]
        """The issues search can find now; ids in ``reconcile`` are read as they are (read-after-write)."""
        if now >= self._horizon:
            return list(issues)  # the index has caught up with every change
        out: list[dict[str, Any]] = []
        for issue in issues:
            versions = self._versions.get(issue["key"]) or []
            if issue["id"] in reconcile or not versions or versions[-1][0] <= now:
                out.append(issue)  # current (the issue itself, so direct test edits show too)
                continue
            seen = [snap for when, snap in versions if when <= now]
            if seen:
                out.append(seen[-1])
        return out
