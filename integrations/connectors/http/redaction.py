"""Keeping a connection's secrets out of every text the hub stores, shows or logs.

A tool (or a proxy in front of it) may answer an error by echoing what it received: the
``Authorization`` header (``Basic`` = base64 of ``user:password``), ``Proxy-Authorization``,
an API-key header, the request URL with its query string. Such text reaches the hub only as
the text of an exception raised by a connector, so it is cleaned at one place:
:func:`guard` wraps every connector the engine builds (``integrations.engine.connections.build``)
and rewrites any exception leaving it with :class:`Redactor` for that connection's secrets.
:class:`RedactingFilter` does the same for every log record (with every secret this process
has handed to a connector), for text that is logged before it becomes an exception.

What a :class:`Redactor` masks, for each known secret:

* the value itself, and its URL-encoded (``quote``/``quote_plus``), JSON-escaped and
  HTML-escaped forms;
* base64 (standard and URL-safe alphabets) of the value *anywhere inside* a base64 text — so
  ``Basic base64(user:password)`` is caught without knowing the user — and any whole
  base64 token whose decoded bytes contain the value;

and, without knowing any secret: the value of ``Authorization``-like headers echoed as
``Name: value``, ``Basic``/``Bearer`` credentials, passwords in ``scheme://user:pass@host``,
and key-like query parameters (``?token=…``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
# A secret shorter than this would mask ordinary words; connectors' secrets are longer.
MIN_SECRET = 4
# Header names whose values are never logged. Anything containing these words is redacted too.
SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "key", "secret", "password", "auth")
SECRET_QUERY_NAMES = frozenset({"key", "api_key", "apikey", "token", "access_token", "password", "secret", "sig",
                                "signature", "client_secret"})

# ``Authorization: Basic xyz``, ``"X-Redmine-API-Key": "xyz"``, ``private-token=xyz`` — a
# header (or form field) named like a credential, echoed with its value.
_ECHOED_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|private-token|(?:set-)?cookie|x-[\w-]*(?:key|token|secret|auth)[\w-]*)"
    r"([\"']?\s*[:=]\s*[\"']?)((?:basic|bearer|token|digest|negotiate)\s+)?[^\s\"',;&]+")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/-]{8,}=*")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"'<>]*):[^/\s@\"'<>]+@")
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:" + "|".join(sorted(SECRET_QUERY_NAMES)) + r")=)[^&#\s\"'<>]+")
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_HEADER_WORDS)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (MASK if is_secret_header(k) else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """Mask the password in ``user:pass@host`` and the values of key-like query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_QUERY_NAMES else v) for k, v in pairs], safe="*:>=<,|")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_patterns(text: str) -> str:
    """What can be masked without knowing a secret: credential headers, schemes, URLs, queries."""
    text = _ECHOED_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{MASK}", text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}{MASK}", text)


def _base64_inner(raw: bytes) -> set[str]:
    """The base64 characters that encode ``raw`` wherever it sits in a longer base64 text.

    A byte string starting at offset k (mod 3) of the encoded data shifts its 6-bit groups, so
    each of the three alignments gives its own run of characters; the characters at both ends
    also carry neighbouring bits and are left out.
    """
    out = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
        start = -(-8 * shift // 6)  # ceil: the first character made only of raw's bits
        end = (8 * (shift + len(raw))) // 6
        inner = encoded[start:end]
        if len(inner) >= MIN_SECRET:
            out.add(inner)
            out.add(inner.replace("+", "-").replace("/", "_"))
    return out


def secret_forms(value: str) -> set[str]:
    """Every spelling of ``value`` a wire or a stored text may carry."""
    raw = value.encode()
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value), json.dumps(value)[1:-1],
             html.escape(value), html.escape(value, quote=False)}
    forms |= _base64_inner(raw)
    return {f for f in forms if len(f) >= MIN_SECRET}


class Redactor:
    """Masks a fixed set of secrets (in every form of :func:`secret_forms`) and credential patterns."""

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        self.secrets = sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET}, key=len,
                              reverse=True)
        self._raw = [s.encode() for s in self.secrets]
        forms = set().union(*(secret_forms(s) for s in self.secrets)) if self.secrets else set()
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._raw:
            text = _BASE64_TOKEN.sub(self._mask_decoded, text)
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return redact_patterns(text)

    def _mask_decoded(self, match: re.Match[str]) -> str:
        token = match.group(0)
        body = token.rstrip("=")
        if len(body) % 4 == 1:
            body = body[:-1]  # a cut token: decode what is whole
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded = decoder(body + "=" * (-len(body) % 4))
            except (binascii.Error, ValueError):
                continue
            if any(_holds_part(decoded, raw) for raw in self._raw):
                return MASK
        return token

    def value(self, value: Any) -> Any:
        """Text, and the text inside lists and dicts (an error's body, its headers), redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value

    def exception(self, exc: BaseException, _depth: int = 0) -> BaseException:
        """``exc`` with its message, text attributes and chained causes redacted.

        Returns ``exc`` itself when rewriting its arguments was enough, else a ConnectorError
        carrying the redacted text (an exception whose ``str()`` is not built from its args).
        """
        original = str(exc)
        clean = self(original)
        exc.args = tuple(self.value(a) for a in exc.args)
        for name, attr in list(vars(exc).items()) if hasattr(exc, "__dict__") else ():
            if isinstance(attr, str | dict | list | tuple):
                try:
                    setattr(exc, name, self.value(attr))
                except AttributeError:
                    pass
        for link in ("__cause__", "__context__"):
            chained = getattr(exc, link)
            if chained is not None and _depth < 5:
                setattr(exc, link, self.exception(chained, _depth + 1))
        if str(exc) == clean:
            return exc
        from integrations.connectors.base import ConnectorError

        flags = {k: getattr(exc, k) for k in ("transient", "retry_after", "auth", "unreachable") if hasattr(exc, k)}
        return ConnectorError(clean, **flags)


def _holds_part(decoded: bytes, raw: bytes) -> bool:
    """``raw`` inside ``decoded``, or cut by either end of it (a truncated error text)."""
    if raw in decoded:
        return True
    least = min(len(raw), 6)
    return any(decoded.endswith(raw[:k]) or decoded.startswith(raw[-k:]) for k in range(least, len(raw)))


def connection_secrets(url: str, secrets: Mapping[str, Any]) -> list[str]:
    """Every secret a connection holds: its secret parameters and a password inside its URL."""
    values = [v for v in secrets.values() if isinstance(v, str)]
    try:
        password = urlsplit(url or "").password
    except ValueError:
        password = None
    if password:
        values += [password, unquote(password)]
    return values


# -- the connector guard ------------------------------------------------------------------------


class GuardedConnector:
    """A connector whose every call re-raises exceptions with the connection's secrets masked.

    Attribute reads pass through; methods are wrapped once and cached.
    """

    def __init__(self, inner: Any, redactor: Redactor) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_redactor", redactor)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("__") or not callable(attr) or isinstance(attr, type):
            return attr
        wrapped = _guarded_call(attr, self._redactor)
        object.__setattr__(self, name, wrapped)
        return wrapped

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def __repr__(self) -> str:
        return f"<guarded {self._inner!r}>"


def _guarded_call(fn: Callable[..., Any], redactor: Redactor) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            clean = redactor.exception(exc)
            if clean is exc:
                raise
            raise clean from None

    return call


def guard(build: Callable[[], Any], url: str, secrets: Mapping[str, Any]) -> Any:
    """Build a connector with ``build()`` and guard it; errors of the build itself are redacted too."""
    redactor = Redactor(connection_secrets(url, secrets))
    remember(redactor.secrets)
    try:
        connector = build()
    except Exception as exc:
        clean = redactor.exception(exc)
        if clean is exc:
            raise
        raise clean from None
    return GuardedConnector(connector, redactor)


# -- every secret this process has handed to a connector, for log records --------------------

_known: set[str] = set()
_known_lock = threading.Lock()
_process_redactor = Redactor()


def remember(secrets: Iterable[str]) -> None:
    global _process_redactor
    new = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET} - _known
    if not new:
        return
    with _known_lock:
        _known.update(new)
        _process_redactor = Redactor(_known)


def process_redactor() -> Redactor:
    return _process_redactor


class RedactingFilter(logging.Filter):
    """On a handler: every record's message (and traceback) masked before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _process_redactor
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a broken record is the formatter's problem, not ours
            return True
        clean = redactor(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor(record.exc_text)
        return True
