"""The one registry of conditions that stop processing (no master password, no license, …).

An app registers each condition from its ``AppConfig.ready``; everything else is derived
from this registry and knows no condition by name:

* the engine's gate (:func:`processing_blocked_reason`) asks it before each run;
* the first-run setup page and the API's 503 (``tasktop_hub.setup_gate``) list the
  conditions whose :class:`SetupStep` still needs doing;
* ``/api/health`` has one entry per condition with ``health=True``;
* the banner on every admin page names each condition that holds;
* one periodic task (``notifications.tasks.sync_condition_issues``) raises the condition's
  Activity issue while it holds and resolves it when it clears.

A condition with ``blocks=False`` only raises its Activity issue (for example "the last email
notification failed"): the gate, the banner and the setup page ignore it.

``reason()`` must be side-effect free and cheap: the gate asks it twice a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SetupStep:
    """What first-run setup needs for a condition, and the form that does it on the setup page."""

    needed: Callable[[], str | None]  # the message while setup still needs this step, else None
    title: str
    form_class: Callable[[], Any]  # a Django form class, imported lazily by the app
    action_url: Callable[[], str]  # where the form posts
    submit: str  # the button's label
    done: str = "done"  # shown in the heading once the step is complete
    intro: str = ""
    commands: Callable[[], list[str]] = list  # shell lines shown under the intro (e.g. how to get what the form asks)


@dataclass(frozen=True)
class Condition:
    key: str
    reason: Callable[[], str | None]
    issue_key: str
    issue_title: str
    # The Activity issue's text for a reason; by default the reason itself.
    issue_message: Callable[[str], str] | None = None
    setup: SetupStep | None = None
    health: bool = True
    blocks: bool = True  # False: it only raises an Activity issue; processing goes on
    # True: while it holds, another installation processes on this database (the instance lease):
    # this one hands over its singletons (the engine's dispatcher) instead of waiting it out.
    hands_over: bool = False
    healthy_message: Callable[[], str] = lambda: "OK"


_conditions: dict[str, Condition] = {}


def register(condition: Condition) -> Condition:
    _conditions[condition.key] = condition
    return condition


def unregister(key: str) -> None:
    _conditions.pop(key, None)


def all_conditions() -> list[Condition]:
    return list(_conditions.values())


def current_reasons() -> dict[str, str | None]:
    """Every blocking condition's reason now (None: it does not hold), in registration order."""
    return {c.key: c.reason() for c in _conditions.values() if c.blocks}


def processing_blocked_reason() -> str | None:
    """The first reason processing must not happen, or None when it may."""
    for condition in _conditions.values():
        if not condition.blocks:
            continue
        reason = condition.reason()
        if reason:
            return reason
    return None


def handed_over_reason() -> str | None:
    """Why another installation does this one's processing now (see ``Condition.hands_over``), or None."""
    for condition in _conditions.values():
        if condition.hands_over:
            reason = condition.reason()
            if reason:
                return reason
    return None


def setup_missing() -> list[tuple[str, str]]:
    """What first-run setup still needs, as (condition key, message) pairs."""
    out = []
    for condition in _conditions.values():
        if condition.setup is not None:
            message = condition.setup.needed()
            if message:
                out.append((condition.key, message))
    return out


def setup_steps() -> list[tuple[Condition, SetupStep]]:
    return [(c, c.setup) for c in _conditions.values() if c.setup is not None]


def banner() -> list[str]:
    return [f"Nothing is processed: {reason}" for reason in current_reasons().values() if reason]
