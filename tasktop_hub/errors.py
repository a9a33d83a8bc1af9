"""Exceptions every app may raise and the API maps to one answer (``tasktop_hub.api.errors``)."""

from __future__ import annotations


class ServiceUnavailable(Exception):
    """The hub's state stops the request (e.g. no master password loaded), not the request's fault.

    The API answers 503 with the message, so the message must never contain a secret.
    """
