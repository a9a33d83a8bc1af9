"""Sign-in throttling: password guessing is limited per account and per client address.

Every sign-in (the admin login, ``POST /api/v1/auth/token/``, the browsable API's session login)
goes through Django's ``authenticate()``, so the limit lives in the authentication backend
(:class:`ThrottledModelBackend`): a locked account or address is refused before its password is
even checked, a failure is counted, a success clears the account's count. Counts live in the
shared database cache, so every web process of the hub sees the same ones.

Reaching a limit locks that account (or address) for ``HUB_SIGNIN_LOCKOUT_SECONDS``, writes one
audit row (``security.sign_in_locked``) and shows on the Settings screen's sign-in panel. The
audit never records what was typed as a user name unless it names a real account: people paste
passwords into user name fields.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from notifications.services import record_audit

LOCKED_ACTION = "security.sign_in_locked"


class SignInLocked(PermissionDenied):
    """Raised by the backend; ``authenticate()`` turns it into a refusal without trying others."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"Too many failed sign-ins. Try again in {max(1, -(-seconds // 60))} minute(s).")
        self.seconds = seconds


@dataclass(frozen=True)
class _Limit:
    scope: str  # "account" | "address"
    key: str
    max_failures: int


def client_address(request: HttpRequest | None) -> str:
    """The client's address; behind the HTTPS proxy, the address the proxy saw (its last hop)."""
    if request is None:
        return ""
    meta = request.META
    if getattr(settings, "HUB_BEHIND_HTTPS_PROXY", False):
        # The proxy appends the address it received the connection from; earlier entries are
        # whatever the client claimed and cannot be trusted.
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return str(meta.get("REMOTE_ADDR", ""))


def _limits(request: HttpRequest | None, username: str | None) -> list[_Limit]:
    limits = []
    if username:
        limits.append(_Limit("account", username.strip().lower(), settings.HUB_SIGNIN_MAX_FAILURES_PER_ACCOUNT))
    address = client_address(request)
    if address:
        limits.append(_Limit("address", address, settings.HUB_SIGNIN_MAX_FAILURES_PER_ADDRESS))
    return limits


def _cache_key(limit: _Limit) -> str:
    digest = hashlib.sha256(limit.key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"hub:signin:{limit.scope}:{digest}"


def _state(limit: _Limit) -> dict[str, float]:
    value = cache.get(_cache_key(limit))
    return value if isinstance(value, dict) else {"failures": 0, "locked_until": 0.0}


def locked_for(request: HttpRequest | None, username: str | None) -> int:
    """Seconds until this account and address may try again (0: not locked)."""
    now = time.time()
    remaining = [_state(limit)["locked_until"] - now for limit in _limits(request, username)]
    return max([0, *[int(r) + 1 for r in remaining if r > 0]])


def record_failure(request: HttpRequest | None, username: str | None) -> None:
    now = time.time()
    lockout = settings.HUB_SIGNIN_LOCKOUT_SECONDS
    for limit in _limits(request, username):
        state = _state(limit)
        state["failures"] += 1
        if state["failures"] >= limit.max_failures and state["locked_until"] <= now:
            state = {"failures": 0, "locked_until": now + lockout}
            _audit_lockout(limit, request, lockout)
        # The count lives as long as the window (the lockout length): old failures are forgotten.
        cache.set(_cache_key(limit), state, timeout=lockout)


def record_success(username: str | None) -> None:
    if username:
        cache.delete(_cache_key(_Limit("account", username.strip().lower(), 0)))


def _audit_lockout(limit: _Limit, request: HttpRequest | None, seconds: int) -> None:
    if limit.scope == "account":
        user_model = get_user_model()
        known = user_model._default_manager.filter(**{f"{user_model.USERNAME_FIELD}__iexact": limit.key}).exists()
        target = f"account {limit.key}" if known else "an account name that does not exist"
    else:
        target = f"address {limit.key}"
    with transaction.atomic():
        record_audit(None, LOCKED_ACTION, target, scope=limit.scope, seconds=seconds,
                     address=client_address(request), path=request.path if request is not None else "")


class ThrottledModelBackend(ModelBackend):
    """Django's user/password backend, refusing locked accounts and addresses first."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        seconds = locked_for(request, username)
        if seconds:
            raise SignInLocked(seconds)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(request, username)
        else:
            record_success(username)
        return user
