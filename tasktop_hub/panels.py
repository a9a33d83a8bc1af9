"""The Settings screen: one panel per section of the product's settings page.

Apps contribute panels with :func:`register_panel`; a section whose feature is not built
says so plainly instead of showing controls that do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest


@dataclass
class Panel:
    key: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    # Buttons that POST (label, url): changes of state, never a GET link.
    actions: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    available: bool = True
    warning: str = ""


PanelBuilder = Callable[[HttpRequest], Panel]

# The seed's sections, in the seed's order. Until an app registers a builder for one, it
# renders as "not available yet" with the reason given here.
SECTIONS: list[tuple[str, str, str]] = [
    ("polling", "Configuration", ""),
    ("email", "Email Notifications", "The settings app's email notifications are not installed."),
    ("logging", "Logging", "The settings app's logging levels are not installed; set HUB_LOG_LEVEL."),
    ("extensions", "Extensions", "The extensions app is not installed."),
    ("license", "License", "The licensing app is not installed."),
    ("master_password", "Master Password Configuration", "The settings app's security core is not installed."),
    ("sign_in", "Sign-in Protection", "Sign-in throttling is not installed."),
    ("move_routes", "Move Routes Between Integrations", "Moving routes is not built yet."),
    ("import_pairs", "Import Artifact Pair Information", "Importing artifact pairs is not built yet."),
    ("storage", "Storage Settings", "Moving to an external database is not built yet."),
]

_builders: dict[str, PanelBuilder] = {}


def register_panel(key: str) -> Callable[[PanelBuilder], PanelBuilder]:
    if key not in {k for k, _, _ in SECTIONS}:
        raise ValueError(f"Unknown settings section '{key}'.")

    def decorator(builder: PanelBuilder) -> PanelBuilder:
        _builders[key] = builder
        return builder

    return decorator


def build_panels(request: HttpRequest) -> list[Panel]:
    panels = []
    for key, title, missing in SECTIONS:
        builder = _builders.get(key)
        panels.append(builder(request) if builder else Panel(key, title, note=missing, available=False))
    return panels
