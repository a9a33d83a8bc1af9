"""Managing extensions: services (compile on save, versions, audit, in-use deletes refused),
the API (integrators write; the run harness writes nothing), manage.py extensions, the admin."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from extensions import services
from extensions.models import Extension, ExtensionVersion
from notifications.models import AuditEvent
from tasktop_hub import roles
from tests.factories import UserFactory

DOUBLE = "function transform(value, fields) {\n  return value * 2\n}"


@pytest.fixture
def integrator_client(db):
    user = UserFactory(username="integrator")
    user.groups.add(Group.objects.get(name=roles.INTEGRATORS))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_saving_compiles_and_refuses_a_script_without_its_entry_function(db):
    with pytest.raises(ValidationError, match="does not define the function transform"):
        services.create(None, name="t", type="transform", source="function transfrom(v) { return v }")
    with pytest.raises(ValidationError, match=r"Line 3: SyntaxError"):
        services.create(None, name="t", type="transform", source="function transform(v) {\n  return [\n  )\n}")
    with pytest.raises(ValidationError, match="does not define the function transitions"):
        services.create(None, name="s", type="state", source=DOUBLE)
    assert not Extension.objects.exists() and not AuditEvent.objects.filter(action__startswith="extension").exists()


def test_versions_are_kept_and_every_change_audited(db):
    ext = services.create(None, name="double", type="transform", source=DOUBLE, description="x2")
    ext = services.update(None, ext, source=DOUBLE.replace("2", "3"))
    ext = services.update(None, ext, description="x3")  # not a new version
    assert ext.version == 2
    assert list(ExtensionVersion.objects.filter(extension=ext).values_list("version", flat=True)) == [2, 1]
    assert ExtensionVersion.objects.get(extension=ext, version=1).source == DOUBLE
    assert list(AuditEvent.objects.filter(action__startswith="extension").order_by("pk").values_list(
        "action", flat=True)) == ["extension.create", "extension.update", "extension.update"]
    with pytest.raises(ValidationError, match="does not define"):
        services.update(None, ext, source="var x = 1")
    ext.refresh_from_db()
    assert ext.version == 2 and "* 3" in ext.source
    services.delete(None, ext)
    assert AuditEvent.objects.filter(action="extension.delete").exists()


def test_deleting_an_extension_in_use_is_refused_naming_its_users(db):
    from integrations.models import Collection, RepositoryConnection

    ext = services.create(None, name="double", type="transform", source=DOUBLE)
    conn = RepositoryConnection.objects.create(name="c", kind="database", url="sqlite:///x.db", options={})
    coll = Collection.objects.create(name="Bugs", connection=conn, projects=["A"], field_mapping={"priority": "p"},
                                     field_extensions={"priority": {"write": "double"}})
    with pytest.raises(ValidationError, match=r"in use.*collection 'Bugs' field 'priority' \(write\)"):
        services.delete(None, ext)
    with pytest.raises(ValidationError, match="cannot change while it is"):
        services.update(None, ext, name="renamed")
    coll.field_extensions = {}
    coll.save()
    services.delete(None, ext)
    assert not Extension.objects.exists()


def test_collection_refuses_unknown_or_mistyped_extensions(db):
    from integrations.models import Collection, RepositoryConnection

    services.create(None, name="steps", type="state", source="function transitions(a, b) { return [b] }")
    conn = RepositoryConnection.objects.create(name="c", kind="database", url="sqlite:///x.db", options={})
    coll = Collection(name="Bugs", connection=conn, projects=["A"], field_mapping={"priority": "p"},
                      field_extensions={"priority": {"write": "steps", "read": "nope"}})
    with pytest.raises(ValidationError) as err:
        coll.full_clean()
    assert "'nope' is not an extension; 'steps' is not a custom data transformation" in str(err.value)


def test_api_integrators_write_and_the_harness_runs(integrator_client):
    r = integrator_client.post("/api/v1/extensions/", {"name": "double", "type": "transform", "source": DOUBLE},
                               format="json")
    assert r.status_code == 201, r.json()
    pk = r.json()["id"]
    bad = integrator_client.patch(f"/api/v1/extensions/{pk}/", {"source": "function f() {}"}, format="json")
    assert bad.status_code == 400 and "does not define the function transform" in str(bad.json())
    run = integrator_client.post(f"/api/v1/extensions/{pk}/run/", {"input": [21, {}]}, format="json")
    assert run.status_code == 200 and run.json()["ok"] and run.json()["result"] == 42
    integrator_client.patch(f"/api/v1/extensions/{pk}/", {"source": DOUBLE.replace(
        "return", "console.log('got', value); throw new Error('no')\n  return")}, format="json")
    run = integrator_client.post(f"/api/v1/extensions/{pk}/run/", {"input": [1, {}]}, format="json").json()
    assert not run["ok"] and run["line"] == 2 and run["logs"] == ["got 1"]
    assert "Extension 'double' version 2 failed at line 2: Error: no." in run["message"]
    assert [v["version"] for v in integrator_client.get(f"/api/v1/extensions/{pk}/versions/").json()] == [2, 1]
    assert integrator_client.delete(f"/api/v1/extensions/{pk}/").status_code == 204


def test_api_viewers_cannot_write(db):
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get(name=roles.VIEWERS))
    client = APIClient()
    client.force_authenticate(user)
    r = client.post("/api/v1/extensions/", {"name": "d", "type": "transform", "source": DOUBLE}, format="json")
    assert r.status_code == 403


def test_manage_py_extensions(db, tmp_path):
    src = tmp_path / "double.js"
    src.write_text(DOUBLE)
    out = io.StringIO()
    call_command("extensions", "create", "double", "--type", "transform", "--file", str(src), stdout=out)
    call_command("extensions", "run", "double", "--input", "[5, {}]", stdout=out)
    assert "10" in out.getvalue().splitlines()
    src.write_text("function transform(v) {\n  throw new Error('x')\n}")
    call_command("extensions", "update", "double", "--file", str(src), stdout=out)
    with pytest.raises(CommandError, match="version 2 failed at line 2"):
        call_command("extensions", "run", "double", "--input", "[5, {}]", stdout=out)
    out = io.StringIO()
    call_command("extensions", "show", "double", "--version", "1", stdout=out)
    assert "   2 |   return value * 2" in out.getvalue()
    call_command("extensions", "list", stdout=out)
    src.write_text("var nothing = 1")
    with pytest.raises(CommandError, match="does not define"):
        call_command("extensions", "create", "other", "--type", "transform", "--file", str(src))
    call_command("extensions", "delete", "double", stdout=out)
    assert not Extension.objects.exists()


def test_admin_editor_harness_and_panel(staff):
    from django.test import Client

    client = Client()
    client.force_login(staff)
    page = client.get("/admin/extensions/extension/add/")
    assert page.status_code == 200 and b"hub-gutter" in page.content
    inline = {"versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"}
    r = client.post("/admin/extensions/extension/add/", {"name": "double", "type": "transform", "source": "var a =",
                                                          **inline})
    assert r.status_code == 200 and b"SyntaxError" in r.content and not Extension.objects.exists()
    r = client.post("/admin/extensions/extension/add/", {"name": "double", "type": "transform", "source": DOUBLE,
                                                          "description": "", **inline})
    assert r.status_code == 302, r.content[:2000]
    ext = Extension.objects.get()
    r = client.post(f"/admin/extensions/extension/{ext.pk}/run/", {"input": "[4, {}]"})
    assert b'id="hub-output">8</pre>' in r.content
    settings_page = client.get("/admin/settings/")
    assert b"Manage Extensions" in settings_page.content


def test_the_examples_install_once_and_do_what_the_docs_say(db):
    made = services.install_examples(None)
    assert sorted(e.type for e in made) == ["payload", "person", "state", "transform"]
    assert services.install_examples(None) == []
    by_type = {e.type: e for e in made}
    from extensions import runtime

    assert runtime.call(by_type["transform"], "2", {}) == "High"
    assert runtime.call(by_type["transform"], "Low", {}) == "4"
    assert runtime.call(by_type["payload"], {"alert": {"title": "Disk full", "severity": "critical",
                                                       "labels": {"host": "db1", "dc": "eu"}},
                                             "reporter": {"email": "ops@example.com"}}) == {
        "summary": "Disk full", "priority": "1", "assignee": "ops@example.com", "status": "New",
        "description": "dc=eu, host=db1"}
    candidates = [{"id": "u-1", "username": "ann", "email": "ann@new.example.com", "name": ""},
                  {"id": "u-2", "username": "bob", "email": "bob@else.org", "name": ""}]
    assert runtime.call(by_type["person"], {"id": "7", "username": "x", "email": "Ann@old.example.com"},
                        candidates) == "u-1"
    assert runtime.call(by_type["person"], {"id": "8", "username": "zed", "email": ""}, candidates) is None
    assert runtime.call(by_type["state"], "New", "Closed", {}) == ["Resolved", "Closed"]
    assert runtime.call(by_type["state"], "Closed", "In Progress", {}) == ["New", "In Progress"]
