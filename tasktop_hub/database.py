"""Which operational database this process uses, and switching it without a restart.

The active database is recorded in ``HUB_HOME/db/hub-db.json`` (absent: the internal SQLite
file). Its password is encrypted (AES-256-GCM) with the *database key*, which lives outside
that database: ``HUB_DB_KEY`` (base64 of 32 bytes) or the file ``HUB_HOME/keys/db.key``
(0600). The vault's data key cannot serve: it is wrapped inside the operational database, so
it cannot protect the password that opens it (docs/security.md).

Every process — web workers, the django-q2 sentinel, pusher, monitor and workers — switches
by itself when the file changes: :func:`install_switcher` makes ``connections["default"]``
look at the file (at most once a second) and replace a thread's connection made for an older
database, never inside a transaction. ``DATABASE_URL`` set: the environment manages the
database and nothing here applies.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tasktop_hub.home import ensure_private_dir, write_private_file

ACTIVE_FILE = "hub-db.json"
INTERNAL_FILE = "hub.sqlite3"
FORMAT = 1
CHECK_SECONDS = 1.0
_AAD = b"tasktop_hub active database"

SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


class DatabaseConfigError(Exception):
    """hub-db.json cannot be read or decrypted (the message says which and what to do)."""


def ensure_private_sqlite(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does, and tighten one an older hub left open.

    SQLite creates a missing database file 0644 under the usual umask, and gives its ``-wal`` and
    ``-shm`` files the database file's mode: so a file made 0600 here keeps all three private. An
    existing file (and its ``-wal``/``-shm``) readable by others is set to 0600; one owned by another
    account is left as it is (SQLite's own error will say what is wrong with it, if anything).
    """
    name = str(path)
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # empty: SQLite's new database
    except FileExistsError:
        pass
    except OSError:
        return  # e.g. a directory that cannot be written: SQLite reports it when it opens the file
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if stat.S_IMODE(each.stat().st_mode) & 0o077:
                os.chmod(each, 0o600)
        except OSError:
            pass  # absent (no WAL yet) or not ours


def internal_entry(db_dir: Path) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db_dir / INTERNAL_FILE),
            "OPTIONS": dict(SQLITE_OPTIONS)}


# -- the database key ---------------------------------------------------------------------

def database_key(home: Path) -> bytes:
    """The key that encrypts hub-db.json's password: HUB_DB_KEY, else HUB_HOME/keys/db.key."""
    configured = os.environ.get("HUB_DB_KEY", "")
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise DatabaseConfigError("HUB_DB_KEY must be the base64 of exactly 32 bytes.")
        return key
    path = ensure_private_dir(home / "keys") / "db.key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(base64.b64encode(secrets.token_bytes(32)))
    return base64.b64decode(path.read_bytes().strip())


def encrypt_secret(home: Path, plain: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(database_key(home)).encrypt(nonce, plain.encode(), _AAD)
    return base64.b64encode(nonce + sealed).decode()


def decrypt_secret(home: Path, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    key = database_key(home)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD).decode()
    except Exception as exc:  # InvalidTag: wrong key
        raise DatabaseConfigError(
            "The password in HUB_HOME/db/hub-db.json cannot be decrypted with this installation's database "
            "key (HUB_DB_KEY or HUB_HOME/keys/db.key). Restore that key, or point the hub at its database again "
            "with `manage.py storage use`."
        ) from exc


# -- hub-db.json ----------------------------------------------------------------------------

def read_record(db_dir: Path) -> dict[str, Any] | None:
    """The record as stored (password still encrypted), or None for the internal database."""
    path = db_dir / ACTIVE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise DatabaseConfigError(f"{path} is not valid JSON: {exc}") from exc
    if record.get("format") != FORMAT:
        raise DatabaseConfigError(f"{path} has an unknown format {record.get('format')!r}.")
    return record


def entry_from_record(home: Path, db_dir: Path, record: dict[str, Any] | None) -> dict[str, Any]:
    if record is None or record.get("vendor") == "sqlite":
        entry = internal_entry(db_dir)
        if record is not None and record.get("name"):
            entry["NAME"] = record["name"]
        ensure_private_sqlite(Path(entry["NAME"]))
        return entry
    entry = dict(record["entry"])
    entry["OPTIONS"] = dict(entry.get("OPTIONS") or {})
    sealed = record.get("password_encrypted")
    entry["PASSWORD"] = decrypt_secret(home, sealed) if sealed else ""
    return entry


def write_record(home: Path, db_dir: Path, entry: dict[str, Any], vendor: str, **meta: Any) -> dict[str, Any]:
    """Make ``entry`` the active database (atomic write; every process follows within seconds)."""
    public = {k: v for k, v in entry.items() if k != "PASSWORD"}
    previous = read_record(db_dir)
    record = {
        "format": FORMAT,
        "vendor": vendor,
        "entry": public,
        "password_encrypted": encrypt_secret(home, entry["PASSWORD"]) if entry.get("PASSWORD") else "",
        "generation": int((previous or {}).get("generation", 0)) + 1,
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **meta,
    }
    write_private_file(db_dir / ACTIVE_FILE, json.dumps(record, indent=2).encode())
    return record


def active_entry(home: Path, db_dir: Path) -> dict[str, Any]:
    """The DATABASES["default"] entry this installation uses now (called by settings.py)."""
    fd = os.environ.get("HUB_DB_CONFIG_FD")
    if fd:
        # A child process started by a transfer to migrate the target: it gets the target's
        # entry through a pipe (never through the environment or a file at rest).
        with os.fdopen(int(fd)) as fh:
            return json.load(fh)
    return entry_from_record(home, db_dir, read_record(db_dir))


# -- the live switch ------------------------------------------------------------------------

class _Switch:
    def __init__(self) -> None:
        self.home: Path | None = None
        self.db_dir: Path | None = None
        self.signature: tuple[int, int, int] | None = None
        self.checked = 0.0
        self.generation = 0
        self.lock = threading.Lock()


_switch = _Switch()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _check(handler: Any, force: bool = False) -> None:
    now = time.monotonic()
    if not force and now - _switch.checked < CHECK_SECONDS:
        return
    assert _switch.db_dir is not None and _switch.home is not None
    with _switch.lock:
        _switch.checked = now
        signature = _signature(_switch.db_dir / ACTIVE_FILE)
        if signature == _switch.signature:
            return
        _switch.signature = signature
        try:
            entry = entry_from_record(_switch.home, _switch.db_dir, read_record(_switch.db_dir))
        except DatabaseConfigError:
            return  # keep the database in use; the Storage panel shows the error
        configured = {"default": entry}
        handler.configure_settings(configured)
        current = handler.settings["default"]
        if all(configured["default"].get(k) == current.get(k) for k in ("ENGINE", "NAME", "HOST", "PORT", "USER",
                                                                             "PASSWORD", "OPTIONS")):
            return
        handler.settings["default"] = configured["default"]
        from django.conf import settings

        settings.DATABASES["default"] = configured["default"]
        _switch.generation += 1


def refresh_now() -> None:
    """Look at hub-db.json at once (the transfer calls it right after switching)."""
    from django.db import connections

    if _switch.db_dir is not None:
        _check(connections, force=True)


def install_switcher(home: Path, db_dir: Path) -> None:
    """Make this process follow hub-db.json (TasktopHubConfig.ready; not with DATABASE_URL)."""
    from django.db import connections
    from django.db.utils import ConnectionHandler

    _switch.home, _switch.db_dir = home, db_dir
    _switch.signature = _signature(db_dir / ACTIVE_FILE)
    _switch.checked = time.monotonic()
    base = type(connections)
    if getattr(base, "_hub_switching", False):
        return

    class SwitchingConnectionHandler(base):  # type: ignore[valid-type,misc]
        _hub_switching = True

        def __getitem__(self, alias: str) -> Any:
            if alias == "default":
                _check(self)
                conn = getattr(self._connections, alias, None)
                if conn is not None and getattr(conn, "_hub_generation", 0) != _switch.generation \
                        and not conn.in_atomic_block:
                    # Made for the database before the switch: close it; the next line makes
                    # one for the database now active (a different backend, possibly).
                    conn.close()
                    delattr(self._connections, alias)
            return super().__getitem__(alias)

        def create_connection(self, alias: str) -> Any:
            conn = super().create_connection(alias)
            conn._hub_generation = _switch.generation
            return conn

    assert issubclass(base, ConnectionHandler)
    connections.__class__ = SwitchingConnectionHandler


def installation_id(home: Path) -> str:
    """This installation's identity: HUB_INSTALLATION_ID, else generated once into HUB_HOME.

    Every machine of one installation (scale-out) sets the same HUB_INSTALLATION_ID.
    """
    configured = os.environ.get("HUB_INSTALLATION_ID", "").strip()
    if configured:
        return configured
    path = home / "installation-id"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(16))
    return path.read_text().strip()
