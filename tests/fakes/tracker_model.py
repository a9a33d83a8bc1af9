"""The fake Redmine's data model: projects, users, custom fields and issues, with Redmine 5.0's
shapes and traps (see ``tests/fakes/tracker.py``, which serves it over HTTP).

Thread-safe: every public method takes the model's lock; the HTTP side calls the private ones
under it.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

STATUSES = [(1, "New", False), (2, "In Progress", False), (3, "Resolved", False), (4, "Feedback", False),
            (5, "Closed", True), (6, "Rejected", True)]
TRACKERS = [(1, "Bug"), (2, "Feature"), (3, "Support")]
PRIORITIES = [(1, "Low"), (2, "Normal"), (3, "High"), (4, "Urgent"), (5, "Immediate")]
HUB_KEY_FIELD = "Hub key"
_US = 1_000_000
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z?)?$")


def _to_us(value: datetime | float) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.timestamp()
    return int(round(value * _US))


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us // _US, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Issue:
    __slots__ = ("id", "project_id", "tracker_id", "status_id", "priority_id", "subject", "description",
                 "assigned_to_id", "author_id", "custom", "created_us", "updated_us", "closed_us",
                 "start_date", "due_date", "done_ratio", "estimated_hours")

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))


class _Reject(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class TrackerModel:
    def __init__(self, *, projects: Iterable[str] = ("demo",), workflow: dict[str, set[str]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.workflow = workflow  # status name -> names reachable in one step; None: anything goes
        self.clock = clock
        self._lock = threading.RLock()
        self._issues: dict[int, _Issue] = {}
        self._by_project: dict[int, list[tuple[int, int]]] = {}  # project id -> sorted (updated_us, id)
        self._projects: dict[int, dict[str, Any]] = {}
        self._project_ids: dict[str, int] = {}
        self._custom_fields: dict[int, str] = {1: HUB_KEY_FIELD}
        self._cf_index: dict[tuple[int, str], set[int]] = {}
        self._users = {1: {"id": 1, "login": "admin", "admin": True, "firstname": "Redmine", "lastname": "Admin",
                           "mail": "admin@example.net"}}
        self._next_id = 1
        for identifier in projects:
            self.add_project(identifier)

    # -- seeding and inspection (direct, no HTTP, not counted) --

    def add_project(self, identifier: str, name: str = "") -> int:
        with self._lock:
            if identifier in self._project_ids:
                return self._project_ids[identifier]
            pid = len(self._projects) + 1
            now = _iso(_to_us(self.clock()))
            self._projects[pid] = {"id": pid, "name": name or identifier.title(), "identifier": identifier,
                                   "description": "", "status": 1, "is_public": True, "inherit_members": False,
                                   "created_on": now, "updated_on": now}
            self._project_ids[identifier] = pid
            self._by_project[pid] = []
            return pid

    def add_user(self, login: str, *, firstname: str = "", lastname: str = "", mail: str = "") -> int:
        with self._lock:
            uid = max(self._users) + 1
            self._users[uid] = {"id": uid, "login": login, "admin": False, "firstname": firstname or login,
                                "lastname": lastname or "User", "mail": mail or f"{login}@example.test"}
            return uid

    def add_custom_field(self, name: str) -> int:
        with self._lock:
            fid = max(self._custom_fields) + 1
            self._custom_fields[fid] = name
            return fid

    def add_issue(self, project: str, subject: str = "Issue", *, description: str = "", status: str = "New",
                  tracker: str = "Bug", priority: str = "Normal", updated_on: datetime | float | None = None,
                  hub_key: str = "", custom: dict[int, str] | None = None) -> int:
        with self._lock:
            us = _to_us(self.clock() if updated_on is None else updated_on)
            issue = self._new_issue(self._project_ids[project], subject, description, us)
            issue.status_id = _id_of(STATUSES, status)
            issue.tracker_id = _id_of(TRACKERS, tracker)
            issue.priority_id = _id_of(PRIORITIES, priority)
            issue.custom = dict(custom or {})
            if hub_key:
                issue.custom[1] = hub_key
            self._store(issue)
            return issue.id

    def add_issues(self, project: str, count: int, *, updated_on: datetime | float | None = None,
                   step: float = 0.001, subject: str = "Issue {n}") -> list[int]:
        """Bulk-add ``count`` open issues; the n-th is stamped ``updated_on + n * step`` (default: ending
        now; ``step=0``: all in one instant, the worst case for change detection)."""
        with self._lock:
            pid = self._project_ids[project]
            # Without a start, the stamps end now: none lies in the future.
            base = _to_us(self.clock() - count * step if updated_on is None else updated_on)
            ids = []
            for n in range(count):
                issue = self._new_issue(pid, subject.format(n=n), "", base + int(n * step * _US))
                issue.status_id, issue.tracker_id, issue.priority_id, issue.custom = 1, 1, 2, {}
                self._issues[issue.id] = issue
                self._by_project[pid].append((issue.updated_us, issue.id))
                ids.append(issue.id)
            self._by_project[pid].sort()
            return ids

    def touch(self, issue_id: int, updated_on: datetime | float | None = None, **changes: Any) -> None:
        """Change an issue as a user would (``subject=...``), stamping ``updated_on`` (default: now)."""
        with self._lock:
            issue = self._issues[issue_id]
            for name, value in changes.items():
                setattr(issue, name, value)
            self._restamp(issue, _to_us(self.clock() if updated_on is None else updated_on))

    def issue(self, issue_id: int) -> dict[str, Any] | None:
        with self._lock:
            issue = self._issues.get(issue_id)
            return None if issue is None else self._render(issue)

    def issue_ids(self, project: str | None = None) -> list[int]:
        with self._lock:
            if project is None:
                return sorted(self._issues)
            return sorted(i for _, i in self._by_project[self._project_ids[project]])

    # -- internals --

    def _new_issue(self, pid: int, subject: str, description: str, us: int) -> _Issue:
        issue = _Issue(id=self._next_id, project_id=pid, subject=subject, description=description or None,
                       author_id=1, created_us=us, updated_us=us, done_ratio=0,
                       start_date=datetime.fromtimestamp(us / _US, UTC).date().isoformat())
        self._next_id += 1
        return issue

    def _store(self, issue: _Issue) -> None:
        self._issues[issue.id] = issue
        bisect.insort(self._by_project[issue.project_id], (issue.updated_us, issue.id))
        for fid, value in issue.custom.items():
            self._cf_index.setdefault((fid, value), set()).add(issue.id)

    def _restamp(self, issue: _Issue, us: int) -> None:
        rows = self._by_project[issue.project_id]
        del rows[bisect.bisect_left(rows, (issue.updated_us, issue.id))]
        issue.updated_us = us
        bisect.insort(rows, (us, issue.id))

    def _render(self, issue: _Issue, allowed: bool = False) -> dict[str, Any]:
        project = self._projects[issue.project_id]
        sid, sname, closed = STATUSES[issue.status_id - 1]
        data: dict[str, Any] = {
            "id": issue.id,
            "project": {"id": project["id"], "name": project["name"]},
            "tracker": {"id": issue.tracker_id, "name": TRACKERS[issue.tracker_id - 1][1]},
            "status": {"id": sid, "name": sname, "is_closed": closed},
            "priority": {"id": issue.priority_id, "name": PRIORITIES[issue.priority_id - 1][1]},
            "author": {"id": 1, "name": "Redmine Admin"},
        }
        if issue.assigned_to_id:
            user = self._users[issue.assigned_to_id]
            data["assigned_to"] = {"id": user["id"], "name": f"{user['firstname']} {user['lastname']}"}
        data.update({
            "subject": issue.subject, "description": issue.description, "start_date": issue.start_date,
            "due_date": issue.due_date, "done_ratio": issue.done_ratio, "is_private": False,
            "estimated_hours": issue.estimated_hours, "total_estimated_hours": issue.estimated_hours,
            "custom_fields": [{"id": fid, "name": name, "value": issue.custom.get(fid, "")}
                              for fid, name in sorted(self._custom_fields.items())],
            "created_on": _iso(issue.created_us), "updated_on": _iso(issue.updated_us),
            "closed_on": _iso(issue.closed_us),
        })
        if allowed:
            data["allowed_statuses"] = [{"id": s[0], "name": s[1], "is_closed": s[2]}
                                        for s in STATUSES if self._may_move(issue, s[0]) or s[0] == issue.status_id]
        return data

    def _may_move(self, issue: _Issue, status_id: int) -> bool:
        if self.workflow is None:
            return True
        current = STATUSES[issue.status_id - 1][1]
        return STATUSES[status_id - 1][1] in self.workflow.get(current, set())

    # -- reads and writes the API answers with (raise _Reject for an HTTP error) --

    def _get(self, issue_id: int) -> _Issue:
        issue = self._issues.get(issue_id)
        if issue is None:
            raise _Reject(404)
        return issue

    def _project_id(self, ref: str) -> int:
        pid = int(ref) if ref.isdigit() else self._project_ids.get(ref)
        if pid not in self._projects:
            raise _Reject(404)
        return pid

    def _list_issues(self, q: dict[str, str]) -> dict[str, Any]:
        try:
            offset = max(0, int(q.get("offset", 0)))
            limit = min(100, max(1, int(q.get("limit", 25))))
        except ValueError:
            raise _Reject(422, {"errors": ["Invalid offset or limit"]}) from None
        if "project_id" in q:
            pids = [self._project_id(q["project_id"])]
        else:
            pids = list(self._by_project)
        low = high = None
        if "updated_on" in q:
            low, high = _time_filter(q["updated_on"])
        status = q.get("status_id", "o")
        wanted = self._status_test(status)
        cf = [(int(k[3:]), v) for k, v in q.items() if k.startswith("cf_") and k[3:].isdigit()]
        issues = self._issues
        if "issue_id" in q or cf:
            # Selective filters: start from the few matching ids, not from every issue (full scans
            # of 100,000 issues read them 100 at a time by id).
            if q.get("issue_id", "").startswith(">="):  # Redmine's integer filter operators
                ids = {i for i in issues if i >= int(q["issue_id"][2:])}
            elif "issue_id" in q:
                ids = {int(x) for x in q["issue_id"].split(",") if x.strip().isdigit()}
            else:
                ids = set.intersection(*[self._cf_index.get(c, set()) for c in cf])
            if cf and "issue_id" in q:
                ids &= set.intersection(*[self._cf_index.get(c, set()) for c in cf])
            wanted_pids = set(pids)
            rows = sorted((issues[i].updated_us, i) for i in ids if i in issues and issues[i].project_id in wanted_pids
                          and (low is None or issues[i].updated_us > low)
                          and (high is None or issues[i].updated_us <= high))
        else:
            rows = []
            for pid in pids:
                part = self._by_project[pid]
                start = bisect.bisect_right(part, (low, 1 << 62)) if low is not None else 0
                rows.extend(part[start:] if high is None else [r for r in part[start:] if r[0] <= high])
            if len(pids) > 1:
                rows.sort()
        if wanted is not None:
            rows = [r for r in rows if wanted(issues[r[1]].status_id)]
        rows = _sorted(rows, q.get("sort", ""))
        page = rows[offset:offset + limit]
        return {"issues": [self._render(issues[i]) for _, i in page], "total_count": len(rows),
                "offset": offset, "limit": limit}

    def _status_test(self, status: str) -> Callable[[int], bool] | None:
        if status == "*":
            return None
        closed = {s[0] for s in STATUSES if s[2]}
        if status in ("o", "open"):
            return lambda sid: sid not in closed
        if status in ("c", "closed"):
            return lambda sid: sid in closed
        wanted = {int(x) for x in status.split("|") if x.isdigit()}
        return lambda sid: sid in wanted

    def _create(self, data: dict[str, Any]) -> _Issue:
        errors = []
        pid = None
        ref = str(data.get("project_id", ""))
        if ref:
            pid = int(ref) if ref.isdigit() else self._project_ids.get(ref)
        if pid not in self._projects:
            errors += ["Project cannot be blank", "Tracker cannot be blank", "Status cannot be blank"]
        if not str(data.get("subject") or "").strip():
            errors.append("Subject cannot be blank")
        if errors:
            raise _Reject(422, {"errors": errors})
        issue = self._new_issue(pid, data["subject"], data.get("description") or "", _to_us(self.clock()))
        issue.tracker_id = int(data.get("tracker_id") or 1)
        issue.status_id = int(data.get("status_id") or 1)
        issue.priority_id = int(data.get("priority_id") or 2)
        issue.assigned_to_id = data.get("assigned_to_id") or None
        issue.custom = {}
        self._apply_plain(issue, data)
        self._apply_custom(issue, data.get("custom_fields") or [], index=False)
        self._store(issue)
        return issue

    def _update(self, issue: _Issue, data: dict[str, Any]) -> None:
        before = self._render(issue)
        if "status_id" in data:
            sid = int(data["status_id"])
            # Redmine ignores a status its workflow does not allow, and still answers 204.
            if 1 <= sid <= len(STATUSES) and self._may_move(issue, sid):
                issue.status_id = sid
                issue.closed_us = _to_us(self.clock()) if STATUSES[sid - 1][2] else None
        for name in ("tracker_id", "priority_id"):
            if name in data:
                setattr(issue, name, int(data[name]))
        if "assigned_to_id" in data:
            issue.assigned_to_id = data["assigned_to_id"] or None
        if "subject" in data and not str(data["subject"] or "").strip():
            raise _Reject(422, {"errors": ["Subject cannot be blank"]})
        self._apply_plain(issue, data)
        self._apply_custom(issue, data.get("custom_fields") or [], index=True)
        if self._render(issue) != before or data.get("notes"):
            self._restamp(issue, _to_us(self.clock()))

    def _apply_plain(self, issue: _Issue, data: dict[str, Any]) -> None:
        for name in ("subject", "description", "start_date", "due_date", "done_ratio", "estimated_hours"):
            if name in data:
                setattr(issue, name, data[name])

    def _apply_custom(self, issue: _Issue, values: list[dict[str, Any]], *, index: bool) -> None:
        for item in values:
            fid = int(item["id"])
            if fid not in self._custom_fields:
                continue  # Redmine ignores custom fields not enabled for the issue
            old = issue.custom.get(fid)
            if index and old is not None:
                self._cf_index.get((fid, old), set()).discard(issue.id)
            issue.custom[fid] = str(item.get("value") or "")
            if index:
                self._cf_index.setdefault((fid, issue.custom[fid]), set()).add(issue.id)

    def _delete(self, issue: _Issue) -> None:
        rows = self._by_project[issue.project_id]
        del rows[bisect.bisect_left(rows, (issue.updated_us, issue.id))]
        for fid, value in issue.custom.items():
            self._cf_index.get((fid, value), set()).discard(issue.id)
        del self._issues[issue.id]


def _id_of(table: list[tuple], name: str) -> int:
    for row in table:
        if row[1] == name:
            return row[0]
    raise KeyError(name)


def _parse_time(value: str) -> int:
    if not _TIME.match(value):
        raise _Reject(422, {"errors": ["Updated is invalid"]})
    if "T" not in value:
        return _to_us(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC))
    return _to_us(datetime.strptime(value.rstrip("Z"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC))


def _time_filter(value: str) -> tuple[int | None, int | None]:
    """Redmine's whole-second filter: ``>=T`` is ``> T - 1 s``; ``<=T`` is ``<= T``; ``><A|B`` both."""
    if value.startswith(">="):
        return _parse_time(value[2:]) - _US, None
    if value.startswith("<="):
        return None, _parse_time(value[2:])
    if value.startswith("><"):
        a, _, b = value[2:].partition("|")
        return _parse_time(a) - _US, _parse_time(b)
    raise _Reject(422, {"errors": ["Updated is invalid"]})


def _sorted(rows: list[tuple[int, int]], sort: str) -> list[tuple[int, int]]:
    """Rows arrive ordered by (updated_us, id). Redmine's default is id desc; ties id desc."""
    keys = [k.strip() for k in sort.split(",") if k.strip()]
    if keys in (["updated_on", "id"], ["updated_on:asc", "id"], ["updated_on", "id:asc"]):
        return rows
    if keys in ([], ["id:desc"]):
        return sorted(rows, key=lambda r: -r[1])
    if keys == ["id"]:
        return sorted(rows, key=lambda r: r[1])
    if keys in (["updated_on"], ["updated_on:asc"]):
        return sorted(rows, key=lambda r: (r[0], -r[1]))
    if keys == ["updated_on:desc"]:
        return sorted(rows, key=lambda r: (-r[0], -r[1]))
    if keys == ["updated_on:desc", "id:desc"]:
        return rows[::-1]
    return sorted(rows, key=lambda r: -r[1])
