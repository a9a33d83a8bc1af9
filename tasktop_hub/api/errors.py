"""One JSON error shape for the whole API.

    {"detail": "<summary>", "errors": [{"field": "<name or null>", "message": "<text>"}]}

``field`` uses dotted paths for nested input (``field_flow.summary.direction``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tasktop_hub.errors import ServiceUnavailable


def flatten_errors(data: Any, prefix: str | None = None) -> list[dict[str, Any]]:
    """Turn DRF's nested error structure into a flat list of field/message entries."""
    if isinstance(data, dict):
        out: list[dict[str, Any]] = []
        for key, value in data.items():
            name = None if key in ("non_field_errors", "__all__", "detail") else str(key)
            path = ".".join(p for p in (prefix, name) if p) or None
            out.extend(flatten_errors(value, path))
        return out
    if isinstance(data, list):
        if all(isinstance(item, str) for item in data):
            return [{"field": prefix, "message": str(item)} for item in data]
        out = []
        for index, item in enumerate(data):
            if item in ({}, [], None):
                continue
            path = f"{prefix}.{index}" if prefix else str(index)
            out.extend(flatten_errors(item, path))
        return out
    return [{"field": prefix, "message": str(data)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        # Constraint violations that slipped past validation (a race between two requests)
        # are still the client's conflict, never a 500.
        return Response(
            {
                "detail": "The change conflicts with existing data.",
                "errors": [{"field": None, "message": "The change conflicts with existing data."}],
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, ServiceUnavailable):
        # No master password loaded, or a stored secret unreadable: the server's state, not the
        # request's fault. The messages name the field, never a value.
        message = str(exc)
        return Response({"detail": message, "errors": [{"field": None, "message": message}]},
                        status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    errors = flatten_errors(response.data)
    if isinstance(exc, exceptions.ValidationError):
        summary = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
        )
    else:
        summary = errors[0]["message"] if errors else str(exc)
    response.data = {"detail": summary, "errors": errors}
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler: under /api/ the hub's JSON error shape (a path no route matches,
    e.g. ``/api/v1/connections/0.5/``), elsewhere Django's page."""
    if request.path.startswith("/api/"):
        message = "Not found."
        return JsonResponse({"detail": message, "errors": [{"field": None, "message": message}]}, status=404)
    return page_not_found(request, exception or Http404())
