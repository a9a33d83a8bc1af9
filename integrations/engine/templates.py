"""What an integration's template means to the engine.

Two-way *Synchronize* reads both sides, creates twins on both and lets each field flow as its
field flow says. The one-way templates read only their source side and never create on it or
write to it, whatever the field flow says (a field flowing the other way is a configuration
problem, reported before the integration runs):

- *Synchronize: left → right* (and right → left): new artifacts get a twin on the target, and
  changes flow to it;
- *Create only: left → right* (and right → left): new artifacts get a twin on the target, which
  the hub never updates afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.models import Integration


@dataclass(frozen=True)
class Shape:
    sources: tuple[str, ...]  # sides read for changes and new artifacts
    updates: bool  # whether twins are updated after their creation

    @property
    def targets(self) -> tuple[str, ...]:
        """Sides the hub creates on and writes to."""
        return tuple("right" if s == "left" else "left" for s in self.sources)


TEMPLATES: dict[str, Shape] = {
    Integration.Template.SYNCHRONIZE: Shape(("left", "right"), updates=True),
    Integration.Template.SYNC_LEFT_TO_RIGHT: Shape(("left",), updates=True),
    Integration.Template.SYNC_RIGHT_TO_LEFT: Shape(("right",), updates=True),
    Integration.Template.CREATE_LEFT_TO_RIGHT: Shape(("left",), updates=False),
    Integration.Template.CREATE_RIGHT_TO_LEFT: Shape(("right",), updates=False),
}


def of(integration: Integration) -> Shape:
    return TEMPLATES.get(integration.template, TEMPLATES[Integration.Template.SYNCHRONIZE])


def is_source(integration: Integration, side: str) -> bool:
    return side in of(integration).sources


def creates_on(integration: Integration, side: str) -> bool:
    return side in of(integration).targets


def direction(integration: Integration, configured: str) -> str:
    """The field flow direction the template allows: a one-way template narrows "both" to its
    own direction and turns the opposite one into "none"."""
    t = of(integration)
    if len(t.sources) == 2:
        return configured
    one_way = f"{t.sources[0]}_to_{t.targets[0]}"
    return one_way if configured in ("both", one_way) else "none"


def frequency(integration: Integration, configured: str) -> str:
    return configured if of(integration).updates else "on_create"


def problems(integration: Integration) -> list[str]:
    """Field flows that contradict the template (they would write on a side it only reads)."""
    t = of(integration)
    if len(t.sources) == 2:
        return []
    label = Integration.Template(integration.template).label
    against = f"{t.targets[0]}_to_{t.sources[0]}"
    return [f"Field flow of '{name}' is {against.replace('_to_', ' → ')}, but template '{label}' never writes on "
            f"the {t.sources[0]} side: set it to {t.sources[0]} → {t.targets[0]} or none."
            for name, spec in sorted((integration.field_flow or {}).items())
            if (spec or {}).get("direction") == against]
