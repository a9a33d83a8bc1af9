"""TEST WRAPPER: a person's edit injected into the hub's write of one artifact — between the
hub's read and its write, or between its write and whatever the connector reads back.

The wrapped connector is real; only the moment of the edit is staged, once, for the artifact
named. Used by the edit-race tests of every connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WRITES = ("update", "update_if_unchanged", "transition")


class Once:
    """The person's edit, made at most once across runs (the engine builds connectors per run)."""

    def __init__(self, edit: Callable[[], None]) -> None:
        self.edit, self.fired = edit, False

    def __call__(self) -> None:
        self.fired = True
        self.edit()


class EditRace:
    def __init__(self, inner: Any, artifact_id: str, edit: Once, *, when: str = "before") -> None:
        assert when in ("before", "after")
        self._inner, self._id, self._edit, self._when = inner, artifact_id, edit, when

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in WRITES:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            target = args[0] if args else None
            target_id = getattr(target, "id", target)
            due = not self._edit.fired and str(target_id) == str(self._id)
            if due and self._when == "before":
                self._edit()
            if due and self._when == "after":
                # The edit lands after the write, before the connector reads the issue back.
                return self._after(attr, args, kwargs)
            return attr(*args, **kwargs)

        return call

    def _after(self, attr: Callable, args: tuple, kwargs: dict) -> Any:
        # Whatever the connector reads back with (Redmine: _read_one; Jira: read) edits first.
        hooks = [name for name in ("_read_one", "read") if hasattr(self._inner, name)]
        for name in hooks:
            setattr(self._inner, name, self._edit_then(getattr(self._inner, name)))
        try:
            result = attr(*args, **kwargs)
        finally:
            for name in hooks:
                delattr(self._inner, name)
        if not self._edit.fired:  # no read-back (GitHub's PATCH answers with the issue): edit after
            self._edit()
        return result

    def _edit_then(self, read: Callable) -> Callable:
        def edited_then_read(*args: Any, **kwargs: Any) -> Any:
            if not self._edit.fired:
                self._edit()
            return read(*args, **kwargs)

        return edited_then_read
