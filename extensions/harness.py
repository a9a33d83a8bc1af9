"""The test harness: run an extension on a sample input and show its output, console and time.
Nothing is written anywhere (not to a tool, not to the hub's database)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from extensions import runtime, signals
from extensions.models import Extension

# A sample argument list per type, shown in the harness to start from.
SAMPLES: dict[str, list[Any]] = {
    Extension.Type.TRANSFORM: [2, {"summary": "Printer on fire", "priority": 2}],
    Extension.Type.PAYLOAD: [{"event": "alert", "data": {"title": "Disk full", "severity": "high"}}],
    Extension.Type.PERSON: [{"id": "7", "username": "ann", "email": "ann@example.com", "name": "Ann"},
                            [{"id": "u-1", "username": "ann.smith", "email": "ann@corp.example.com", "name": "Ann"}]],
    Extension.Type.STATE: ["New", "Closed", {"summary": "Printer on fire", "status": "New"}],
}


def run(ext: Extension, args: Any) -> dict[str, Any]:
    """One call; ``args`` is the JSON array of the entry function's arguments."""
    if not isinstance(args, list):
        raise ValidationError("Give the input as a JSON array of the entry function's arguments.")
    result = runtime.run(ext, *args)
    outcome: dict[str, Any] = {"ok": result.ok, "result": result.result, "logs": result.logs,
                               "ms": round(result.ms, 3), "version": ext.version}
    problem = runtime.shape_problem(ext.type, result) if result.ok else None
    if not result.ok or problem:
        outcome.update(ok=False, message=str(runtime.ExtensionFailure(ext, result, problem)), line=result.line)
    return outcome


def recorded_input(ext: Extension, connection_id: int, artifact_id: str, field: str) -> list[Any]:
    """The entry function's arguments from an artifact read now from a connection (nothing is written)."""
    if not signals.recorded_inputs:
        raise ValidationError("No app provides recorded artifacts.")
    return signals.recorded_inputs[0](ext, connection_id, artifact_id, field)
