"""Status changes through Jira's transitions API, along the shortest path of allowed transitions.

Jira will not set ``status`` directly, and its REST API only shows the transitions available from
an issue's *current* status. The workflow graph is therefore learned: every ``/transitions``
answer adds edges, and when no path is known yet the connector looks (read-only) at the
transitions of another issue of the same project and type that sits in an unexplored status. No
issue is moved to discover the workflow; if a status has no issue in it and no path is known, the
error says so and names what is known.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from integrations.connectors.base import ConnectorError
from integrations.connectors.jira.client import JiraHttp

MAX_STEPS = 12


def shortest_path(graph: dict[str, dict[str, str]], start: str, goal: str) -> list[str] | None:
    """Statuses to pass through after ``start``, ending with ``goal`` (case-insensitive names)."""
    start_l, goal_l = start.lower(), goal.lower()
    lowered = {s.lower(): {t.lower(): t for t in targets} for s, targets in graph.items()}
    previous: dict[str, str | None] = {start_l: None}
    queue = deque([start_l])
    while queue:
        node = queue.popleft()
        if node == goal_l:
            path = []
            while previous[node] is not None:
                path.append(node)
                node = previous[node]  # type: ignore[assignment]
            return list(reversed(path))
        for nxt in lowered.get(node, {}):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


class Mover:
    def __init__(self, http: JiraHttp, search: Any) -> None:
        self.http = http
        self.search = search  # callable(jql, max_results) -> list of issue JSON (status, issuetype fields)

    def _available(self, issue_id: str, status: str, graph: dict[str, dict[str, str]]) -> dict[str, str]:
        data, _ = self.http.get(f"/issue/{issue_id}/transitions")
        options = {t["to"]["name"]: t["id"] for t in (data or {}).get("transitions") or []}
        with self.http.lock:
            graph.setdefault(status, {}).update({to: tid for to, tid in options.items()})
        return options

    def move(self, issue_id: str, target: str) -> int:
        """Move the issue to ``target``; returns the number of transitions made."""
        data, _ = self.http.get(f"/issue/{issue_id}", {"fields": "status,project,issuetype"})
        fields = data["fields"]
        current = fields["status"]["name"]
        project, issue_type = fields["project"]["key"], (fields.get("issuetype") or {}).get("name", "")
        with self.http.lock:
            graph = self.http.workflows.setdefault((project, issue_type), {})
        steps = 0
        while current.lower() != target.lower():
            if steps >= MAX_STEPS:
                raise ConnectorError(f"Gave up moving {issue_id} to '{target}' after {MAX_STEPS} transitions.")
            options = self._available(issue_id, current, graph)
            direct = next((to for to in options if to.lower() == target.lower()), None)
            if direct is None:
                path = shortest_path(graph, current, target) or self._explore(project, issue_type, graph, current, target)
                nxt = path[0]
                direct = next((to for to in options if to.lower() == nxt), None)
                if direct is None:  # the learned graph is stale (workflow changed): forget and retry
                    graph.clear()
                    raise ConnectorError(f"Jira's workflow for {project}/{issue_type} changed while moving {issue_id}; "
                                         "it will be retried.", transient=True)
            self.http.request("POST", f"/issue/{issue_id}/transitions", json={"transition": {"id": options[direct]}})
            current = direct
            steps += 1
        return steps

    def _explore(self, project: str, issue_type: str, graph: dict[str, dict[str, str]], current: str,
                 target: str) -> list[str]:
        """Read the transitions of issues sitting in statuses we have not seen yet, until a path appears."""
        explored = {s.lower() for s in graph}
        while True:
            frontier = sorted({t for targets in graph.values() for t in targets if t.lower() not in explored})
            if not frontier:
                break
            for status in frontier:
                explored.add(status.lower())
                jql = f'project = "{project}" AND issuetype = "{issue_type}" AND status = "{status}"'
                sample = self.search(jql, 1)
                if sample:
                    self._available(sample[0]["id"], status, graph)
            path = shortest_path(graph, current, target)
            if path:
                return path
        known = "; ".join(f"{s} → {', '.join(sorted(t))}" for s, t in sorted(graph.items())) or "none"
        raise ConnectorError(f"No path of Jira transitions from '{current}' to '{target}' is known for "
                             f"{project}/{issue_type}. Known transitions: {known}. Configure a transition graph "
                             "for this state field, or check the status name.")
