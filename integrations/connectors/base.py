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


@dataclass
class ChangePage:
    artifacts: list[ArtifactData]
    done: bool


class Connector:
    """Base class: subclasses set ``kind``/``label``/``parameters`` and the operations."""

    kind: ClassVar[str]
    label: ClassVar[str]
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
        raise NotImplementedError

    def create(self, project: str, fields: Mapping[str, Any], hub_key: str) -> ArtifactData:
        raise NotImplementedError

    def find_by_hub_key(self, project: str, hub_key: str) -> ArtifactData | None:
        raise NotImplementedError

    def update(self, artifact_id: str, fields: Mapping[str, Any]) -> ArtifactData:
        raise NotImplementedError


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
