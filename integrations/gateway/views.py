"""``POST /api/v1/gateway/<collection>/``: the gateway's one endpoint (docs/extensions.md).

A plain Django view: the collection's token is the only credential (no session, no CSRF), and
every answer — errors included — uses the API's JSON shape. The token is never logged or echoed.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.gateway import services
from integrations.gateway.services import Refused

DEFAULT_MAX_BYTES = 1024 * 1024


def max_bytes() -> int:
    return int(getattr(settings, "HUB_GATEWAY_MAX_BYTES", DEFAULT_MAX_BYTES))


@csrf_exempt
def receive(request: HttpRequest, collection: str) -> JsonResponse:
    try:
        if request.method != "POST":
            raise Refused(405, "Only POST: send the artifact as a JSON body.")
        found = services.authenticate(collection, _token(request))
        services.take_rate(found)
        payload = _payload(request)
        accepted = services.receive(found, payload, request.headers.get("Idempotency-Key"))
    except Refused as refused:
        return _error(refused)
    d = accepted.delivery
    body = {"delivery": d.pk, "status": d.status, "duplicate": accepted.duplicate,
            "received_at": d.received_at.isoformat()}
    return JsonResponse(body, status=200 if accepted.duplicate else 202)


def _token(request: HttpRequest) -> str:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Gateway-Token", "").strip()


def _payload(request: HttpRequest) -> Any:
    kind = request.content_type or ""
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        raise Refused(415, f"Content-Type must be application/json (got '{kind or 'none'}').", field="Content-Type")
    cap = max_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "Content-Length is not a number.", field="Content-Length") from None
    too_big = f"The payload is larger than the gateway's limit of {cap} bytes."
    if declared > cap:
        raise Refused(413, too_big, field="body")
    raw = request.read(cap + 1)  # never more than the cap into memory, whatever was declared
    if len(raw) > cap:
        raise Refused(413, too_big, field="body")
    charset = (request.encoding or "utf-8")
    try:
        text = raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise Refused(400, f"The body is not valid {charset} text.", field="body") from None
    if not text.strip():
        raise Refused(400, "The body is empty: send the artifact as a JSON value.", field="body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(400, f"The body is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.",
                      field="body") from None


def _error(refused: Refused) -> JsonResponse:
    response = JsonResponse({"detail": refused.message, "errors": [{"field": refused.field, "message": refused.message}]},
                            status=refused.status)
    if refused.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="gateway"'
    if refused.retry_after is not None:
        response["Retry-After"] = str(refused.retry_after)
    if refused.status == 405:
        response["Allow"] = "POST"
    return response
