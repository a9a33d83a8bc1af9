"""What a failed HTTP call raises, and how a network failure's text is classified."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from integrations.connectors.base import ConnectorError


class HttpError(ConnectorError):
    """A final HTTP status the caller did not allow. ``body`` is the start of the response body."""

    def __init__(self, message: str, *, status: int = 0, body: str = "", headers: Mapping[str, str] | None = None,
                 **flags: Any) -> None:
        super().__init__(message, **flags)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args): keep the keyword state too (worker results, task queues).
        return (_rebuild_http_error, (type(self), str(self), self.__dict__.copy()))

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _rebuild_http_error(cls: type[HttpError], message: str, state: dict[str, Any]) -> HttpError:
    error = cls(message)
    error.__dict__.update(state)
    return error


_UNREACHABLE = re.compile(r"NameResolution|Name or service not known|nodename nor servname|getaddrinfo|"
                          r"Failed to establish a new connection|Connection refused|No route to host|"
                          r"Network is unreachable|Temporary failure in name resolution", re.I)


def looks_unreachable(text: str) -> bool:
    return bool(_UNREACHABLE.search(text))


def is_dns(text: str) -> bool:
    return bool(re.search(r"NameResolution|Name or service not known|nodename nor servname|getaddrinfo|"
                          r"name resolution", text, re.I))


def body_summary(body: str) -> str:
    """One line from an error body, for a message a person reads."""
    text = " ".join(body.split())
    if text.lstrip().startswith("<"):
        return ""  # an HTML error page says nothing useful in one line
    return text[:200]
