"""An integrator cannot point a connection at the hub itself or at networks it may not reach.

Every refusal goes through the API as an integrator (the role that may create connections) and
says why; the same targets are refused again when a connection saved earlier is *used* (the
policy or the file or the DNS answer changed since it was saved).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from integrations.connectors import http, reach
from integrations.engine import connections
from integrations.models import RepositoryConnection
from tasktop_hub import roles
from tests.factories import UserFactory
from tests.fakes.scripted_server import Reply, ScriptedServer

pytestmark = [pytest.mark.django_db,
              # Tests add an alias to DATABASES to stand for the hub's database on another road.
              pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")]


@pytest.fixture
def integrator() -> APIClient:
    client = APIClient()
    user = UserFactory(username="integrator")
    user.groups.add(Group.objects.get(name=roles.INTEGRATORS))
    client.force_authenticate(user)
    return client


@pytest.fixture
def allowed_dir(tmp_path, settings) -> Path:
    allowed = tmp_path / "tools"
    allowed.mkdir()
    settings.HUB_CONNECTION_SQLITE_DIRS = [str(allowed)]
    return allowed


def _table(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, project TEXT, updated_at TEXT, "
                   "hub_key TEXT, summary TEXT)")
    return path


def _create(client: APIClient, name: str, kind: str, url: str, options: dict | None = None) -> tuple[int, str]:
    body = {"name": name, "kind": kind, "url": url,
            "options": options if options is not None else ({"table": "items"} if kind == "database" else {})}
    if kind == "redmine":
        body["secrets"] = {"api_key": "k" * 40}
    r = client.post("/api/v1/connections/", body, format="json")
    return r.status_code, r.content.decode()


def test_sqlite_files_of_the_hub_and_outside_the_listed_directories_are_refused(integrator, allowed_dir, settings,
                                                                                tmp_path):
    hub_home_file = _table(Path(settings.HUB_DB_DIR) / "reach-test.sqlite3")  # a file in the hub's own directory
    try:
        status, body = _create(integrator, "home", "database", f"sqlite:///{hub_home_file}")
        assert status == 400 and "inside the hub's own directory (HUB_DB_DIR)" in body
        (allowed_dir / "link.db").symlink_to(hub_home_file)  # a symlink in an allowed directory
        status, body = _create(integrator, "link", "database", f"sqlite:///{allowed_dir / 'link.db'}")
        assert status == 400 and "inside the hub's own directory" in body
    finally:
        hub_home_file.unlink()
    outside = _table(tmp_path / "outside.db")
    status, body = _create(integrator, "outside", "database", f"sqlite:///{outside}")
    assert status == 400 and "not inside a directory listed in HUB_CONNECTION_SQLITE_DIRS" in body
    settings.HUB_CONNECTION_SQLITE_DIRS = []
    status, body = _create(integrator, "none", "database", f"sqlite:///{_table(allowed_dir / 'ok.db')}")
    assert status == 400 and "none is listed" in body
    settings.HUB_CONNECTION_SQLITE_DIRS = [str(allowed_dir)]
    status, body = _create(integrator, "fine", "database", f"sqlite:///{allowed_dir / 'ok.db'}")
    assert status == 201, body


def test_the_hubs_own_sqlite_database_is_refused_by_real_path_and_by_inode(integrator, allowed_dir, settings):
    hub_db = _table(allowed_dir / "hub.sqlite3")
    # The hub's database configured outside HUB_HOME (DATABASE_URL=sqlite:///…) inside a listed directory.
    settings.DATABASES = {**settings.DATABASES, "hubfile": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(hub_db)}}
    status, body = _create(integrator, "own", "database", f"sqlite:///{allowed_dir}/./sub/../hub.sqlite3")
    assert status == 400 and "is the hub's own database" in body
    os.link(hub_db, allowed_dir / "hardlink.db")
    status, body = _create(integrator, "hard", "database", f"sqlite:///{allowed_dir / 'hardlink.db'}")
    assert status == 400 and "is the hub's own database" in body


@pytest.mark.parametrize(("vendor", "engine", "url"), [
    ("postgresql", "django.db.backends.postgresql", "postgresql://postgres@localhost:5432/{db}"),
    ("mysql", "django.db.backends.mysql", "mysql://root@127.0.0.1/{db}"),
])
def test_the_hubs_own_server_database_is_refused(integrator, settings, vendor, engine, url):
    settings.DATABASES = {**settings.DATABASES, "hubserver": {"ENGINE": engine, "HOST": "127.0.0.1", "PORT": "",
                                                             "NAME": "hubdb"}}
    status, body = _create(integrator, f"{vendor}-own", "database", url.format(db="hubdb"))
    assert status == 400 and "is the hub's own database" in body
    status, body = _create(integrator, f"{vendor}-other", "database", url.format(db="tooldb"))
    assert status == 201, body


@pytest.mark.parametrize(("url", "options", "field"), [
    ("http://169.254.169.254/latest", {}, "url"),
    ("http://[fe80::1]:8080", {}, "url"),
    ("http://[::ffff:169.254.169.254]", {}, "url"),
    ("http://metadata.google.internal", {}, "url"),
    ("http://127.0.0.1:3300", {"proxy_url": "http://169.254.169.254:3128"}, "options"),
])
def test_link_local_and_metadata_addresses_are_refused_by_default(integrator, url, options, field):
    status, body = _create(integrator, "meta", "redmine", url, options)
    assert status == 400, body
    assert field in body and ("link-local or cloud metadata" in body or "denied host" in body)


def test_administrators_restrict_hosts_and_networks(integrator, settings):
    settings.HUB_CONNECTION_ALLOWED_HOSTS = ["10.0.0.0/8", "*.tools.example"]
    status, body = _create(integrator, "loop", "redmine", "http://127.0.0.1:3300")
    assert status == 400 and "not in HUB_CONNECTION_ALLOWED_HOSTS" in body
    status, body = _create(integrator, "named", "redmine", "http://redmine.tools.example")
    assert status == 201, body
    settings.HUB_CONNECTION_ALLOWED_HOSTS = []
    settings.HUB_CONNECTION_DENIED_HOSTS = ["127.0.0.0/8"]
    status, body = _create(integrator, "loop2", "redmine", "http://127.0.0.1:3300")
    assert status == 400 and "HUB_CONNECTION_DENIED_HOSTS" in body


def test_refused_again_at_use_time(integrator, allowed_dir, settings):
    # Saved while allowed; then the file becomes a link to the hub's directory.
    path = _table(allowed_dir / "items.db")
    status, body = _create(integrator, "later", "database", f"sqlite:///{path}")
    assert status == 201, body
    hub_file = _table(Path(settings.HUB_DB_DIR) / "reach-use.sqlite3")
    try:
        path.unlink()
        path.symlink_to(hub_file)
        connector = connections.build(RepositoryConnection.objects.get(name="later"))
        with pytest.raises(reach.Refused, match="inside the hub's own directory"):
            connector.test_connection()
    finally:
        hub_file.unlink()


def test_http_use_time_checks_the_address_actually_connected_and_every_redirect(settings):
    with ScriptedServer() as server:
        server.script("GET", "/ok", Reply(200, body={"ok": 1}))
        server.script("GET", "/away", Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
        port = server.url.rsplit(":", 1)[1]
        client = http.HttpClient(f"http://localhost:{port}", retry=http.NO_RETRY)
        assert client.get_json("/ok") == {"ok": 1}
        with pytest.raises(reach.Refused, match="link-local or cloud metadata"):
            client.get_json("/away")
        # The policy changes after the connection was saved: "localhost" passes by name, but the
        # socket's peer (127.0.0.1) is checked when it connects.
        settings.HUB_CONNECTION_ALLOWED_HOSTS = ["10.0.0.0/8"]
        fresh = http.HttpClient(f"http://localhost:{port}", retry=http.NO_RETRY)
        with pytest.raises(reach.Refused, match="not in HUB_CONNECTION_ALLOWED_HOSTS"):
            fresh.get_json("/ok")
        assert len([r for r in server.requests if r.path == "/ok"]) == 1


def test_server_database_refused_at_use_time(settings):
    # Saved before the hub's database moved onto that server (ORM: no save-time check).
    conn = RepositoryConnection.objects.create(name="pg", kind="database", url="postgresql://postgres@127.0.0.1/hubdb",
                                               options={"table": "items"}, secrets={})
    settings.DATABASES = {**settings.DATABASES, "hubserver": {"ENGINE": "django.db.backends.postgresql",
                                                             "HOST": "localhost", "NAME": "hubdb"}}
    connector = connections.build(conn)
    with pytest.raises(reach.Refused, match="is the hub's own database"):
        connector.test_connection()
