"""The hub's home directory (``HUB_HOME``): database, secret key, master password, logs.

Everything written here is private to the account running the hub, so directories are
created 0700 and files 0600 regardless of the umask.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_HOME = "~/.tasktop_hub"


def resolve_home(value: str | None) -> Path:
    return Path(value or DEFAULT_HOME).expanduser().resolve()


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with mode 0600: a crash leaves the old file or the new one.

    A missing parent is created 0700; an existing one keeps its mode — the file may be written
    where a person asked (``license keygen --out /tmp/issuer.pem``), and tightening /tmp or a
    home directory would break everyone else using it.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_or_create_secret_key(home: Path) -> str:
    """The Django SECRET_KEY kept in HUB_HOME, generated once on first start."""
    path = home / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
