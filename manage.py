#!/usr/bin/env python3
"""Django's command-line utility for the hub.

Run as ``./manage.py …`` or ``python3 manage.py …`` from the repository root: when the
interpreter running it lacks the hub's dependencies (the system Python) and the project's
``.venv`` (made by ``make setup`` / ``make run``) exists, it runs itself again with
``.venv/bin/python``, so every command in the README works as written.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# Set on the re-run, so a .venv that lacks Django too fails with a message instead of looping.
REEXEC_MARK = "TASKTOP_HUB_MANAGE_REEXEC"


def _dependencies_missing() -> bool:
    try:
        import django  # noqa: F401
        import environ  # noqa: F401
    except ImportError:
        return True
    return False


def _use_project_venv() -> None:
    if not _dependencies_missing():
        return
    in_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
    if VENV_PYTHON.exists() and not in_venv and not os.environ.get(REEXEC_MARK):
        os.environ[REEXEC_MARK] = "1"
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
    where = f"{VENV_PYTHON} lacks them too" if VENV_PYTHON.exists() else f"there is no {ROOT / '.venv'}"
    sys.exit(f"tasktop_hub's dependencies (Django, …) are not installed for {sys.executable}, and {where}.\n"
             f"Run `make setup` first (in {ROOT}): it creates .venv and installs them; manage.py then uses it.")


def main() -> None:
    _use_project_venv()
    os.environ.pop(REEXEC_MARK, None)  # not inherited by the processes a command starts (serve)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasktop_hub.settings")
    import django
    from django.core.management import execute_from_command_line

    try:
        django.setup()
    except Exception:  # noqa: BLE001, S110 — execute_from_command_line reports a broken configuration
        pass
    else:
        from tasktop_hub.write_guard import guard_command

        guard_command(sys.argv)  # a command that may write waits for no moving data (docs/storage.md)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
