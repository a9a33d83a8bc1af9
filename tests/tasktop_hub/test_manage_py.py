"""`./manage.py …` and `python3 manage.py …` work as the README writes them, with a Python that lacks
the hub's dependencies (the system one): manage.py runs itself again with the project's .venv,
or says to run `make setup` when there is none."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The interpreter the venv was made from: the "system Python" a newcomer types `python3` for.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"


def _bare_python() -> Path:
    if not BASE_PYTHON.exists():
        pytest.skip(f"no base interpreter at {BASE_PYTHON}")
    if subprocess.run([BASE_PYTHON, "-c", "import django"], capture_output=True).returncode == 0:
        pytest.skip(f"{BASE_PYTHON} has Django installed: nothing to re-run")
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("this checkout has no .venv")
    return BASE_PYTHON


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HUB_HOME": str(tmp_path / "home")}


def test_a_python_without_django_runs_manage_py_with_the_projects_venv(tmp_path):
    python = _bare_python()
    done = subprocess.run([python, "manage.py", "shell", "-c", "import sys; print(sys.prefix)"], cwd=ROOT,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip().splitlines()[-1]).resolve() == (ROOT / ".venv").resolve()


def test_without_a_venv_manage_py_says_to_run_make_setup(tmp_path):
    python = _bare_python()
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")  # a checkout where `make setup` never ran
    done = subprocess.run([python, "manage.py", "check"], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "Run `make setup` first" in done.stderr and "Traceback" not in done.stderr


def test_serve_on_a_fresh_hub_home_says_to_run_setup_first(tmp_path):
    env = {**_env(tmp_path), "PATH": os.environ["PATH"]}
    done = subprocess.run([sys.executable, "manage.py", "serve", "--bind", "127.0.0.1:1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "unapplied migration(s). Run `make setup`" in done.stderr and "Traceback" not in done.stderr


def test_every_command_the_readme_and_guides_show_exists():
    """A command renamed or dropped would leave the README telling newcomers to run something that fails."""
    import re

    from django.core.management import get_commands

    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {(path.name, name) for path in texts
             for name in re.findall(r"manage\.py ([a-z_]+)", path.read_text(encoding="utf-8"))}
    assert len({name for _, name in named}) >= 10  # the pattern still finds the README's commands
    missing = sorted((where, name) for where, name in named if name not in get_commands())
    assert not missing, missing
