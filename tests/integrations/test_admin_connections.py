"""A connection's admin form: the kind first, then only that kind's parameters and secrets with
their help, precise errors on the input concerned, and the Test connection button."""

from __future__ import annotations

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


def test_test_connection_button_reports_in_words(admin_client, tmp_path):
    url = _table(tmp_path / "b.db")
    conn = ConnectionFactory(kind="database", url=url, options={"table": "items"})
    missing = ConnectionFactory(kind="database", url=url, options={"table": "absent"})
    change = f"/admin/integrations/repositoryconnection/{conn.pk}/change/"
    assert 'id="test-connection"' in admin_client.get(change).content.decode()
    page = admin_client.post(f"/admin/integrations/repositoryconnection/{conn.pk}/test/", follow=True)
    assert page.redirect_chain[-1][0] == change
    text = page.content.decode()
    assert f"Connection &#x27;{conn.name}&#x27;:" in text and 'class="success"' in text
    assert RepositoryConnection.objects.get(pk=conn.pk).status == "ok"
    failed = admin_client.post(f"/admin/integrations/repositoryconnection/{missing.pk}/test/", follow=True)
    assert 'class="error"' in failed.content.decode() and "absent" in failed.content.decode()
    assert RepositoryConnection.objects.get(pk=missing.pk).status == "failing"
    # A GET does not test (no state change without a POST).
    admin_client.get(f"/admin/integrations/repositoryconnection/{conn.pk}/test/")
    assert AuditEvent.objects.filter(action="connection.test").count() == 2


def test_viewer_cannot_test_from_the_admin(client):
    from django.contrib.auth.models import Group

    from tasktop_hub import roles
    from tests.factories import UserFactory

    conn = ConnectionFactory()
    viewer = UserFactory(username="viewer-staff", is_staff=True)
    viewer.groups.add(Group.objects.get(name=roles.VIEWERS))
    client.force_login(viewer)
    client.post(f"/admin/integrations/repositoryconnection/{conn.pk}/test/")
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
