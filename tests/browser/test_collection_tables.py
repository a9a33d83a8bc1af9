"""A collection's value translations and transition graph edited as tables in a real browser
(Debian's chromium via Playwright): rows typed on the page, then the JSON the API keeps."""

import pytest

from integrations.connectors.database.schema import create_work_item_table
from integrations.models import Collection
from tests.factories import CollectionFactory, ConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_value_translations_and_transitions_edited_as_rows(admin_page, live_server, tmp_path):
    (tmp_path / "tool.db").touch()
    url = f"sqlite:///{tmp_path / 'tool.db'}"
    create_work_item_table(url, "items", ["summary", "status"])
    connection = ConnectionFactory(kind="database", url=url, options={"table": "items", "projects": "ALPHA"})
    collection = CollectionFactory(connection=connection, projects=["ALPHA"],
                                   field_mapping={"summary": "summary", "status": "status"},
                                   field_roles={"status": "state"}, value_mappings={"status": {"Nouveau": "New"}},
                                   transitions={"Nouveau": ["Fermé"]})
    page = admin_page
    page.goto(f"{live_server.url}/admin/integrations/collection/{collection.pk}/change/")
    values = page.locator("table#id_value_mappings")
    assert values.is_visible()  # not folded away in a collapsed section
    assert page.input_value("[name=value_mappings-0-tool]") == "Nouveau"
    assert page.input_value("[name=transitions-0-to]") == "Fermé"

    # A half-filled row is refused with its reason, and nothing is stored.
    page.select_option("[name=value_mappings-1-field]", "status")
    page.fill("[name=value_mappings-1-tool]", "Fermé")
    page.click("input[name=_continue]")
    assert "status: give the model value for the tool value 'Fermé'." in page.locator(".errorlist").inner_text()
    assert Collection.objects.get(pk=collection.pk).value_mappings == {"status": {"Nouveau": "New"}}

    page.fill("[name=value_mappings-1-model]", "Done")
    page.fill("[name=transitions-1-from]", "Fermé")
    page.fill("[name=transitions-1-to]", "Nouveau")
    page.click("input[name=_continue]")
    assert "was changed successfully" in page.locator(".messagelist .success").inner_text()
    stored = Collection.objects.get(pk=collection.pk)
    assert stored.value_mappings == {"status": {"Nouveau": "New", "Fermé": "Done"}}
    assert stored.transitions == {"Nouveau": ["Fermé"], "Fermé": ["Nouveau"]}
    # The page shows what was stored, row by row.
    assert page.input_value("[name=value_mappings-1-model]") == "Done"
    assert page.input_value("[name=transitions-1-from]") == "Fermé"
