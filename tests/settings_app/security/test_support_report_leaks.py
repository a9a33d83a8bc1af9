"""The support report carries no secret: planted in every secret field, the environment, the
database URL and the log files (after a Troubleshooting period), none is in the zip."""

from __future__ import annotations

import base64
import io
import logging
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from settings_app.hublog import levels
from settings_app.hublog import services as logging_level
from settings_app.support import report
from tests.leak_sweep import assert_clean
from tests.settings_app.security.test_leaks import _plant_in_every_secret_field

pytestmark = pytest.mark.django_db

ENV_SECRET = "CANARY-env-master-pw-81be"
DB_PASSWORD = "CANARY-db-pw-3c9d"


def test_support_report_has_no_secret(settings, monkeypatch, staff):
    planted = _plant_in_every_secret_field()
    monkeypatch.setenv("HUB_MASTER_PASSWORD", ENV_SECRET)
    monkeypatch.setenv("DATABASE_URL", f"postgres://hub:{DB_PASSWORD}@db.example.com/hub")
    canaries = [*planted, ENV_SECRET, DB_PASSWORD, settings.SECRET_KEY]

    logging_level.troubleshoot(None, duration=timedelta(hours=1))
    try:
        http = logging.getLogger("integrations.http")
        for secret in planted:
            basic = base64.b64encode(f"user:{secret}".encode()).decode()
            http.debug("GET https://tool.example.com/x?token=%s Authorization: Basic %s", secret, basic)
    finally:
        levels.apply(None)
    log_file = Path(settings.HUB_LOG_DIR) / "hub.log"
    with log_file.open("a") as fh:  # a line an older version (or a third-party library) wrote unfiltered
        fh.write(f"2026-12-01 00:00:00,000 DEBUG 1 legacy: secret={planted[0]} again {planted[-1]}\n")

    data = report.to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert "logs/hub.log" in names and "configuration.json" in names
        for name in names:
            text = zf.read(name).decode(errors="replace")
            assert_clean(text, f"support report {name}", canaries)
        config = zf.read("configuration.json").decode()
        assert '"HUB_MASTER_PASSWORD": "***"' in config and "postgres://hub:***@db.example.com/hub" in config
        assert "legacy: secret=***" in zf.read("logs/hub.log").decode()

    client = __import__("django.test", fromlist=["Client"]).Client()
    client.force_login(staff)
    response = client.get("/api/v1/support-report/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        for name in zf.namelist():
            assert_clean(zf.read(name).decode(errors="replace"), f"API report {name}", canaries)
