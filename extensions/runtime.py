"""Calling an extension: its type's entry function, the shape its result must have, and one
error that names the extension, its version, the script's line and message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extensions.models import Extension
from extensions.sandbox.pool import Call, Result, get_pool


@dataclass(frozen=True)
class EntryPoint:
    function: str
    arguments: str  # for messages and docs
    returns: str


ENTRY: dict[str, EntryPoint] = {
    Extension.Type.TRANSFORM: EntryPoint("transform", "(value, fields)", "the new value (any JSON value)"),
    Extension.Type.PAYLOAD: EntryPoint("reshape", "(payload)", "an object: model field → value"),
    Extension.Type.PERSON: EntryPoint("match", "(person, candidates)", "a candidate's id, or null for no match"),
    Extension.Type.STATE: EntryPoint("transitions", "(current, desired, artifact)", "an array of states, in order"),
}

MAX_LOG_LINES_IN_ERROR = 5


class ExtensionFailure(Exception):
    """The script threw, ran out of time or memory, or returned the wrong type."""

    def __init__(self, extension: Extension, result: Result, message: str | None = None, field: str = "") -> None:
        self.extension, self.result, self.field = extension, result, field
        where = (f" on field '{field}'" if field else "") + (f" at line {result.line}" if result.line else "")
        text = message or result.message
        logs = result.logs[-MAX_LOG_LINES_IN_ERROR:]
        tail = (" Console: " + " | ".join(logs)) if logs else ""
        super().__init__(f"Extension '{extension.name}' version {extension.version} failed{where}: {text}.{tail}")


def shape_problem(kind: str, result: Result) -> str | None:
    value = result.result
    if result.undefined:
        return f"{ENTRY[kind].function}() returned nothing; it must return {ENTRY[kind].returns}"
    if kind == Extension.Type.PAYLOAD and not isinstance(value, dict):
        return f"reshape() returned {type(value).__name__}; it must return an object (model field → value)"
    if kind == Extension.Type.PERSON and value is not None and not isinstance(value, str | int):
        return f"match() returned {type(value).__name__}; it must return a candidate's id (a string) or null"
    if kind == Extension.Type.STATE and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        return "transitions() must return an array of state names (strings)"
    return None


def compile_problem(kind: str, source: str) -> Result | None:
    """Saving compiles the script in the sandbox; the problem (with its line), or None."""
    pool = get_pool()
    result = pool.run(source, None, [])
    if not result.ok:
        return result
    probe = pool.run(source + f"\n;typeof {ENTRY[kind].function} === 'function' || "
                     f"(() => {{ throw new TypeError('missing') }})();", None, [])
    if not probe.ok:
        return Result(ok=False, kind="entry", line=1, message=(
            f"The script does not define the function {ENTRY[kind].function}{ENTRY[kind].arguments}, "
            f"which a {Extension.Type(kind).label} extension must define"))
    return None


def run(extension: Extension, *args: Any, time_limit: float = 1.0) -> Result:
    """Call the extension's entry function; the raw result (for the harness: output, console, time).
    A transform is called twice in its context: one that answers differently is reported."""
    return get_pool().run(extension.source, ENTRY[Extension.Type(extension.type)].function, list(args),
                          time_limit=time_limit, twice=extension.type == Extension.Type.TRANSFORM)


def call(extension: Extension, *args: Any) -> Any:
    """Call the extension and check the shape of its result; ``ExtensionFailure`` otherwise."""
    result = run(extension, *args)
    if not result.ok:
        raise ExtensionFailure(extension, result)
    problem = shape_problem(extension.type, result)
    if problem:
        raise ExtensionFailure(extension, result, problem)
    return result.result


def transform_many(chains: list[tuple[str, list[Extension]]], values: list[Any], fields: dict[str, Any]) -> list[Any]:
    """Several custom data transformations of one artifact in one round trip to the sandbox: for
    each (field, extensions) chain, its extensions in turn (each in its own fresh context, called
    twice for determinism) on its value, all receiving ``fields``. Per chain, the new value or the
    ``ExtensionFailure`` naming the extension (the step that failed), its version and the field."""
    calls = [Call([e.source for e in chain], ENTRY[Extension.Type.TRANSFORM].function, [value], twice=True)
             for (_, chain), value in zip(chains, values, strict=True)]
    results = get_pool().run_batch(calls, [fields])
    out: list[Any] = []
    for (field, chain), result in zip(chains, results, strict=True):
        ext = chain[min(result.step, len(chain) - 1)]
        problem = None if not result.ok else shape_problem(Extension.Type.TRANSFORM, result)
        out.append(ExtensionFailure(ext, result, problem, field) if not result.ok or problem else result.result)
    return out
