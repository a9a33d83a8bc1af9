"""The registry of connector kinds. It feeds the connection model's choices and forms."""

from __future__ import annotations

import importlib
import pkgutil

from integrations.connectors.base import Connector

_connectors: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    existing = _connectors.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"Connector kind '{cls.kind}' is registered twice.")
    _connectors[cls.kind] = cls
    return cls


def unregister(kind: str) -> None:
    _connectors.pop(kind, None)


def get(kind: str) -> type[Connector]:
    try:
        return _connectors[kind]
    except KeyError:
        raise KeyError(f"Unknown connector kind '{kind}'. Known kinds: {', '.join(kinds()) or 'none'}.") from None


def kinds() -> list[str]:
    return sorted(_connectors)


def choices() -> list[tuple[str, str]]:
    return [(k, _connectors[k].label) for k in kinds()]


def autodiscover() -> None:
    """Import every ``integrations.connectors.<kind>`` sub-package so it can register."""
    import integrations.connectors as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg:
            importlib.import_module(f"{package.__name__}.{info.name}")
