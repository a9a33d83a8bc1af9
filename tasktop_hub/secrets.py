"""Secrets an app holds in memory, handed to the log filter of every handler.

The filter and its redactor live with the connectors (``integrations.connectors.http.redaction``),
which register :func:`remember`'s sink from ``integrations/apps.py``; an app below them in the
layers (the email settings' SMTP password) calls :func:`remember` here whenever it decrypts a
secret for use, so a log line can never carry it either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Sink = Callable[[Iterable[str]], None]
_sinks: list[Sink] = []


def register_sink(sink: Sink) -> None:
    if sink not in _sinks:
        _sinks.append(sink)


def remember(values: Iterable[str]) -> None:
    secrets = [v for v in values if isinstance(v, str) and v]
    for sink in _sinks:
        sink(secrets)
