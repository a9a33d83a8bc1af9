"""Field conversion between two collections: value mappings (single-selects, states), custom data
transformations (extensions, called from here only), person reconciliation ("Copy with Default
Matching" or an extension) and state transition paths (a graph or an extension)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from extensions import runtime
from extensions.models import Extension
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
        # The extensions as saved when the run began (a run sees one version of each).
        chosen = {f: dict(v) for f, v in (c.field_extensions or {}).items()}
        names = {n for v in chosen.values() for n in v.values()}
        found = {e.name: e for e in Extension.objects.filter(name__in=names)} if names else {}
        self.transforms: dict[str, dict[str, Extension]] = {
            f: {d: found[n] for d, n in v.items() if n in found} for f, v in chosen.items()}
        missing = sorted(names - set(found))
        if missing:
            raise MappingError(f"Collection '{c.name}' uses extension(s) {', '.join(missing)} that do not exist.")
        self.person_extension = c.person_extension if c.person_strategy == Collection.PersonStrategy.EXTENSION else None
        self.state_extension = c.state_extension
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


def walks_states(side: Side) -> bool:
    """Does a state change go through transitions (a graph or a state extension)?"""
    return bool(side.graph) or side.state_extension is not None


def mapped_fields(side: Side, tool_fields: dict[str, Any]) -> dict[str, Any]:
    """An artifact's mapped fields by model field name (what a transform receives)."""
    return {f: tool_fields.get(col) for f, col in side.mapping.items()}


def convert_many(source: Side, target: Side, values: dict[str, Any],
                 fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values the fields of one ``source`` artifact (model field → the source tool's value)
    should have on ``target``: per field, the source's value mapping, its "read" transform, the
    target's "write" transform, the target's value mapping (or person reconciliation). ``fields``
    (the source artifact's mapped fields) is what a transform sees besides the value. All the
    fields' transforms take one round trip to the sandbox, not one per transform. A
    transform that fails raises ``MappingError`` naming the extension, its version, the field and
    the script's line — every failing field of the artifact, not only the first."""
    out: dict[str, Any] = {}
    chains: list[tuple[str, list[Extension]]] = []
    inputs: list[Any] = []
    for f, value in values.items():
        if source.roles.get(f) == "person" or target.roles.get(f) == "person":
            out[f] = reconcile_person(source, target, value)
            continue
        value = model_value(source, f, value)
        chain = [e for e in (source.transforms.get(f, {}).get("read"), target.transforms.get(f, {}).get("write"))
                 if e is not None]
        if chain:
            chains.append((f, chain))
            inputs.append(value)
        else:
            out[f] = tool_value(target, f, value)
    if chains:
        converted = runtime.transform_many(chains, inputs, fields or {})
        failures = [str(c) for c in converted if isinstance(c, runtime.ExtensionFailure)]
        if failures:
            raise MappingError(" ".join(failures))
        for (f, _), value in zip(chains, converted, strict=True):
            out[f] = tool_value(target, f, value)
    return {f: out[f] for f in values}


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
    if target.person_extension is not None:
        found = _extension_match(target.person_extension, person, candidates)
    else:
        found = _match(person, candidates)
    for query in dict.fromkeys(q for q in (person.email, person.username, person.id) if q):
        if found is not None or target.person_extension is not None:
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


def _as_dict(p: Person) -> dict[str, str]:
    return {"id": p.id, "username": p.username, "email": p.email or "", "name": p.name}


def _extension_match(ext: Extension, person: Person, candidates: list[Person]) -> Person | None:
    """A person reconciliation extension picks a candidate's id (or null: the fallback applies)."""
    try:
        chosen = runtime.call(ext, _as_dict(person), [_as_dict(p) for p in candidates])
    except runtime.ExtensionFailure as exc:
        raise MappingError(str(exc)) from exc
    if chosen is None:
        return None
    found = next((p for p in candidates if p.id == str(chosen)), None)
    if found is None:
        raise MappingError(f"Extension '{ext.name}' version {ext.version} returned '{chosen}', which is not the id "
                           f"of any candidate person.")
    return found


def transition_path(side: Side, current: Any, wanted: Any, artifact: dict[str, Any] | None = None) -> list[Any]:
    """The shortest list of allowed states from ``current`` to ``wanted`` (excluding current);
    with a state transition extension, the list it returns."""
    if current == wanted:
        return []
    if side.state_extension is not None:
        try:
            return list(runtime.call(side.state_extension, current, wanted, artifact or {}))
        except runtime.ExtensionFailure as exc:
            raise MappingError(str(exc)) from exc
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
