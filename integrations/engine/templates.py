"""What an integration's template means to the engine.

Two-way *Synchronize* reads both sides, creates twins on both and lets each field flow as its
field flow says. The one-way templates read only their source side and never create on it or
write to it, whatever the field flow says (a field flowing the other way is a configuration
problem, reported before the integration runs):

- *Synchronize: left → right* (and right → left): new artifacts get a twin on the target, and
  changes flow to it;
- *Create only: left → right* (and right → left): new artifacts get a twin on the target, which
  the hub never updates afterwards;
- *Gateway: create*: the left collection is a gateway collection; each POSTed artifact gets a
  twin on the right, updated when a later POST names the same artifact by its match field.
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
    # The left side is a gateway collection (POSTed artifacts). Its artifacts change only when the
    # collection has a match field (a later POST with the same value), and then the twin follows.
    Integration.Template.GATEWAY_CREATE: Shape(("left",), updates=True),
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
    """Field flows that contradict the template (they would write on a side it only reads), and
    gateway collections where the template cannot use them."""
    out = gateway_problems(integration)
    t = of(integration)
    if len(t.sources) == 2:
        return out
    label = Integration.Template(integration.template).label
    against = f"{t.targets[0]}_to_{t.sources[0]}"
    return out + [f"Field flow of '{name}' is {against.replace('_to_', ' → ')}, but template '{label}' never writes on "
            f"the {t.sources[0]} side: set it to {t.sources[0]} → {t.targets[0]} or none."
            for name, spec in sorted((integration.field_flow or {}).items())
            if (spec or {}).get("direction") == against]


def gateway_problems(integration: Integration) -> list[str]:
    left, right = integration.left_collection, integration.right_collection
    label = Integration.Template(Integration.Template.GATEWAY_CREATE).label
    if integration.template == Integration.Template.GATEWAY_CREATE:
        out = []
        if not left.is_gateway:
            out.append(f"Template '{label}' takes its artifacts from a gateway collection on the left, but "
                       f"'{left.name}' is on connection '{left.connection.name}' of kind '{left.connection.kind}'.")
        if right.is_gateway:
            out.append(f"Template '{label}' creates on the right collection, and '{right.name}' is a gateway "
                       "collection, where the hub cannot create.")
        return out
    return [f"Collection '{c.name}' is a gateway collection: use it as the left collection of a '{label}' integration."
            for c in (left, right) if c.is_gateway]
