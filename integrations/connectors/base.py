"""The contract every connector implements.

A connector declares its parameters (which of them are secrets), and implements the
operations the engine needs. It raises :class:`ConnectorError` with ``transient=True`` for
failures worth retrying (timeouts, 5xx, 429) and ``transient=False`` for the rest.
Connectors receive decrypted secrets in ``secrets`` and never see a key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


class ConnectorError(Exception):
    def __init__(self, message: str, *, transient: bool = False, retry_after: float | None = None,
                 auth: bool = False, unreachable: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        # Connection-level failures become one Activity issue, not an error per artifact.
        self.auth = auth
        self.unreachable = unreachable
        # Which connection of an integration failed ("left"/"right"), set by the engine.
        self.side: str | None = None


class StaleArtifact(ConnectorError):
    """The artifact changed after the hub read it, so nothing was written (the tool's optimistic
    concurrency said no). The engine reads it again and decides afresh."""


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    type: str = "string"  # string | integer | boolean | url | choice
    required: bool = True
    sensitive: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()

    def clean(self, value: Any) -> Any:
        """Return the value converted to its type, or raise ValueError with a readable message."""
        if value in (None, ""):
            if self.required and self.default is None:
                raise ValueError("This parameter is required.")
            return self.default
        if self.type == "integer":
            if isinstance(value, bool):
                raise ValueError("Must be a whole number.")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise ValueError("Must be a whole number.") from None
        if self.type == "boolean":
            if isinstance(value, bool):
                return value
            raise ValueError("Must be true or false.")
        if self.type == "url":
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                raise ValueError("Must be an http:// or https:// URL.")
            return value.rstrip("/")
        if self.type == "choice":
            if value not in self.choices:
                raise ValueError(f"Must be one of: {', '.join(self.choices)}.")
            return value
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        return value


@dataclass
class ArtifactData:
    """One artifact as a connector reads it: tool field names → values."""

    id: str
    project: str
    updated_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    # The hub key the hub stamped on this artifact when it created it ("" if none): lets the
    # engine recognise its own creations after a crash (see Connector.find_by_hub_key).
    hub_key: str = ""
    # The tool's optimistic-concurrency token exactly as read (e.g. a row's raw updated-at
    # value), handed back by update_if_unchanged(); None when the tool has none.
    token: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[datetime, tuple[int, int | str]]:
        """Change-detection order: updated_at, then id (numeric ids numerically)."""
        return (self.updated_at, id_sort_key(self.id))

    @property
    def change_version(self) -> str:
        """What identifies this state of the artifact; the updated-at stamp when no version."""
        return self.version or self.updated_at.isoformat()


def id_sort_key(artifact_id: str) -> tuple[int, int | str]:
    return (0, int(artifact_id)) if artifact_id.isdigit() else (1, artifact_id)


@dataclass(frozen=True)
class Person:
    """A user of a tool, as person reconciliation sees one. Missing attributes are ""."""

    id: str
    username: str = ""
    email: str = ""
    name: str = ""


@dataclass
class ChangePage:
    artifacts: list[ArtifactData]
    done: bool


class Connector:
    """Base class: subclasses set ``kind``/``label``/``parameters`` and the operations.

    Change detection contract. ``changes(project, since, page)`` returns artifacts with
    ``updated_at >= since`` (all when ``since`` is None), ``page`` 0-based, ordered by
    ``updated_at`` ascending (ties in any order).
    The engine calls :meth:`changes_after` — keyset paging on ``(updated_at, id)`` — whose
    default implementation here sits on ``changes()`` and is safe against offsets shifting
    while artifacts change; a connector whose tool can filter by key natively overrides it.
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    # What the connection's URL is for this kind, with an example (shown beside the admin's input).
    url_help: ClassVar[str] = ""
    parameters: ClassVar[tuple[Parameter, ...]] = ()

    def __init__(self, url: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
        self.url = url
        self.options = dict(options)
        self.secrets = dict(secrets)

    @classmethod
    def secret_parameters(cls) -> tuple[Parameter, ...]:
        return tuple(p for p in cls.parameters if p.sensitive)

    @classmethod
    def option_parameters(cls) -> tuple[Parameter, ...]:
        return tuple(p for p in cls.parameters if not p.sensitive)

    @classmethod
    def clean_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Validate non-secret options; raises ValueError mapping names to messages."""
        return _clean(cls.option_parameters(), options)

    @classmethod
    def clean_secrets(cls, secrets: Mapping[str, Any]) -> dict[str, Any]:
        return _clean(cls.secret_parameters(), secrets)

    # -- operations (implemented per kind) --

    def test_connection(self) -> str:
        raise NotImplementedError

    def projects(self) -> list[str]:
        raise NotImplementedError

    def fields(self) -> dict[str, str]:
        raise NotImplementedError

    def changes(self, project: str, since: datetime | None, page: int) -> ChangePage:
        raise NotImplementedError

    def read(self, ids: Iterable[str]) -> list[ArtifactData]:
        """The artifacts with these ids that exist. The engine takes an id missing from the answer
        for a deleted artifact and drops its change, so a connector must not leave one out for any
        other reason (a short page, a lagging search index): check such ids directly."""
        raise NotImplementedError

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        raise NotImplementedError

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        raise NotImplementedError

    def creation_problem(self) -> str:
        """Why the hub cannot create artifacts here ("" when it can): the configuration check
        asks it of every side an integration's template creates on."""
        return ""

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        raise NotImplementedError

    def update_if_unchanged(self, read: ArtifactData, fields: Mapping[str, Any]) -> ArtifactData:
        """Update the artifact the hub read as ``read`` only if it has not changed since, else
        raise :class:`StaleArtifact`. A tool without optimistic concurrency (the default) just
        updates; the engine then compares what it reads back with what it wrote."""
        return self.update(read.id, fields)

    # -- optional operations (defaults keep older connectors working) --

    page_size: int = 100  # a class default; a connector may set its own per connection

    def changes_after(
        self, project: str, since: datetime | None, after: tuple[datetime, str] | None, limit: int
    ) -> ChangePage:
        """Artifacts of ``project`` with ``updated_at >= since`` whose ``(updated_at, id)`` key
        is greater than ``after``, sorted by that key: about one page (``limit`` is a hint).

        Each call restarts from page 0 at the latest timestamp reached, and filters by key,
        so an artifact that moves while we page (its offset shifts) is never skipped. Only
        whole timestamp groups are returned (unless the tool has no more pages), because a
        tool may order ties in any way.
        """
        start = after[0] if after else since
        after_key = (after[0], id_sort_key(after[1])) if after else None
        collected: dict[str, ArtifactData] = {}
        page = 0
        while True:
            result = self.changes(project, start, page)
            for a in result.artifacts:
                if after_key is None or a.key > after_key:
                    collected[a.id] = a
            if result.done:
                return ChangePage(sorted(collected.values(), key=lambda a: a.key), done=True)
            page += 1
            # Return as soon as a whole timestamp group is in hand: the next call restarts at
            # page 0 from its key. Reading page 1, 2… by offset is only for a group that fills
            # the pages (an edit between those requests shifts offsets: docs/connectors/*.md).
            ordered = sorted(collected.values(), key=lambda a: a.key)
            complete = [a for a in ordered if a.updated_at < ordered[-1].updated_at] if ordered else []
            if complete:
                return ChangePage(complete, done=False)

    def detection_overlap(self) -> float:
        """Seconds change detection must re-read behind its cursor *at least* for this tool (the
        engine uses the larger of this and its own overlap). A tool whose change feed is an
        eventually consistent search index needs its lag covered; 0: the engine's default."""
        return 0.0

    def people(self) -> list[Person] | None:
        """The tool's users, for person reconciliation; None when the tool has no user list
        (person fields then hold free text that is matched as-is)."""
        return None

    def find_people(self, query: str) -> list[Person]:
        """People matching one id, user name or e-mail, asked when ``people()`` did not hold them
        (a tool may cap its list); the engine checks the match itself. Default: none."""
        return []

    def transition(self, artifact_id: str, field_name: str, state: str) -> ArtifactData:
        """Move an artifact to ``state`` in one allowed step (default: a plain field update)."""
        return self.update(artifact_id, {field_name: state})


class ParameterErrors(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _clean(params: tuple[Parameter, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    known = {p.name for p in params}
    errors: dict[str, str] = {}
    for name in sorted(set(values) - known):
        errors[name] = f"Unknown parameter. Known parameters: {', '.join(sorted(known)) or 'none'}."
    cleaned: dict[str, Any] = {}
    for p in params:
        try:
            cleaned[p.name] = p.clean(values.get(p.name))
        except ValueError as exc:
            errors[p.name] = str(exc)
    if errors:
        raise ParameterErrors(errors)
    return cleaned
