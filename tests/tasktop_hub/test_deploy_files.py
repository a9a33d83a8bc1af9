"""The deployment files the project ships (deploy/, docs/operator-guide.md) stay true to the code:
the environment file names only settings the hub reads and passes `check --deploy` as written, and
the systemd units start the real entry points with variables that file defines."""

from __future__ import annotations

import configparser
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from tests import ready

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = ROOT / "deploy" / "hub.env.example"
UNITS = {name: ROOT / "deploy" / "systemd" / f"{name}.service" for name in ("tasktop-hub-web", "tasktop-hub-worker")}


def _env_example(include_commented: bool) -> dict[str, str]:
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        m = re.match(r"^(#?)([A-Z][A-Z0-9_]+)=(.*)$", line)
        if m and (include_commented or not m.group(1)):
            values[m.group(2)] = m.group(3)
    return values


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNITS[name].read_text().replace("\\\n", " "))
    return parser


def _project_source() -> str:
    packages = ("tasktop_hub", "settings_app", "integrations", "extensions", "notifications", "licensing", "storage")
    return "\n".join(p.read_text() for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def test_the_environment_file_names_only_settings_the_hub_reads():
    source = _project_source()
    unknown = [name for name in _env_example(include_commented=True) if f'"{name}"' not in source]
    assert unknown == []


def test_the_environment_file_as_shipped_passes_the_deployment_checks(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    environment.update(_env_example(include_commented=False))
    environment.update(HUB_HOME=str(tmp_path / "home"), SECRET_KEY=secrets.token_urlsafe(50),
                       HUB_LICENSE_TRUSTED_KEYS=",".join(ready.trusted_keys_setting()))
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout


def test_the_units_start_the_hubs_entry_points_with_the_shipped_environment():
    defined = _env_example(include_commented=False)
    web, worker = _unit("tasktop-hub-web")["Service"], _unit("tasktop-hub-worker")["Service"]
    assert "gunicorn tasktop_hub.wsgi:application" in web["ExecStart"]
    assert (ROOT / "tasktop_hub" / "wsgi.py").exists()
    assert worker["ExecStart"].endswith("python manage.py qcluster")
    for service in (web, worker):
        assert service["EnvironmentFile"] == "/etc/tasktop-hub/hub.env"
        # SIGTERM to the main process only, as `serve` stops its children; the rest after the timeout.
        assert service["KillMode"] == "mixed"
        assert f"/var/lib/{service['StateDirectory']}" == defined["HUB_HOME"]
        used = set(re.findall(r"\$\{(\w+)\}", service["ExecStart"]))
        assert used <= set(defined), used - set(defined)
