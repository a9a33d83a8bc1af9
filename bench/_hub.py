"""The start-up every in-process benchmark shares: a throw-away hub, then ``django.setup()``.

    from _hub import bootstrap   # bench/ is on sys.path when a script here runs

    BENCH = bootstrap("engine-bench")          # before any import that needs Django's settings
    BENCH.tools / "left.db"                    # tool tables (SQLite files) may live there

Each call makes a new temporary directory holding the hub's home (``HUB_HOME``: its SQLite
database, secret key, logs) and a directory for tool tables, which may not live in the hub's
home (integrations/connectors/reach.py). Nothing is migrated: each benchmark decides what its hub
database needs. The directory is left behind for inspection, under the system's temporary
directory.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BenchHub:
    dir: Path  # the temporary directory holding the two below
    home: Path  # HUB_HOME
    tools: Path  # HUB_CONNECTION_SQLITE_DIRS: where tool tables (SQLite files) may be


def bootstrap(prefix: str, keep: Path | None = None, **env: str) -> BenchHub:
    """A new temporary HUB_HOME and tool directory, the process's environment pointed at them
    (plus ``env``, e.g. ``DATABASE_URL`` for a hub database on a server), then ``django.setup()``.

    ``keep``: a directory of the caller's instead of a new temporary one (made if missing), so
    that a filled hub database is found again by the next run. DJANGO_SETTINGS_MODULE and
    HUB_LOG_LEVEL (WARNING: the figures, not the hub's chatter) keep a value the caller's
    environment already has.
    """
    root = keep.resolve() if keep else Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    bench = BenchHub(dir=root, home=root / "hub", tools=root / "tools")
    bench.tools.mkdir(parents=True, exist_ok=True)
    os.environ["HUB_HOME"] = str(bench.home)
    os.environ["HUB_CONNECTION_SQLITE_DIRS"] = str(bench.tools)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasktop_hub.settings")
    os.environ.setdefault("HUB_LOG_LEVEL", "WARNING")
    os.environ.update(env)
    if str(ROOT) not in sys.path:  # the project's packages and tests/ (stand-ins, helpers)
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return bench
