"""The OpenAPI schema says every status the API can answer, with the hub's error shape.

drf-spectacular documents the success of each operation only; the API also answers 400 (invalid
input), 401/403 (no or insufficient credentials), 404 (no such object), 409 (a conflict with
existing data) and 503 (setup not done, vault locked) — always with
``{"detail": …, "errors": [{"field": …, "message": …}]}`` (tasktop_hub/api/errors.py). This
post-processing hook adds them, so that clients and a schema-driven fuzzer see what they get, and
marks request bodies as closed (``additionalProperties: false``): unknown fields are refused.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string", "nullable": True}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["detail"],
}
_REF = {"$ref": "#/components/schemas/Error"}
_DESCRIPTIONS = {
    "400": "Invalid input; each problem is named in errors.",
    "401": "No or invalid credentials.",
    "403": "The caller's role may not do this.",
    "404": "No such object (or, for a singleton such as the email server, not set up yet).",
    "409": "The change conflicts with existing data.",
    "503": "The hub cannot serve this now (setup not done, master password not loaded; for a write: its data is "
           "being moved to another database, try again after Retry-After seconds).",
}
_WRITES = {"post", "put", "patch", "delete"}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, component in schemas.items():
        # Request bodies refuse unknown fields (StrictFieldsMixin): the schema says so.
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
    schemas["Error"] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _WRITES | {"get", "head", "options"}:
                continue
            # 404: no such object (a path id), or a singleton not set up yet (the email server).
            codes = {"401", "403", "404", "503"}
            if method in _WRITES or operation.get("parameters"):
                codes.add("400")
            if method in _WRITES:
                codes.add("409")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, {"description": _DESCRIPTIONS[code],
                                            "content": {"application/json": {"schema": _REF}}})
    return result
