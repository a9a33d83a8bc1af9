"""HUB_BEHIND_HTTPS_PROXY is the one switch for HTTPS behind a proxy: with it on, Django's
deployment checks find nothing to report (cookies, HSTS, redirect, the proxy's scheme header)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import ready

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    environment.update(HUB_HOME=str(tmp_path / "home"),
                       HUB_LICENSE_TRUSTED_KEYS=",".join(ready.trusted_keys_setting()), **env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def test_check_deploy_reports_nothing_with_the_switch_on(tmp_path):
    on = _check_deploy(tmp_path, HUB_BEHIND_HTTPS_PROXY="true")
    assert on.returncode == 0, on.stderr + on.stdout
    assert "System check identified no issues" in on.stdout


def test_without_the_switch_the_deployment_warnings_name_what_it_sets(tmp_path):
    off = _check_deploy(tmp_path)
    assert off.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in off.stderr
