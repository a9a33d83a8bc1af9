"""Hooks the apps above ``extensions`` register (it cannot import them)."""

from __future__ import annotations

from collections.abc import Callable

from extensions.models import Extension

# Who uses an extension: each finder returns descriptions such as "collection 'Bugs' field 'priority'".
UsageFinder = Callable[[Extension], list[str]]
# Called after a new version is saved: work that waits on the extension is retried.
SavedHook = Callable[[Extension], None]

# The harness's "recorded artifact": (extension, connection id, artifact id, field) → the entry
# function's arguments, read from the tool (registered by integrations, which owns connections).
RecordedInput = Callable[[Extension, int, str, str], list]

usage_finders: list[UsageFinder] = []
recorded_inputs: list[RecordedInput] = []
saved_hooks: list[SavedHook] = []


def register_usage_finder(finder: UsageFinder) -> None:
    if finder not in usage_finders:
        usage_finders.append(finder)


def register_saved_hook(hook: SavedHook) -> None:
    if hook not in saved_hooks:
        saved_hooks.append(hook)


def register_recorded_input(reader: RecordedInput) -> None:
    if reader not in recorded_inputs:
        recorded_inputs.append(reader)


def users_of(extension: Extension) -> list[str]:
    return [u for finder in usage_finders for u in finder(extension)]
