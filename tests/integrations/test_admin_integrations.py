"""An integration's admin form: the two collections first, a per-field table instead of the
field-flow and conflict-override JSON, routes picked from each side's projects; the API's JSON
is what the table writes."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.models import Integration, Route
from notifications.models import AuditEvent
from tests.factories import CollectionFactory, IntegrationFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/integrations/integration/add/"


@pytest.fixture
def admin_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def sides():
    left = CollectionFactory(name="bugs", projects=["ALPHA", "GAMMA"],
                             field_mapping={"summary": "subject", "status": "state", "only_left": "x"})
    right = CollectionFactory(name="tickets", projects=["BETA"], field_mapping={"summary": "title", "status": "st"})
    return left, right


def _routes(*pairs: tuple[str, str], initial: int = 0, ids: list[int] | None = None) -> dict[str, str]:
    data = {"routes-TOTAL_FORMS": str(len(pairs)), "routes-INITIAL_FORMS": str(initial),
            "routes-MIN_NUM_FORMS": "0", "routes-MAX_NUM_FORMS": "1000"}
    for i, (left, right) in enumerate(pairs):
        data |= {f"routes-{i}-left_project": left, f"routes-{i}-right_project": right}
        if ids:
            data[f"routes-{i}-id"] = str(ids[i])
    return data


def _rows(*rows: tuple[str, str, str, str]) -> dict[str, str]:
    data = {}
    for i, (field, direction, frequency, conflict) in enumerate(rows):
        data |= {f"field_flow-{i}-field": field, f"field_flow-{i}-direction": direction,
                 f"field_flow-{i}-frequency": frequency, f"field_flow-{i}-conflict": conflict}
    return data


def test_add_asks_for_two_different_collections_first(admin_client, sides):
    left, _ = sides
    page = admin_client.get(ADD).content.decode()
    assert 'id="first-step"' in page and 'name="field_flow' not in page
    same = admin_client.get(f"{ADD}?left_collection={left.pk}&right_collection={left.pk}").content.decode()
    assert "The right collection must differ from the left one." in same


def test_the_table_lists_the_common_fields_and_writes_the_api_json(admin_client, sides):
    left, right = sides
    page = admin_client.get(f"{ADD}?left_collection={left.pk}&right_collection={right.pk}").content.decode()
    assert 'name="field_flow-0-field" value="summary"' in page and 'name="field_flow-1-field" value="status"' in page
    assert "only_left" not in page  # mapped on one side only: nothing can flow
    assert "bugs → tickets only" in page and "only when created" in page
    assert '<option value="GAMMA">' in page and '<option value="BETA">' in page  # the routes' projects
    assert 'name="field_flow"' not in page  # no JSON text area
    # The chosen collections are shown (as text, with a way back to the question), not a hidden row.
    assert '<strong class="hub-chosen">bugs</strong>' in page and "_step=1" in page
    assert " hidden field-left_collection" not in page and "field-left_collection" in page

    response = admin_client.post(ADD, {
        "name": "bugs-tickets", "template": "synchronize", "conflict_strategy": "error",
        "left_collection": left.pk, "right_collection": right.pk,
        **_rows(("summary", "both", "always", ""), ("status", "left_to_right", "always", "right_wins")),
        **_routes(("ALPHA", "BETA")),
    })
    assert response.status_code == 302, response.content.decode()[:4000]
    integration = Integration.objects.get(name="bugs-tickets")
    assert integration.field_flow == {"status": {"direction": "left_to_right"}}
    assert integration.conflict_overrides == {"status": "right_wins"}
    assert [(r.left_project, r.right_project) for r in integration.routes.all()] == [("ALPHA", "BETA")]
    assert AuditEvent.objects.filter(action="route.create").exists()

    change = f"/admin/integrations/integration/{integration.pk}/change/"
    page = admin_client.get(change).content.decode()
    assert '<option value="left_to_right" selected>' in page and '<option value="right_wins" selected>' in page
    # Back to the defaults: nothing stored (the engine's defaults are both ways, always).
    route = integration.routes.get()
    response = admin_client.post(change, {
        "name": "bugs-tickets", "template": "synchronize", "conflict_strategy": "left_wins",
        **_rows(("summary", "both", "always", ""), ("status", "both", "on_create", "")),
        **_routes(("ALPHA", "BETA"), initial=1, ids=[route.pk]),
    })
    assert response.status_code == 302, response.content.decode()[:4000]
    integration.refresh_from_db()
    assert integration.field_flow == {"status": {"direction": "both", "frequency": "on_create"}}
    assert integration.conflict_overrides == {} and integration.conflict_strategy == "left_wins"


def test_route_errors_are_the_models(admin_client, sides):
    left, right = sides
    response = admin_client.post(ADD, {
        "name": "i", "template": "synchronize", "conflict_strategy": "error",
        "left_collection": left.pk, "right_collection": right.pk, **_rows(), **_routes(("ALPHA", "NOPE")),
    })
    assert response.status_code == 200
    assert "Project &#x27;NOPE&#x27; is not in the right collection &#x27;tickets&#x27; (its projects: BETA)." \
        in response.content.decode()
    assert not Integration.objects.exists() and not Route.objects.exists()


def test_route_page_picks_projects_of_the_integrations_collections(admin_client, sides):
    left, right = sides
    integration = IntegrationFactory(left_collection=left, right_collection=right)
    assert 'id="first-step"' in admin_client.get("/admin/integrations/route/add/").content.decode()
    page = admin_client.get(f"/admin/integrations/route/add/?integration={integration.pk}").content.decode()
    assert '<option value="GAMMA">' in page and '<option value="BETA">' in page
    assert "Left project (bugs)" in page


def test_run_refused_is_reported_in_words(admin_client, sides):
    left, right = sides
    integration = IntegrationFactory(left_collection=left, right_collection=right,
                                     field_flow={"ghost": {"direction": "both"}})
    response = admin_client.post("/admin/integrations/integration/", {
        "action": "run_integrations", "_selected_action": [integration.pk]}, follow=True)
    assert response.status_code == 200
    assert "Field flow names &#x27;ghost&#x27;" in response.content.decode()
    integration.refresh_from_db()
    assert integration.run_state == "stopped"
