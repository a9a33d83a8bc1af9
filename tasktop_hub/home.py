"""The hub's home directory (``HUB_HOME``): database, secret key, master password, logs.

Everything written here is private to the account running the hub, so directories are
created 0700 and files 0600 regardless of the umask.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
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
    with _written_beside(path, data) as tmp:
        os.replace(tmp, path)


@contextmanager
def _written_beside(path: Path, data: bytes) -> Iterator[Path]:
    """A new 0600 file beside ``path`` holding ``data`` (synced), removed afterwards if still there."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        yield tmp
    finally:
        if tmp.exists():
            tmp.unlink()


def read_or_create_once(path: Path, make: str) -> str:
    """The text in ``path``; if there is none, ``make`` written there 0600 — by whichever process
    comes first: every process of a fresh ``HUB_HOME`` starting at once gets the same text.

    The file appears whole or not at all (written beside it, then hard-linked into place, which
    fails if another process linked first): creating it empty and then writing would let a
    process starting at that instant read "" — an empty SECRET_KEY, or an empty installation id
    that makes the installation's own processes look like another installation.
    """
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = None
    if text is None:
        with _written_beside(path, make.encode()) as tmp:
            try:
                os.link(tmp, path)
                return make
            except FileExistsError:  # another process won the race; use its text
                text = path.read_text().strip()
    if not text:
        raise RuntimeError(f"{path} is empty (left by a hub version that could be interrupted while writing it): "
                           "delete it and start again.")
    return text


def load_or_create_secret_key(home: Path) -> str:
    """The Django SECRET_KEY kept in HUB_HOME, generated once on first start."""
    return read_or_create_once(home / "secret_key", secrets.token_urlsafe(50))
