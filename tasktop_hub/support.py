"""What the apps contribute to the support and usage report (built in ``settings_app/support/``).

Each app registers, from its ``AppConfig.ready``, the sections only it can compute (usage counts
of its models, the license summary) and, where it has one, a *redactor factory*: given every
secret the hub stores, a function that masks them in any text, in every encoding it knows.
The report runs every file it writes through every registered redactor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Section = Callable[[], Any]  # returns JSON-serialisable data
Redactor = Callable[[str], str]
RedactorFactory = Callable[[Iterable[str]], Redactor]

_sections: dict[str, Section] = {}
_redactor_factories: list[RedactorFactory] = []


def register_section(name: str, build: Section) -> None:
    _sections[name] = build


def sections() -> dict[str, Section]:
    return dict(_sections)


def register_redactor(factory: RedactorFactory) -> None:
    if factory not in _redactor_factories:
        _redactor_factories.append(factory)


def redactors(secrets: Iterable[str]) -> list[Redactor]:
    values = list(secrets)
    return [factory(values) for factory in _redactor_factories]
