"""The gateway token of a collection: 32 random bytes, shown once; only its SHA-256 is kept.

A token this long cannot be guessed, so a fast digest is enough (no password hashing), and
comparing digests with ``hmac.compare_digest`` takes the same time wherever they differ.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "hgw_"  # recognisable in a sender's configuration (and by secret scanners)


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def matches(token: str, stored_digest: str) -> bool:
    """Whether ``token`` is the one whose digest is stored. Always computes and compares a
    digest (also when none is stored), so the time taken says nothing about the token."""
    wanted = stored_digest or "0" * 64
    return hmac.compare_digest(digest(token), wanted) and bool(stored_digest)
