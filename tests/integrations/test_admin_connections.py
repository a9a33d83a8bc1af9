"""A connection's admin form: the kind first, then only that kind's parameters and secrets with
their help, precise errors on the input concerned, and the Test connection button."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from integrations.connectors.database.schema import create_work_item_table
from integrations.models import RepositoryConnection
from notifications.models import AuditEvent
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/integrations/repositoryconnection/add/"
SECRET = "pw-PLANT-5521"


def _table(path) -> str:
    path.touch()
    url = f"sqlite:///{path}"
    create_work_item_table(url, "items", ["summary"])
    return url


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_add_asks_for_the_kind_first(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert 'id="first-step"' in page and 'name="kind"' in page
    assert "Database table (SQLite, PostgreSQL, MySQL/MariaDB)" in page
    assert 'name="url"' not in page and 'name="secret__' not in page
    refused = admin_client.get(ADD + "?kind=nope").content.decode()
    assert "Select a valid choice. nope is not one of the available choices." in refused


def test_database_form_shows_only_its_parameters_and_secrets_with_help(admin_client):
    page = admin_client.get(ADD + "?kind=database").content.decode()
    for name in ("option__table", "option__id_column", "option__projects", "option__page_size", "secret__password"):
        assert f'name="{name}"' in page, name
    # Other kinds' secrets and parameters are not offered.
    for name in ("secret__token", "secret__api_key", "secret__proxy_password", "option__verify_tls", "options"):
        assert f'name="{name}"' not in page, name
    assert "Comma-separated project keys; empty: the distinct values of the project column." in page
    assert "sqlite:////absolute/path/file.db" in page  # the URL's help for this kind
    assert "Default: updated_at." in page
    assert 'type="hidden" name="kind" value="database"' in page and "change</a>" in page


def test_missing_parameter_is_named_on_its_input_and_nothing_is_saved(admin_client):
    response = admin_client.post(ADD, {"kind": "database", "name": "left", "url": "sqlite:////tmp/nowhere.db",
                                       "option__table": "", "secret__password": SECRET})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["option__table"] == ["This parameter is required."]
    assert SECRET not in response.content.decode()
    assert not RepositoryConnection.objects.exists()


def test_bad_integer_gets_the_form_message(admin_client):
    response = admin_client.post(ADD, {"kind": "database", "name": "left", "url": "sqlite:////tmp/x.db",
                                       "option__table": "items", "option__page_size": "many"})
    assert response.context["adminform"].form.errors["option__page_size"] == ["Enter a whole number."]


def test_saved_options_are_the_api_dict_and_the_secret_is_write_only(admin_client, tmp_path):
    url = _table(tmp_path / "a.db")
    response = admin_client.post(ADD, {"kind": "database", "name": "left", "url": url,
                                       "option__table": "items", "option__projects": "ALPHA",
                                       "option__page_size": "50", "secret__password": SECRET})
    assert response.status_code == 302, response.content.decode()[:3000]
    conn = RepositoryConnection.objects.get(name="left")
    assert conn.kind == "database" and conn.secrets == {"password": SECRET}
    assert conn.options["table"] == "items" and conn.options["projects"] == "ALPHA"
    assert conn.options["page_size"] == 50 and conn.options["id_column"] == "id"
    assert AuditEvent.objects.filter(action="connection.create").exists()
    page = admin_client.get(f"/admin/integrations/repositoryconnection/{conn.pk}/change/").content.decode()
    assert SECRET not in page
    assert 'name="option__table" value="items"' in page and 'name="clear_secret__password"' in page
    assert 'name="kind"' not in page  # a connection keeps its kind


def _form(client, conn, **changes) -> dict:
    """The change form of ``conn`` as the browser sends it (every input as shown: secrets empty),
    with ``changes``."""
    form = client.get(f"/admin/integrations/repositoryconnection/{conn.pk}/change/").context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    return {k: ("" if v is None else v) for k, v in data.items() if v is not False} | changes


def test_test_connection_button_on_saved_values_records_the_status(admin_client, tmp_path):
    url = _table(tmp_path / "b.db")
    conn = ConnectionFactory(kind="database", url=url, options={"table": "items"})
    missing = ConnectionFactory(kind="database", url=url, options={"table": "absent"})
    change = f"/admin/integrations/repositoryconnection/{conn.pk}/change/"
    page = admin_client.get(change).content.decode()
    # A submit button of the form itself, after the Save buttons (Enter still saves).
    assert 'name="_test_connection"' in page and page.index('name="_save"') < page.index('id="test-connection"')
    response = admin_client.post(change, _form(admin_client, conn, _test_connection="1"))
    assert response.status_code == 200  # the page again, not a redirect: nothing was saved
    text = response.content.decode()
    assert f"Connection &#x27;{conn.name}&#x27;: Connected" in text and 'class="success"' in text
    assert RepositoryConnection.objects.get(pk=conn.pk).status == "ok"
    failed = admin_client.post(f"/admin/integrations/repositoryconnection/{missing.pk}/change/",
                               _form(admin_client, missing, _test_connection="1"))
    assert 'class="error"' in failed.content.decode() and "absent" in failed.content.decode()
    assert RepositoryConnection.objects.get(pk=missing.pk).status == "failing"
    assert AuditEvent.objects.filter(action="connection.test").count() == 2


def test_test_connection_tests_the_unsaved_form_and_saves_nothing(admin_client, tmp_path):
    url = _table(tmp_path / "c.db")
    conn = ConnectionFactory(kind="database", url=url, options={"table": "absent"})
    change = f"/admin/integrations/repositoryconnection/{conn.pk}/change/"
    before = AuditEvent.objects.exclude(action="connection.test").count()
    # The table typed (not saved) exists: the test passes on it; the stored row is untouched.
    response = admin_client.post(change, _form(admin_client, conn, option__table="items", name="renamed", _test_connection="1"))
    text = response.content.decode()
    assert "Connection &#x27;renamed&#x27; (values not saved): Connected; table &#x27;items&#x27;" in text
    assert 'name="option__table" value="items"' in text  # the typed values come back to be saved
    stored = RepositoryConnection.objects.get(pk=conn.pk)
    assert (stored.name, stored.options["table"], stored.status) == (conn.name, "absent", "unknown")
    assert AuditEvent.objects.exclude(action="connection.test").count() == before
    assert AuditEvent.objects.get(action="connection.test").details == {"ok": True, "problem": "", "unsaved": True}


def test_test_connection_on_the_add_page_creates_nothing(admin_client, tmp_path):
    url = _table(tmp_path / "d.db")
    response = admin_client.post(ADD, {"kind": "database", "name": "new", "url": url, "option__table": "nope",
                                       "_test_connection": "1"})
    assert response.status_code == 200
    assert "Connection &#x27;new&#x27; (values not saved): The tool answered, but the test failed" in \
        response.content.decode()
    assert "nope" in response.content.decode() and not RepositoryConnection.objects.exists()
    invalid = admin_client.post(ADD, {"kind": "database", "name": "new", "url": url, "option__table": "",
                                      "_test_connection": "1"})
    assert "Not tested: correct the values below first." in invalid.content.decode()
    assert invalid.context["adminform"].form.errors["option__table"] == ["This parameter is required."]
    assert not AuditEvent.objects.filter(action="connection.test", details__ok=True).exists()


@pytest.fixture
def tracker():
    from tests.fakes.tracker import FakeTracker

    with FakeTracker(api_key=SECRET) as t:
        yield t


def test_typed_secret_is_tested_and_never_echoed(admin_client, tracker, caplog):
    """A Redmine connection whose stored key is wrong: the key typed (not saved) passes; a key that
    the tool echoes back in its error never reaches the page, the messages or the log."""
    from tests.fakes.echo import EchoProxy
    from tests.leak_sweep import assert_clean

    conn = ConnectionFactory(kind="redmine", url=tracker.base_url, options={}, secrets={"api_key": "stale-key"})
    change = f"/admin/integrations/repositoryconnection/{conn.pk}/change/"
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(change, _form(admin_client, conn, secret__api_key=SECRET, _test_connection="1"))
    text = response.content.decode()
    assert "(values not saved): Connected to Redmine as admin" in text, text[:3000]
    assert "type them again to save them" in text
    assert_clean(text, "the tested page", [SECRET])
    stored = RepositoryConnection.objects.get(pk=conn.pk)
    assert stored.secrets == {"api_key": "stale-key"} and stored.status == "unknown"
    # Left empty, the stored (wrong) key is the one tested.
    blank = admin_client.post(change, _form(admin_client, conn, url=tracker.base_url + "/", _test_connection="1"))
    assert "(values not saved): Authentication failed" in blank.content.decode()
    # A tool that echoes the credentials it got: masked before they become a message.
    with EchoProxy(422, key="errors") as echo:
        echoed = admin_client.post(change, _form(admin_client, conn, url=echo.url, secret__api_key=SECRET, _test_connection="1"))
        assert echo.echoed >= 1
    assert "(values not saved): The tool answered, but the test failed" in echoed.content.decode()
    assert_clean(echoed.content.decode(), "the echoed test's page", [SECRET])
    assert_clean(str(echoed.cookies), "the response cookies", [SECRET])
    assert_clean("\n".join(r.getMessage() + str(r.args) for r in caplog.records), "log records", [SECRET])
    assert_clean(str(list(AuditEvent.objects.values())), "the audit trail", [SECRET])


def test_viewer_cannot_test_from_the_admin(client):
    from django.contrib.auth.models import Group

    from tasktop_hub import roles
    from tests.factories import UserFactory

    conn = ConnectionFactory()
    viewer = UserFactory(username="viewer-staff", is_staff=True)
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    client.force_login(viewer)
    change = f"/admin/integrations/repositoryconnection/{conn.pk}/change/"
    assert 'name="_test_connection"' not in client.get(change).content.decode()
    assert client.post(change, {"name": conn.name, "_test_connection": "1"}).status_code == 403
    assert not AuditEvent.objects.filter(action="connection.test").exists()


def test_http_kind_offers_its_own_secrets_and_typed_options(admin_client):
    page = admin_client.get(ADD + "?kind=redmine").content.decode()
    assert 'name="secret__api_key"' in page and 'name="secret__proxy_password"' in page
    assert 'name="secret__password"' not in page and 'name="option__table"' not in page
    assert 'type="checkbox" name="option__verify_tls"' in page and "checked" in page  # default: verify
    assert "its REST API must be enabled" in page


def test_viewers_get_no_add_page(client):
    from django.contrib.auth.models import Group

    from tasktop_hub import roles
    from tests.factories import UserFactory

    viewer = UserFactory(username="viewer-add", is_staff=True)
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    client.force_login(viewer)
    for model in ("repositoryconnection", "collection", "integration", "route"):
        assert client.get(f"/admin/integrations/{model}/add/").status_code == 403, model
