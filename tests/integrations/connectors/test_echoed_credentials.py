"""A tool or proxy that echoes the credentials it received must not make the hub leak them.

Jira (its local stand-in) answers the create of an issue with a 400 whose messages repeat every
header it got (``Authorization: Basic base64(email:token)``), the decoded credentials and URLs
carrying them URL-encoded; a proxy answers every request that way (``Proxy-Authorization`` and a
Data Center ``Bearer`` token). The echoed text goes through the real paths — the engine's run
(an Activity error per artifact and a configuration issue), a background job's log, the check
endpoint's 400 — and then every API response, admin page, log record, the log file and the
database are searched for each secret in every spelling (plain, URL-encoded, base64 inside
any base64 run): zero hits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.test import Client

from integrations.connectors.database.schema import create_work_item_table
from integrations.connectors.jira.client import forget_clients as forget_jira
from integrations.engine import services as engine
from notifications import jobs
from notifications.models import ActivityError, ActivityIssue, BackgroundJob
from tests.fakes.echo import EchoingJira, EchoProxy
from tests.integrations.tool_rig import integrate, side
from tests.leak_sweep import assert_clean, sweep_admin, sweep_api, sweep_database, sweep_logs

pytestmark = pytest.mark.django_db

# Characters that every encoding spells differently: space, slash, plus, ampersand, equals, percent.
TOKEN = "jira tok/CANARY7f3a+&=%x"
PAT = "pat/CANARYb2d4+&=%x tail"
PROXY_USER = "proxy-operator"
PROXY_PASSWORD = "proxy pw/CANARYp9c1+&=%z"
API_KEY = "rm key/CANARYr5e6+&=%q"
CANARIES = [TOKEN, PAT, PROXY_PASSWORD, API_KEY, "CANARY7f3a", "CANARYb2d4", "CANARYp9c1", "CANARYr5e6"]


@pytest.fixture
def table(tmp_path, settings):
    (tmp_path / "items.db").touch()
    url = f"sqlite:///{tmp_path / 'items.db'}"
    create_work_item_table(url, "items", ["summary"])
    import sqlite3

    with sqlite3.connect(tmp_path / "items.db") as db:
        db.execute("INSERT INTO items (project, summary, updated_at, hub_key) VALUES ('ECHO', 'hello', "
                   "'2026-01-01 00:00:00.000000', '')")
    return url


def test_echoed_credentials_reach_nothing(staff, caplog, settings, table):
    caplog.set_level(logging.DEBUG)
    log_file = Path(settings.HUB_LOG_DIR) / "hub.log"
    log_start = log_file.stat().st_size if log_file.exists() else 0
    forget_jira()
    jira = EchoingJira(deployment="cloud")
    jira.add_user("hubbot", "hub@example.com", TOKEN)
    jira.add_project("ECHO")
    jira.echo_on = {("POST", "/issue")}
    with jira, EchoProxy() as proxy, EchoProxy(422, key="errors") as redmine:
        db = side("table", "database", table, {"table": "items"}, {}, "ECHO", {"summary": "summary"})
        cloud = side("jira-cloud", "jira", jira.url, {"projects": "ECHO", "email": "hub@example.com"},
                     {"token": TOKEN}, "ECHO", {"summary": "summary"})
        behind_proxy = side("jira-dc", "jira", "http://jira.internal.example",
                            {"projects": "ECHO", "deployment": "datacenter", "proxy_url": proxy.url},
                            {"token": PAT, "proxy_username": PROXY_USER, "proxy_password": PROXY_PASSWORD}, "ECHO",
                            {"summary": "summary"})
        db2 = side("table-2", "database", table, {"table": "items"}, {}, "ECHO", {"summary": "summary"})
        rm = side("redmine", "redmine", redmine.url, {}, {"api_key": API_KEY}, "echo", {"summary": "subject"})
        db3 = side("table-3", "database", table, {"table": "items"}, {}, "ECHO", {"summary": "summary"})
        checked = integrate(rm, db3, "checked")
        direct = integrate(cloud, db, "direct")
        proxied = integrate(behind_proxy, db2, "proxied")

        # The engine: the row is created in Jira, which echoes → an Activity error on the artifact.
        direct.run_once()
        assert jira.echoed, "Jira was never asked to create the issue"
        error = ActivityError.objects.get()
        assert "authorization: basic" in error.message.lower()
        # Through the proxy (401 + echo): the connection's issue; a job's scan fails; the check refuses.
        proxied.run_once()
        issue = ActivityIssue.objects.get(key=f"connection-failing:{behind_proxy.connection.pk}")
        assert "proxy-authorization: basic" in issue.message.lower()
        job = engine.initiate_sync(proxied.integration, staff)
        jobs.execute(job.pk)
        job = BackgroundJob.objects.get(pk=job.pk)
        assert job.status == "failed" and "HTTP 401" in job.log

        api = Client()
        api.force_login(staff)
        # The check endpoint asks Redmine for its fields, which it answers by echoing (422).
        r = api.post(f"/api/v1/integrations/{checked.integration.pk}/check/")
        assert r.status_code == 400 and "x-redmine-api-key" in r.content.decode().lower(), r.content
        assert_clean(r.content.decode(), "the check endpoint's 400", CANARIES)
        assert proxy.echoed >= 2 and redmine.echoed

    for text, where in ((error.message, "the Activity error"), (issue.message, "the Activity issue"),
                        (job.log, "the job log")):
        assert_clean(text, where, CANARIES)
    sweep_api(api, CANARIES, {"/api/v1/activity/errors/": str(error.pk), "/api/v1/activity/issues/": str(issue.pk),
                              "/api/v1/activity/jobs/": str(job.pk)})
    sweep_admin(api, CANARIES)
    sweep_logs(caplog.records, log_file, log_start, CANARIES)
    sweep_database(CANARIES)
