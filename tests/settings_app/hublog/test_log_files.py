"""hub.log with several processes writing at once: no lost or interleaved line, bounded rotation."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WRITER = """
import logging, sys, django
django.setup()
log = logging.getLogger("integrations.engine")
me = sys.argv[1]
for i in range(int(sys.argv[2])):
    log.warning("writer=%s line=%05d %s", me, i, "x" * 80)
"""
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING \d+ integrations\.engine: "
                  r"writer=(w\d) line=(\d{5}) x{80}$")


def run_writers(home: Path, writers: int, lines: int, max_bytes: int, backups: int) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL"))}
    env.update(HUB_HOME=str(home), HUB_LOG_MAX_BYTES=str(max_bytes), HUB_LOG_BACKUPS=str(backups),
               DJANGO_SETTINGS_MODULE="tasktop_hub.settings", HUB_LOG_LEVEL="WARNING")
    # Under the usual umask (022) a plain handler would make hub.log 0644.
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, f"w{n}", str(lines)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o022))
             for n in range(writers)]
    assert [p.wait(timeout=120) for p in procs] == [0] * writers
    return home / "logs"


def test_concurrent_writers_lose_and_interleave_nothing(tmp_path):
    logs = run_writers(tmp_path / "home", writers=3, lines=400, max_bytes=20_000, backups=40)
    files = sorted(logs.glob("hub.log*"))
    assert len(files) > 3  # it did rotate
    seen = []
    for f in files:
        assert f.stat().st_size <= 20_000 + 200  # one line past the limit at most
        for line in f.read_text().splitlines():
            match = LINE.match(line)
            assert match, f"interleaved or torn line in {f.name}: {line[:120]!r}"
            seen.append((match.group(1), int(match.group(2))))
    assert sorted(seen) == sorted((f"w{n}", i) for n in range(3) for i in range(400))


def test_rotation_keeps_a_bounded_number_of_files(tmp_path):
    logs = run_writers(tmp_path / "home", writers=2, lines=400, max_bytes=10_000, backups=2)
    assert sorted(f.name for f in logs.glob("hub.log*")) == ["hub.log", "hub.log.1", "hub.log.2"]


def test_log_files_are_private_to_the_hubs_account(tmp_path):
    """The directory is 0700 and every file in it — hub.log, the rotated ones, the handler's lock
    file — 0600, so a copy of the files (a backup, a support bundle) stays private too."""
    logs = run_writers(tmp_path / "home", writers=1, lines=200, max_bytes=5_000, backups=2)
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    modes = {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in logs.iterdir()}
    assert {"hub.log", "hub.log.1"} <= set(modes)
    assert set(modes.values()) == {oct(0o600)}, modes
