"""The vault: the only code in the hub that touches encryption keys.

Key hierarchy (DESIGN §6):

* a random 256-bit **data key** encrypts every secret with AES-256-GCM; each ciphertext is
  bound to the identity of the field and row it belongs to (associated data), so a ciphertext
  copied to another row or field does not decrypt;
* the data key is stored in the database only **wrapped** (AES-256-GCM) by a key derived from
  the master password with scrypt; the scrypt parameters and salt are recorded with it
  (``settings_app.models.VaultKey``, one row);
* the master password itself never enters the database. It comes from ``HUB_MASTER_PASSWORD``,
  from the file named by ``HUB_MASTER_PASSWORD_FILE``, or from the store in ``HUB_HOME``
  (see :mod:`settings_app.security.password_store`), tried in that order.

Each process holds the unwrapped data key in memory once a master password has unlocked it;
:func:`ensure_loaded` does that lazily (first request, first engine run). A reset made by
another process changes the key id, which every ciphertext carries, so a stale process notices
and reloads instead of writing with a dead key.

Token format (text, safe for any column type)::

    hv1.<key id>.<public metadata, base64url>.<nonce ‖ ciphertext ‖ tag, base64url>

The public metadata (for example the *names* of the secrets a dict holds, never values) is
authenticated as part of the associated data.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets as _random
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings

from tasktop_hub.errors import ServiceUnavailable

log = logging.getLogger(__name__)

TOKEN_PREFIX = "hv1"
DATA_KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
SALT_BYTES = 16
# scrypt: N=2**17, r=8, p=1 is the OWASP minimum for scrypt (128 MiB, ~0.3 s once per start).
PRODUCTION_SCRYPT_N = 2**17
# Absolute floor (16 MiB): the test suite runs at it for speed; nothing may go below (check hub.E102).
MIN_SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
PASSWORD_RULE = (
    f"The master password must be at least {MIN_PASSWORD_LENGTH} characters long and must not be a "
    "commonly used password."
)


class VaultError(ServiceUnavailable):
    """Base class of every vault failure. Messages never contain key material or secrets (the API answers 503)."""


class VaultLocked(VaultError):
    """No master password is loaded in this process, so secrets can be neither read nor written."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "The vault is locked: no master password is loaded. Set or enter the master password "
            "(at /admin/security/master-password/enter/, or `manage.py masterpassword status`)."
        )


class VaultNotConfigured(VaultLocked):
    """No master password has ever been set on this installation."""

    def __init__(self) -> None:
        super().__init__("No master password has been set yet. Set one on the setup page, /admin/setup/, "
                         "or with `manage.py masterpassword set`.")


class WrongPassword(VaultError):
    def __init__(self) -> None:
        super().__init__("The master password is not correct.")


class WeakPassword(VaultError):
    pass


class SecretUnreadable(VaultError):
    """A stored ciphertext cannot be decrypted: altered, moved from another row/field, or stale."""


@dataclass(frozen=True)
class _LoadedKey:
    key_id: str
    data_key: bytes
    source: str  # environment | file | stored | entered


_lock = threading.RLock()
_loaded: _LoadedKey | None = None
# What the last failed automatic load saw; retried only when something changed, because a
# failed attempt costs one scrypt per candidate password.
_failed_signature: tuple | None = None


# --- helpers --------------------------------------------------------------------------------


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def scrypt_n() -> int:
    """The scrypt cost for newly wrapped keys; tests lower it (to the floor) through settings."""
    n = int(getattr(settings, "HUB_VAULT_SCRYPT_N", PRODUCTION_SCRYPT_N))
    if n < MIN_SCRYPT_N or n & (n - 1):
        raise VaultError(f"HUB_VAULT_SCRYPT_N must be a power of two of at least {MIN_SCRYPT_N}.")
    return n


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))


def _wrap_aad(key_id: str) -> bytes:
    return f"tasktop_hub/vault/data-key/{key_id}".encode()


def check_password_strength(password: str) -> None:
    """Raise :class:`WeakPassword` stating the rule when ``password`` is not acceptable."""
    from django.contrib.auth.password_validation import CommonPasswordValidator

    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Too short. {PASSWORD_RULE}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"Too long: at most {MAX_PASSWORD_LENGTH} characters.")
    if password.strip() != password:
        raise WeakPassword("The master password must not start or end with whitespace.")
    common = CommonPasswordValidator().passwords
    if password.lower().strip() in common or len(set(password)) < 4:
        raise WeakPassword(f"This is a commonly used or trivially guessable password. {PASSWORD_RULE}")


# --- key records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WrappedKey:
    """What is stored in the database for the data key; no secret in clear."""

    key_id: str
    wrapped: bytes
    salt: bytes
    n: int
    r: int
    p: int


def new_wrapped_key(password: str) -> tuple[WrappedKey, bytes]:
    """A fresh random data key, wrapped by ``password``. Returns (record, data key)."""
    data_key = AESGCM.generate_key(bit_length=256)
    key_id = _random.token_hex(8)
    return wrap(data_key, key_id, password), data_key


def wrap(data_key: bytes, key_id: str, password: str) -> WrappedKey:
    salt = os.urandom(SALT_BYTES)
    n = scrypt_n()
    kek = _derive(password, salt, n, SCRYPT_R, SCRYPT_P)
    nonce = os.urandom(NONCE_BYTES)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_aad(key_id))
    return WrappedKey(key_id=key_id, wrapped=wrapped, salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P)


def unwrap(record: WrappedKey, password: str) -> bytes:
    """The data key, or :class:`WrongPassword`."""
    if not isinstance(password, str) or not password:
        raise WrongPassword()
    kek = _derive(password, bytes(record.salt), record.n, record.r, record.p)
    blob = bytes(record.wrapped)
    try:
        return AESGCM(kek).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _wrap_aad(record.key_id))
    except InvalidTag:
        raise WrongPassword() from None


def _record_from_db() -> WrappedKey | None:
    from settings_app.models import VaultKey

    row = VaultKey.objects.filter(pk=VaultKey.SINGLETON_PK).first()
    if row is None:
        return None
    return WrappedKey(key_id=row.key_id, wrapped=bytes(row.wrapped_key), salt=bytes(row.kdf_salt),
                      n=row.kdf_n, r=row.kdf_r, p=row.kdf_p)


# --- in-memory state ------------------------------------------------------------------------


def install(key_id: str, data_key: bytes, source: str) -> None:
    """Make ``data_key`` this process's current key (after a successful unwrap)."""
    global _loaded, _failed_signature
    with _lock:
        _loaded = _LoadedKey(key_id=key_id, data_key=data_key, source=source)
        _failed_signature = None


def forget() -> None:
    """Drop the key from memory (tests, reset in progress)."""
    global _loaded, _failed_signature
    with _lock:
        _loaded = None
        _failed_signature = None


def loaded_key_id() -> str | None:
    current = _loaded
    return current.key_id if current else None


def loaded_source() -> str | None:
    current = _loaded
    return current.source if current else None


def unlock(password: str, source: str = "entered") -> None:
    """Unlock this process with ``password``; raises WrongPassword or VaultNotConfigured."""
    record = _record_from_db()
    if record is None:
        raise VaultNotConfigured()
    install(record.key_id, unwrap(record, password), source)


def ensure_loaded() -> bool:
    """True when this process holds the current data key, loading it automatically if possible.

    Tries the configured password sources (environment, file, store in HUB_HOME). A failure is
    remembered until the key record or a source changes, so callers may call this freely.
    """
    global _failed_signature, _loaded
    from settings_app.security import password_store

    record = _record_from_db()
    with _lock:
        if record is None:
            forget()
            return False
        if _loaded is not None and _loaded.key_id == record.key_id:
            return True
        signature = (record.key_id, record.wrapped, password_store.sources_signature())
        if signature == _failed_signature:
            return False
        for source, password in password_store.candidate_passwords():
            try:
                data_key = unwrap(record, password)
            except WrongPassword:
                log.warning("The master password from %s does not unlock the vault.", source)
                continue
            install(record.key_id, data_key, source)
            password_store.after_successful_load(source, password)
            return True
        _failed_signature = signature
        _loaded = None
        return False


def is_configured() -> bool:
    return _record_from_db() is not None


def _current_for_write() -> _LoadedKey:
    # A write checks the database's key id: after a reset in another process this process must
    # not seal new data with the destroyed key.
    if not ensure_loaded():
        if not is_configured():
            raise VaultNotConfigured()
        raise VaultLocked()
    assert _loaded is not None
    return _loaded


# --- sealing --------------------------------------------------------------------------------


def _aad(context: str, public: str, key_id: str) -> bytes:
    return f"tasktop_hub/vault/secret|{context}|{public}|{key_id}".encode()


def seal(plaintext: bytes, context: str, public: bytes = b"") -> str:
    """Encrypt ``plaintext`` bound to ``context`` (field identity); ``public`` travels in clear."""
    current = _current_for_write()
    public_text = _b64e(public)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(current.data_key).encrypt(nonce, plaintext, _aad(context, public_text, current.key_id))
    return ".".join((TOKEN_PREFIX, current.key_id, public_text, _b64e(nonce + ciphertext)))


def parse_public(token: str) -> bytes:
    """The public (unauthenticated until decrypted) metadata of a token; b'' if unparsable."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
        return b""
    try:
        return _b64d(parts[2])
    except ValueError:
        return b""


def token_key_id(token: str) -> str | None:
    parts = token.split(".")
    return parts[1] if len(parts) == 4 and parts[0] == TOKEN_PREFIX else None


def unseal(token: str, context: str) -> bytes:
    """Decrypt a token made by :func:`seal` for the same ``context``."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
        raise SecretUnreadable(f"The stored secret of {context} is not a vault token (damaged or written by hand).")
    _prefix, key_id, public_text, body = parts
    current = _loaded
    if current is None or current.key_id != key_id:
        if not ensure_loaded():
            if not is_configured():
                raise VaultNotConfigured()
            raise VaultLocked()
        current = _loaded
        assert current is not None
        if current.key_id != key_id:
            raise SecretUnreadable(
                f"The stored secret of {context} was encrypted with a data key that no longer exists "
                "(the master password was reset); enter it again."
            )
    try:
        blob = _b64d(body)
        return AESGCM(current.data_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                                _aad(context, public_text, key_id))
    except (InvalidTag, ValueError):
        raise SecretUnreadable(
            f"The stored secret of {context} cannot be decrypted: it was altered or copied from another "
            "row or field. Enter it again."
        ) from None
