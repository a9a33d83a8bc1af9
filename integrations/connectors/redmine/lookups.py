"""The Redmine connector's lookup tables: statuses, trackers, priorities, custom fields and projects,
read once per connector (one engine run) and shared by its threads; names ↔ ids."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from integrations.connectors.base import ConnectorError

PAGE = 100  # Redmine's cap for limit


def status_of(exc: ConnectorError) -> int | None:
    return getattr(exc, "status", None)


class RedmineLookups:
    """Mixed into RedmineConnector, whose ``_call`` and ``_all`` do the requests."""

    options: dict[str, Any]
    _lock: threading.Lock
    _cache: dict[str, Any]

    if TYPE_CHECKING:
        def _call(self, method: str, path: str, *, what: str, params: Mapping[str, Any] | None = None,
                  json: Any = None, allow: tuple[int, ...] = ()) -> Any: ...

        def _all(self, path: str, key: str, what: str, params: Mapping[str, Any] | None = None) -> list[dict]: ...

    def _cached(self, name: str, load: Any) -> Any:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        value = load()
        with self._lock:
            self._cache.setdefault(name, value)
            return self._cache[name]

    def statuses(self) -> list[dict]:
        return self._cached("statuses", lambda: self._call("GET", "/issue_statuses.json", what="list statuses")["issue_statuses"])

    def trackers(self) -> list[dict]:
        return self._cached("trackers", lambda: self._call("GET", "/trackers.json", what="list trackers")["trackers"])

    def priorities(self) -> list[dict]:
        return self._cached("priorities", lambda: self._call(
            "GET", "/enumerations/issue_priorities.json", what="list priorities")["issue_priorities"])

    def custom_fields(self) -> list[dict] | None:
        """Issue custom fields, or None when the API user may not list them (admins only)."""
        def load() -> list[dict] | None:
            try:
                data = self._call("GET", "/custom_fields.json", what="list custom fields")
            except ConnectorError as exc:
                if exc.auth and status_of(exc) == 403:
                    return None
                raise
            return [f for f in data.get("custom_fields") or [] if f.get("customized_type") == "issue"]
        return self._cached("custom_fields", load)

    def project_map(self, refresh: bool = False) -> dict[int, str]:
        """Redmine project id → identifier (issue JSON names projects by id and name only)."""
        if refresh:
            with self._lock:
                self._cache.pop("projects", None)
        return self._cached("projects", lambda: {
            p["id"]: p["identifier"] for p in self._all("/projects.json", "projects", "list projects")})

    def hub_key_field_id(self, required: bool = True) -> int | None:
        def load() -> int | None:
            wanted = str(self.options.get("hub_key_field") or "Hub key").strip()
            if wanted.isdigit():
                return int(wanted)
            fields = self.custom_fields()
            if fields is None:
                # Not an administrator: issue JSON names the custom fields too.
                fields = self._custom_field_names()
                if not fields:
                    return -1  # unknown: the user cannot list custom fields and sees no issue yet
            for f in fields:
                if f["name"].lower() == wanted.lower():
                    return int(f["id"])
            return 0
        field_id = self._cached("hub_key_field", load)
        if field_id > 0:
            return field_id
        if not required:
            return None
        wanted = self.options.get("hub_key_field") or "Hub key"
        if field_id < 0:
            raise ConnectorError(f"Cannot look up the custom field '{wanted}': only Redmine administrators may list "
                                 "custom fields. Set the connection's 'Hub key custom field' to the field's id.")
        raise ConnectorError(f"Redmine has no issue custom field named '{wanted}'. Create it (Administration → Custom "
                             "fields → Issues: format Text, For all projects, all trackers, Used as a filter) so the "
                             "hub can mark and find the issues it creates.")

    def _table(self, name: str) -> list[dict]:
        return {"status": self.statuses, "tracker": self.trackers, "priority": self.priorities}[name]()

    def _resolve(self, name: str, value: Any) -> int:
        """A status/tracker/priority name (any case) or id → its id; unknown names are refused."""
        rows = self._table(name)
        text = str(value).strip()
        for row in rows:
            if str(row["id"]) == text or row["name"].lower() == text.lower():
                return int(row["id"])
        raise ConnectorError(f"Redmine has no {name} '{value}'. Known: {', '.join(r['name'] for r in rows)}.")

    def _named(self, name: str, row_id: Any) -> str:
        for row in self._table(name):
            if str(row["id"]) == str(row_id):
                return row["name"]
        return str(row_id)

    def _custom_field_names(self) -> list[dict]:
        fields = self.custom_fields()
        if fields is not None:
            return fields
        # Not an administrator: learn the names from an issue the user can see.
        data = self._call("GET", "/issues.json", what="list issues", params={"status_id": "*", "limit": 1})
        issues = data.get("issues") or []
        return [{"id": cf["id"], "name": cf["name"]} for cf in (issues[0].get("custom_fields") or [])] if issues else []

    def _custom_field_id(self, name: str) -> int:
        for f in self._cached("custom_field_names", self._custom_field_names):
            if f["name"] == name:
                return int(f["id"])
        raise ConnectorError(f"Redmine has no issue custom field named '{name}'.")
