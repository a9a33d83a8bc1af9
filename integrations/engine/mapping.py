"""Field conversion between two collections: value mappings (single-selects, states), person
reconciliation ("Copy with Default Matching") and state transition paths."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.connectors.base import Person
from integrations.models import Collection


class MappingError(Exception):
    """A permanent, explainable problem with one artifact (becomes an Activity error)."""


@dataclass
class Side:
    """What the engine needs to know about one collection while processing."""

    name: str  # left | right
    collection: Collection
    people_loader: Callable[[], list[Person] | None] = lambda: None
    # Asks the tool for the people matching one id, user name or e-mail: a tool's full list can
    # be capped (Jira lists no one past its 1,000th user, Data Center 10 past the 100th).
    person_finder: Callable[[str], list[Person]] = lambda query: []
    _people: list[Person] | None = field(default=None, init=False)
    _people_loaded: bool = field(default=False, init=False)
    _found: dict[str, list[Person]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        c = self.collection
        self.mapping: dict[str, str] = dict(c.field_mapping or {})
        self.roles: dict[str, str] = dict(c.field_roles or {})
        self.to_model: dict[str, dict[str, str]] = {k: dict(v) for k, v in (c.value_mappings or {}).items()}
        self.from_model = {k: {m: t for t, m in v.items()} for k, v in self.to_model.items()}
        self.state_field = next((f for f, r in self.roles.items() if r == "state"), None)
        self.graph: dict[str, list[str]] = dict(c.transitions or {})
        self._lock = threading.Lock()  # processing threads share one Side

    def people(self) -> list[Person] | None:
        with self._lock:
            if not self._people_loaded:
                self._people = self.people_loader()
                self._people_loaded = True
            return self._people

    def find_people(self, query: str) -> list[Person]:
        """The tool's answer for one person the list did not hold (asked once per run and query)."""
        with self._lock:
            if query in self._found:
                return self._found[query]
        found = list(self.person_finder(query) or [])
        with self._lock:
            self._found[query] = found
        return found


def model_value(side: Side, model_field: str, value: Any) -> Any:
    return _mapped(side.to_model.get(model_field), value)


def tool_value(side: Side, model_field: str, value: Any) -> Any:
    return _mapped(side.from_model.get(model_field), value)


def _mapped(table: dict[str, str] | None, value: Any) -> Any:
    """Any scalar maps (a status id 1 as much as "New"): tables are keyed by text, as JSON is."""
    if not table or value is None or isinstance(value, list | dict):
        return value
    if isinstance(value, str):
        return table.get(value, value)
    key = str(value).lower() if isinstance(value, bool) else str(value)
    return table.get(key, value)


def convert(source: Side, target: Side, model_field: str, value: Any) -> Any:
    """The value a field of ``source`` should have on ``target``."""
    if source.roles.get(model_field) == "person" or target.roles.get(model_field) == "person":
        return reconcile_person(source, target, value)
    return tool_value(target, model_field, model_value(source, model_field, value))


def _lookup(side: Side, value: str) -> Person:
    people = side.people()
    if people:
        def same(p: Person) -> bool:
            return value in (p.id, p.username) or bool(p.email and p.email.lower() == value.lower())

        known = next((p for p in people if same(p)), None) or next(
            (p for p in side.find_people(value) if same(p)), None)  # past the tool's list cap
        if known is not None:
            return known
    # A tool without a user list (or an unknown value): the value stands for itself.
    return Person(id=value, username=value, email=value if "@" in value else "")


def _match(person: Person, candidates: list[Person]) -> Person | None:
    checks = (("username", "username"), ("id", "username"), ("username", "id"), ("id", "id"), ("email", "email"))
    for theirs, ours in checks:
        wanted = getattr(person, ours)
        if not wanted:
            continue
        for p in candidates:
            have = getattr(p, theirs)
            if have and (have.lower() == wanted.lower() if theirs == "email" else have == wanted):
                return p
    return None


def reconcile_person(source: Side, target: Side, value: Any) -> Any:
    """Copy with Default Matching: username↔username, username↔id, id↔username, id↔id,
    email↔email, skipping what a tool lacks; else the target's default person; else an error."""
    if value in (None, ""):
        return None
    value = str(value)
    person = _lookup(source, value)
    candidates = target.people()
    if candidates is None:
        return person.username or person.id
    found = _match(person, candidates)
    for query in dict.fromkeys(q for q in (person.email, person.username, person.id) if q):
        if found is not None:
            break
        found = _match(person, target.find_people(query))  # past the tool's list cap
    if found is not None:
        return found.id
    default = target.collection.default_person
    if default:
        return default
    raise MappingError(
        f"No user in '{target.collection.name}' matches '{value}' from '{source.collection.name}' "
        f"(tried username, id and email). Add the user, or set a default person on collection "
        f"'{target.collection.name}'."
    )


def transition_path(side: Side, current: Any, wanted: Any) -> list[Any]:
    """The shortest list of allowed states from ``current`` to ``wanted`` (excluding current)."""
    if current == wanted:
        return []
    if not side.graph:
        return [wanted]  # no graph: the tool accepts a direct write
    previous: dict[Any, Any] = {current: None}
    queue = deque([current])
    while queue:
        state = queue.popleft()
        for nxt in side.graph.get(state, []):
            if nxt in previous:
                continue
            previous[nxt] = state
            if nxt == wanted:
                path = [nxt]
                while previous[path[-1]] != current:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            queue.append(nxt)
    raise MappingError(
        f"Collection '{side.collection.name}' allows no path of transitions from state '{current}' to "
        f"'{wanted}'. Add the missing transitions to its transition graph."
    )


def graph_problems(collection: Collection) -> list[str]:
    """Configuration check: every state a value mapping names must reach every other one."""
    side = Side("left", collection)
    if not side.graph or not side.state_field:
        return []
    states = set(side.graph) | {s for targets in side.graph.values() for s in targets}
    states |= set(side.to_model.get(side.state_field, {}))
    problems = []
    for a in sorted(states):
        for b in sorted(states):
            if a != b:
                try:
                    transition_path(side, a, b)
                except MappingError:
                    problems.append(f"no path from '{a}' to '{b}'")
    return problems
