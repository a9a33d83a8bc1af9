"""A collection's admin form: the connection first, then projects and a field mapping picked from
what the tool offers (text inputs, with the reason, when the tool cannot be asked)."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.connectors.database.schema import create_work_item_table
from integrations.models import Collection
from tests.factories import CollectionFactory, ConnectionFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/integrations/collection/add/"


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def table_connection(tmp_path):
    path = tmp_path / "tool.db"
    path.touch()
    create_work_item_table(f"sqlite:///{path}", "items", ["summary", "status"])
    return ConnectionFactory(kind="database", url=f"sqlite:///{path}", options={"table": "items",
                                                                               "projects": "ALPHA, BETA"})


def _mapping(rows: list[tuple[str, str, str]]) -> dict[str, str]:
    data = {}
    for i, (model, tool, role) in enumerate(rows):
        data |= {f"field_mapping-{i}-model": model, f"field_mapping-{i}-tool": tool, f"field_mapping-{i}-role": role}
    return data


def test_without_connections_the_first_step_says_to_add_one(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert "There is nothing to choose as repository connection yet: add one first." in page


def test_add_asks_for_the_connection_first(admin_client, table_connection):
    page = admin_client.get(ADD).content.decode()
    assert 'id="first-step"' in page and table_connection.name in page and 'name="field_mapping' not in page


def test_projects_and_fields_come_from_the_tool(admin_client, table_connection):
    page = admin_client.get(f"{ADD}?connection={table_connection.pk}").content.decode()
    assert 'type="checkbox" name="projects" value="ALPHA"' in page and 'value="BETA"' in page
    # One row per tool field, each a select of the tool's fields already on its field.
    assert '<select name="field_mapping-0-tool"' in page and '<option value="summary" selected>' in page
    assert '<option value="status" selected>' in page
    assert "synchronize the fields they map under the same model field name" in page

    response = admin_client.post(ADD, {
        "connection": table_connection.pk, "name": "left-items", "projects": ["ALPHA"],
        "person_strategy": "default",
        **_mapping([("summary", "summary", ""), ("state", "status", "state")]),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    collection = Collection.objects.get(name="left-items")
    assert collection.projects == ["ALPHA"]
    assert collection.field_mapping == {"summary": "summary", "state": "status"}
    assert collection.field_roles == {"state": "state"}

    change = admin_client.get(f"/admin/integrations/collection/{collection.pk}/change/").content.decode()
    assert 'name="field_mapping-1-model" value="state"' in change and 'checked' in change


def test_errors_are_precise_and_nothing_is_saved(admin_client, table_connection):
    base = {"connection": table_connection.pk, "name": "c", "person_strategy": "default"}
    response = admin_client.post(ADD, {**base, **_mapping([("summary", "summary", "")])})
    errors = response.context["adminform"].form.errors
    assert errors["projects"] == ["Give one or more project keys as a list of non-empty strings."]

    response = admin_client.post(ADD, {**base, "projects": ["ALPHA"],
                                       **_mapping([("summary", "", ""), ("title", "summary", "")])})
    assert response.context["adminform"].form.errors["field_mapping"] == ["summary: choose the tool field it maps to."]

    response = admin_client.post(ADD, {**base, "projects": ["ALPHA"],
                                       **_mapping([("summary", "summary", ""), ("summary", "status", "")])})
    assert "summary: listed twice" in response.context["adminform"].form.errors["field_mapping"][0]

    response = admin_client.post(ADD, {**base, "projects": ["ALPHA"],
                                       **_mapping([("a", "summary", "state"), ("b", "status", "state")])})
    assert response.context["adminform"].form.errors["field_mapping"] == [
        "Role: Only one field can have the role 'state'."]
    assert not Collection.objects.exists()


def test_unreachable_tool_falls_back_to_text_inputs(admin_client, tmp_path):
    gone = ConnectionFactory(kind="database", url=f"sqlite:///{tmp_path}/missing.db", options={"table": "items"})
    page = admin_client.get(f"{ADD}?connection={gone.pk}").content.decode()
    assert "could not be asked for its projects and fields" in page and "does not exist" in page
    assert '<input type="text" name="projects"' in page and '<input type="text" name="field_mapping-0-tool"' in page
    response = admin_client.post(ADD, {"connection": gone.pk, "name": "typed", "person_strategy": "default",
                                       "projects": "ALPHA, BETA", **_mapping([("summary", "title", "")])})
    assert response.status_code == 302, response.content.decode()[:3000]
    typed = Collection.objects.get(name="typed")
    assert typed.projects == ["ALPHA", "BETA"] and typed.field_mapping == {"summary": "title"}


def test_a_stored_project_the_tool_no_longer_lists_stays_offered(admin_client, table_connection):
    collection = CollectionFactory(connection=table_connection, projects=["ALPHA", "OLD"],
                                   field_mapping={"summary": "summary"})
    page = admin_client.get(f"/admin/integrations/collection/{collection.pk}/change/").content.decode()
    assert "OLD (not listed by the tool)" in page


def test_gateway_collection_names_its_project_and_fields_and_gets_its_token(admin_client):
    gateway = ConnectionFactory(kind="gateway", url="", options={})
    page = admin_client.get(f"{ADD}?connection={gateway.pk}").content.decode()
    assert "do not list their projects and fields: type the names." in page
    assert 'name="gateway_match_field"' in page and 'name="gateway_rate_limit"' in page
    response = admin_client.post(ADD, {"connection": gateway.pk, "name": "intake", "person_strategy": "default",
                                       "projects": "FORMS", "gateway_rate_limit": "60", "gateway_match_field": "ref",
                                       **_mapping([("summary", "title", ""), ("reference", "ref", "")])})
    assert response.status_code == 200 and "Gateway token of" in response.content.decode()
    intake = Collection.objects.get(name="intake")
    assert intake.projects == ["FORMS"] and intake.gateway_match_field == "ref" and intake.gateway_token_set_at


def test_custom_transformations_are_picked_per_field_and_direction(admin_client, table_connection):
    from extensions.models import Extension

    # A row as the form needs it (names and types); the sandbox is not involved in configuring.
    Extension.objects.create(name="label", type="transform", source="function transform(v, f) { return v }")
    Extension.objects.create(name="who", type="person", source="function match(a, b) { return null }")
    page = admin_client.get(f"{ADD}?connection={table_connection.pk}").content.decode()
    assert '<select name="field_mapping-0-read"' in page and '<option value="label">' in page
    assert '<option value="who">' not in page  # only custom data transformations
    assert 'name="field_extensions"' not in page  # no JSON for them
    response = admin_client.post(ADD, {
        "connection": table_connection.pk, "name": "with-ext", "projects": ["ALPHA"], "person_strategy": "default",
        **_mapping([("summary", "summary", ""), ("status", "status", "")]),
        "field_mapping-1-read": "label", "field_mapping-1-write": "",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Collection.objects.get(name="with-ext").field_extensions == {"status": {"read": "label"}}


def test_a_tool_with_many_fields_gets_empty_rows_to_pick_from(admin_client, tmp_path):
    from integrations.admin_collections import EMPTY_ROWS, ROWS_PER_FIELD_UP_TO

    path = tmp_path / "wide.db"
    path.touch()
    create_work_item_table(f"sqlite:///{path}", "items", [f"f{i}" for i in range(ROWS_PER_FIELD_UP_TO + 1)])
    wide = ConnectionFactory(kind="database", url=f"sqlite:///{path}", options={"table": "items", "projects": "A"})
    page = admin_client.get(f"{ADD}?connection={wide.pk}").content.decode()
    assert f'name="field_mapping-{EMPTY_ROWS - 1}-tool"' in page and f'name="field_mapping-{EMPTY_ROWS}-tool"' not in page
    assert page.count('<option value="f20">') == EMPTY_ROWS and '<option value="f0" selected>' not in page


def _change_form(client, collection, **changes) -> dict:
    """The change form as the browser sends it (every input as shown), with ``changes``."""
    page = client.get(f"/admin/integrations/collection/{collection.pk}/change/")
    form = page.context["adminform"].form
    data: dict = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if name in ("field_mapping", "value_mappings", "transitions"):
            for i, row in enumerate(value or []):
                data |= {f"{name}-{i}-{c.key}": row.get(c.key, "") for c in field.columns}
        elif value not in (None, False):
            data[name] = value
    return data | changes


def test_value_translations_and_transitions_are_tables_that_round_trip(admin_client, table_connection):
    stored_values = {"status": {"Nouveau": "New", "Fermé": "Done"}}
    stored_graph = {"Nouveau": ["En cours"], "En cours": ["Fermé", "Nouveau"], "Fermé": []}
    collection = CollectionFactory(connection=table_connection, projects=["ALPHA"],
                                   field_mapping={"summary": "summary", "status": "status"},
                                   field_roles={"status": "state"}, value_mappings=stored_values,
                                   transitions=stored_graph)
    change = f"/admin/integrations/collection/{collection.pk}/change/"
    page = admin_client.get(change).content.decode()
    assert 'name="value_mappings"' not in page and 'name="transitions"' not in page  # no JSON areas
    assert '<select name="value_mappings-0-field"' in page and '<option value="status" selected>' in page
    assert 'name="value_mappings-1-tool" value="Fermé"' in page
    assert 'name="transitions-3-from" value="Fermé"' in page and 'name="transitions-3-to" size' in page  # no value
    # Saved untouched: the same JSON, a state that cannot be left included.
    response = admin_client.post(change, _change_form(admin_client, collection))
    assert response.status_code == 302, response.content.decode()[:3000]
    collection.refresh_from_db()
    assert collection.value_mappings == stored_values and collection.transitions == stored_graph
    # A row added in each table (the blank rows after the stored ones).
    response = admin_client.post(change, _change_form(
        admin_client, collection, **{"value_mappings-2-field": "status", "value_mappings-2-tool": "Rejeté",
                                     "value_mappings-2-model": "Rejected", "transitions-4-from": "Fermé",
                                     "transitions-4-to": "Nouveau"}))
    assert response.status_code == 302, response.content.decode()[:3000]
    collection.refresh_from_db()
    assert collection.value_mappings == {"status": {"Nouveau": "New", "Fermé": "Done", "Rejeté": "Rejected"}}
    assert collection.transitions == {**stored_graph, "Fermé": ["Nouveau"]}
    api = admin_client.get(f"/api/v1/collections/{collection.pk}/").json()
    assert api["value_mappings"] == collection.value_mappings and api["transitions"] == collection.transitions


def test_value_translation_and_transition_rows_get_precise_messages(admin_client, table_connection):
    collection = CollectionFactory(connection=table_connection, projects=["ALPHA"],
                                   field_mapping={"summary": "summary", "status": "status"})
    change = f"/admin/integrations/collection/{collection.pk}/change/"

    def errors(**rows: str) -> dict:
        response = admin_client.post(change, _change_form(admin_client, collection, **rows))
        assert response.status_code == 200
        return response.context["adminform"].form.errors

    assert errors(**{"value_mappings-0-tool": "Nouveau", "value_mappings-0-model": "New"})["value_mappings"] == [
        "'Nouveau' → 'New': choose the model field it translates."]
    assert errors(**{"value_mappings-0-field": "status", "value_mappings-0-tool": "Nouveau"})["value_mappings"] == [
        "status: give the model value for the tool value 'Nouveau'."]
    assert errors(**{"value_mappings-0-field": "status", "value_mappings-0-model": "New"})["value_mappings"] == [
        "status: give the tool value that 'New' translates."]
    twice = {"value_mappings-0-field": "status", "value_mappings-0-tool": "Nouveau", "value_mappings-0-model": "New",
             "value_mappings-1-field": "status", "value_mappings-1-tool": "Nouveau", "value_mappings-1-model": "Open"}
    assert errors(**twice)["value_mappings"] == [
        "status: tool value 'Nouveau' is listed twice; give each tool value one row."]
    unmapped = {"value_mappings-0-field": "priority", "value_mappings-0-tool": "P1", "value_mappings-0-model": "High"}
    assert errors(**unmapped)["value_mappings"] == ["Unknown model field(s) priority: map them first."]
    assert errors(**{"transitions-0-to": "Done"})["transitions"] == ["→ 'Done': give the state it moves from."]
    assert errors(**{"transitions-0-from": "New", "transitions-0-to": "Done", "transitions-1-from": "New",
                     "transitions-1-to": "Done"})["transitions"] == ["New → Done: listed twice."]
    collection.refresh_from_db()
    assert collection.value_mappings == {} and collection.transitions == {}
