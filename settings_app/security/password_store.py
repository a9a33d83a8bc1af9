"""Where the master password comes from at start, and the encrypted store in ``HUB_HOME``.

Sources, tried in this order by :func:`candidate_passwords`:

1. ``HUB_MASTER_PASSWORD`` (environment; read from ``os.environ`` at call time so it never
   appears in Django's settings dumps);
2. the file named by ``HUB_MASTER_PASSWORD_FILE`` (e.g. a systemd credential or a Kubernetes
   secret mount; one trailing newline is ignored);
3. the store ``HUB_HOME/vault/master-password`` written when the password is set or changed.

The store is AES-256-GCM encrypted under a key derived (HKDF-SHA256) from the Django
``SECRET_KEY`` and a random per-file salt, and written 0600 atomically. Its purpose is to keep
the master password out of the database and its backups: a stolen database (or backup) alone
reveals no secret. Someone who can read both ``HUB_HOME`` and ``SECRET_KEY`` can recover it,
exactly as the account running the hub can; put ``SECRET_KEY`` in the environment to separate
the two.

A password change writes the new password to ``master-password.pending`` *before* the database
commit and promotes it afterwards, so a crash at any point leaves a working password on disk:
the old one (change not committed) or the pending one (committed, not yet promoted).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from tasktop_hub.home import write_private_file

log = logging.getLogger(__name__)

ENV_PASSWORD = "HUB_MASTER_PASSWORD"
ENV_PASSWORD_FILE = "HUB_MASTER_PASSWORD_FILE"
_AAD = b"tasktop_hub/master-password-store/v1"


def store_dir() -> Path:
    # HUB_VAULT_DIR exists for the test suite (a private directory per test); default HUB_HOME/vault.
    return Path(getattr(settings, "HUB_VAULT_DIR", None) or Path(settings.HUB_HOME) / "vault")


def store_path() -> Path:
    return store_dir() / "master-password"


def pending_path() -> Path:
    return store_dir() / "master-password.pending"


def _file_key(salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b"tasktop_hub master password store").derive(settings.SECRET_KEY.encode("utf-8"))


def _encode(password: str) -> bytes:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    ciphertext = AESGCM(_file_key(salt)).encrypt(nonce, password.encode("utf-8"), _AAD)
    return json.dumps({"v": 1, "salt": salt.hex(), "nonce": nonce.hex(), "ciphertext": ciphertext.hex()}).encode()


def _decode(path: Path) -> str | None:
    try:
        doc = json.loads(path.read_bytes())
        salt, nonce, ciphertext = (bytes.fromhex(doc[k]) for k in ("salt", "nonce", "ciphertext"))
        return AESGCM(_file_key(salt)).decrypt(nonce, ciphertext, _AAD).decode("utf-8")
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, InvalidTag, UnicodeDecodeError):
        # Never log the content: only that the file is unusable (damaged, or SECRET_KEY changed).
        log.warning("The stored master password in %s cannot be read (damaged, or SECRET_KEY changed).", path)
        return None


def write_pending(password: str) -> None:
    write_private_file(pending_path(), _encode(password))


def promote_pending() -> None:
    if pending_path().exists():
        os.replace(pending_path(), store_path())


def discard_pending() -> None:
    pending_path().unlink(missing_ok=True)


def store(password: str) -> None:
    """Store ``password`` as the current one (set and reset)."""
    write_pending(password)
    promote_pending()


def remove() -> None:
    store_path().unlink(missing_ok=True)
    discard_pending()


def has_stored() -> bool:
    return store_path().exists() or pending_path().exists()


def _read_env_file() -> str | None:
    name = os.environ.get(ENV_PASSWORD_FILE, "").strip()
    if not name:
        return None
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        log.warning("%s names a file that cannot be read: %s", ENV_PASSWORD_FILE, exc.strerror)
        return None
    return text[:-1] if text.endswith("\n") else text


def candidate_passwords() -> Iterator[tuple[str, str]]:
    """(source, password) pairs to try, best first. Never logs a password."""
    env_value = os.environ.get(ENV_PASSWORD)
    if env_value:
        yield "environment", env_value
    file_value = _read_env_file()
    if file_value:
        yield "file", file_value
    for label, path in (("stored", store_path()), ("stored", pending_path())):
        value = _decode(path)
        if value:
            yield label, value


def after_successful_load(source: str, password: str) -> None:
    """Tidy up after an interrupted change, once a stored password has unlocked the vault.

    If the pending password is the one that worked, the change was committed: promote it.
    Otherwise the change never committed (the process died before it could clean up): the
    pending file is stale.
    """
    if source != "stored" or not pending_path().exists():
        return
    if _decode(pending_path()) == password:
        promote_pending()
    else:
        discard_pending()


def sources_signature() -> tuple:
    """Changes whenever a password source changes, so a failed automatic load is retried."""
    def stat(path: Path) -> tuple:
        try:
            st = path.stat()
        except OSError:
            return ()
        return (st.st_mtime_ns, st.st_size)

    env_file = os.environ.get(ENV_PASSWORD_FILE, "")
    return (
        hash(os.environ.get(ENV_PASSWORD, "")),
        env_file,
        stat(Path(env_file)) if env_file else (),
        stat(store_path()),
        stat(pending_path()),
    )


def environment_overrides() -> str | None:
    """The environment source that wins over the store, if any (to warn after a change)."""
    if os.environ.get(ENV_PASSWORD):
        return ENV_PASSWORD
    if os.environ.get(ENV_PASSWORD_FILE):
        return ENV_PASSWORD_FILE
    return None
