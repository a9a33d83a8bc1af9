import os
import stat
import subprocess
import sys
from pathlib import Path

from tasktop_hub.home import ensure_private_dir, load_or_create_secret_key, write_private_file

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_dir_is_0700_even_if_it_existed_open(tmp_path):
    target = tmp_path / "home"
    target.mkdir(mode=0o777)
    os.chmod(target, 0o777)
    ensure_private_dir(target)
    assert _mode(target) == 0o700


def test_private_file_is_0600_and_replaced_atomically(tmp_path):
    path = tmp_path / "home" / "file"
    write_private_file(path, b"one")
    write_private_file(path, b"two")
    assert path.read_bytes() == b"two"
    assert _mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["file"]


def test_private_file_leaves_an_existing_shared_directory_as_it_was(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp is: writing a key there must not lock everyone else out
    write_private_file(shared / "issuer.pem", b"key")
    assert _mode(shared) == 0o1777
    assert _mode(shared / "issuer.pem") == 0o600


def test_secret_key_is_generated_once(tmp_path):
    first = load_or_create_secret_key(tmp_path)
    assert len(first) > 40
    assert load_or_create_secret_key(tmp_path) == first
    assert _mode(tmp_path / "secret_key") == 0o600


def test_settings_create_hub_home_and_default_to_sqlite_there(tmp_path):
    home = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["HUB_HOME"] = str(home)
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME']); print(settings.DEBUG)"
    out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "--no-imports", "-c", code], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    name, debug = out.stdout.split()[-2:]
    assert name == str(home / "db" / "hub.sqlite3")
    assert debug == "False"
    assert _mode(home) == 0o700 and _mode(home / "db") == 0o700
    assert (home / "secret_key").exists()


def test_the_embedded_database_and_its_wal_files_are_0600(tmp_path):
    """Under the usual umask (022) SQLite would create hub.sqlite3 0644; the hub makes it, and so its
    -wal and -shm files (SQLite gives them the database's mode), 0600 — checked while they exist."""
    home = tmp_path / "fresh"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "HUB_DB_CONFIG_FD")}
    env["HUB_HOME"] = str(home)
    code = ("import os, stat; from pathlib import Path; from django.conf import settings; "
            "from django.db import connection; db = Path(settings.DATABASES['default']['NAME']); "
            "c = connection.cursor(); c.execute('CREATE TABLE t (x int)'); c.execute('INSERT INTO t VALUES (1)'); "
            "print(*(f'{p.name}={stat.S_IMODE(p.stat().st_mode):o}' for p in sorted(db.parent.glob(db.name + '*'))))")
    out = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "--no-imports", "-c", code], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert out.returncode == 0, out.stderr
    modes = dict(item.split("=") for item in out.stdout.split()[-3:])
    assert modes == {"hub.sqlite3": "600", "hub.sqlite3-shm": "600", "hub.sqlite3-wal": "600"}


def test_an_embedded_database_left_readable_is_made_private(tmp_path):
    from tasktop_hub.database import ensure_private_sqlite

    db = tmp_path / "hub.sqlite3"
    for path in (db, tmp_path / "hub.sqlite3-wal", tmp_path / "hub.sqlite3-shm"):
        path.write_bytes(b"")
        os.chmod(path, 0o644)  # as an earlier hub left them
    ensure_private_sqlite(db)
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == {
        "hub.sqlite3": 0o600, "hub.sqlite3-wal": 0o600, "hub.sqlite3-shm": 0o600}
    ensure_private_sqlite(Path(":memory:"))  # not a file: nothing to do, nothing created
    assert not Path(":memory:").exists()
