import pytest

from integrations.models import ArtifactPair, Integration, Route
from notifications.models import AuditEvent
from tests.factories import CollectionFactory, ConnectionFactory, IntegrationFactory, PairFactory, RouteFactory

pytestmark = pytest.mark.django_db


def _errors(response):
    return {(e["field"], e["message"]) for e in response.json()["errors"]}


class TestConnections:
    url = "/api/v1/connections/"

    def test_crud(self, staff_client):
        created = staff_client.post(
            self.url, {"name": "tracker", "kind": "params_only", "url": "http://t", "options": {"page_size": 50}},
            format="json",
        )
        assert created.status_code == 201, created.json()
        pk = created.json()["id"]
        assert created.json()["options"] == {"site": "main", "page_size": 50}
        assert staff_client.get(f"{self.url}{pk}/").json()["name"] == "tracker"
        patched = staff_client.patch(f"{self.url}{pk}/", {"change_detection_interval": 30}, format="json")
        assert patched.json()["change_detection_interval"] == 30
        assert staff_client.delete(f"{self.url}{pk}/").status_code == 204
        assert staff_client.get(f"{self.url}{pk}/").status_code == 404
        actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("at"))
        assert actions == ["connection.create", "connection.update", "connection.delete"]

    def test_unknown_kind_names_the_known_ones(self, staff_client):
        response = staff_client.post(self.url, {"name": "x", "kind": "nope"}, format="json")
        assert response.status_code == 400
        assert any(f == "kind" and "nope" in m for f, m in _errors(response))

    def test_bad_option_is_refused(self, staff_client):
        response = staff_client.post(
            self.url, {"name": "x", "kind": "params_only", "options": {"page_size": "many", "colour": 1}},
            format="json",
        )
        assert response.status_code == 400
        messages = " ".join(m for _, m in _errors(response))
        assert "page_size: Must be a whole number." in messages
        assert "colour: Unknown parameter" in messages

    def test_out_of_range_override(self, staff_client):
        response = staff_client.post(
            self.url, {"name": "x", "kind": "params_only", "change_detection_interval": 1}, format="json"
        )
        assert response.status_code == 400
        assert any(f == "change_detection_interval" for f, _ in _errors(response))

    def test_duplicate_name(self, staff_client):
        ConnectionFactory(name="dup")
        response = staff_client.post(self.url, {"name": "dup", "kind": "params_only"}, format="json")
        assert response.status_code == 400
        assert any(f == "name" and "already exists" in m for f, m in _errors(response))

    def test_unknown_field(self, staff_client):
        response = staff_client.post(self.url, {"name": "x", "kind": "params_only", "pasword": "s"}, format="json")
        assert response.status_code == 400
        assert any(f == "pasword" and "Unknown field" in m for f, m in _errors(response))

    def test_cannot_delete_a_connection_in_use(self, staff_client):
        collection = CollectionFactory()
        response = staff_client.delete(f"{self.url}{collection.connection.pk}/")
        assert response.status_code in (400, 409)

    @pytest.mark.parametrize("client_name,expected", [("anon_client", 401), ("user_client", 403)])
    def test_permissions(self, request, client_name, expected):
        client = request.getfixturevalue(client_name)
        ConnectionFactory()
        read = client.get(self.url)
        assert read.status_code == (200 if client_name == "user_client" else expected)
        write = client.post(self.url, {"name": "x", "kind": "params_only"}, format="json")
        assert write.status_code == expected


class TestCollections:
    url = "/api/v1/collections/"

    def test_create_and_validate_projects(self, staff_client):
        conn = ConnectionFactory()
        ok = staff_client.post(
            self.url, {"name": "bugs", "connection": conn.pk, "projects": ["A"]}, format="json"
        )
        assert ok.status_code == 201, ok.json()
        bad = staff_client.post(
            self.url, {"name": "bugs2", "connection": conn.pk, "projects": []}, format="json"
        )
        assert bad.status_code == 400
        assert any(f == "projects" for f, _ in _errors(bad))

    def test_missing_connection(self, staff_client):
        response = staff_client.post(
            self.url, {"name": "c", "connection": 999, "projects": ["A"]}, format="json"
        )
        assert response.status_code == 400
        assert any(f == "connection" and "999" in m for f, m in _errors(response))

    def test_non_staff_cannot_create(self, user_client):
        conn = ConnectionFactory()
        response = user_client.post(
            self.url, {"name": "c", "connection": conn.pk, "projects": ["A"]}, format="json"
        )
        assert response.status_code == 403


class TestIntegrations:
    url = "/api/v1/integrations/"

    def test_create_run_stop(self, staff_client):
        left, right = CollectionFactory(), CollectionFactory()
        response = staff_client.post(
            self.url,
            {"name": "sync", "left_collection": left.pk, "right_collection": right.pk,
             "field_flow": {"summary": {"direction": "both", "frequency": "always"}}},
            format="json",
        )
        assert response.status_code == 201, response.json()
        pk = response.json()["id"]
        assert response.json()["run_state"] == "stopped"
        assert staff_client.post(f"{self.url}{pk}/run/").json()["run_state"] == "running"
        assert staff_client.post(f"{self.url}{pk}/stop/").json()["run_state"] == "stopped"

    def test_run_state_is_not_writable_directly(self, staff_client):
        integration = IntegrationFactory()
        response = staff_client.patch(f"{self.url}{integration.pk}/", {"run_state": "running"}, format="json")
        assert response.status_code == 400

    def test_bad_field_flow(self, staff_client):
        integration = IntegrationFactory()
        response = staff_client.patch(
            f"{self.url}{integration.pk}/", {"field_flow": {"summary": {"direction": "sideways"}}}, format="json"
        )
        assert response.status_code == 400
        assert any(f == "field_flow" and "direction must be one of" in m for f, m in _errors(response))

    def test_same_collection_on_both_sides(self, staff_client):
        c = CollectionFactory()
        response = staff_client.post(
            self.url, {"name": "x", "left_collection": c.pk, "right_collection": c.pk}, format="json"
        )
        assert response.status_code == 400

    def test_override_and_effective_settings(self, staff_client):
        integration = IntegrationFactory()
        staff_client.patch(f"{self.url}{integration.pk}/", {"change_detection_interval": 45}, format="json")
        eff = staff_client.get(f"{self.url}{integration.pk}/effective-settings/").json()
        assert eff["change_detection_interval"] == 45
        assert eff["change_detection_source"] == "integration"

    def test_override_on_a_missing_integration(self, staff_client):
        response = staff_client.patch(f"{self.url}999/", {"change_detection_interval": 45}, format="json")
        assert response.status_code == 404
        assert response.json()["detail"]

    def test_refused_update_leaves_row_unchanged(self, staff_client):
        integration = IntegrationFactory(change_detection_interval=30)
        response = staff_client.patch(
            f"{self.url}{integration.pk}/", {"change_detection_interval": 45, "conflict_overrides": {"a": "x"}},
            format="json",
        )
        assert response.status_code == 400
        integration.refresh_from_db()
        assert integration.change_detection_interval == 30


class TestRoutesAndPairs:
    def test_route_between_projects_of_the_wrong_collections(self, staff_client):
        integration = IntegrationFactory()
        response = staff_client.post(
            "/api/v1/routes/", {"integration": integration.pk, "left_project": "GAMMA", "right_project": "ALPHA"},
            format="json",
        )
        assert response.status_code == 400
        assert any(f == "left_project" and "GAMMA" in m for f, m in _errors(response))
        assert not Route.objects.exists()

    def test_project_routed_twice(self, staff_client):
        route = RouteFactory()
        response = staff_client.post(
            "/api/v1/routes/", {"integration": route.integration.pk, "left_project": "ALPHA", "right_project": "BETA"},
            format="json",
        )
        assert response.status_code == 400

    def test_duplicate_pair_is_refused(self, staff_client):
        pair = PairFactory()
        response = staff_client.post(
            "/api/v1/pairs/",
            {"integration": pair.integration.pk, "route": pair.route.pk, "left_id": pair.left_id, "right_id": "other"},
            format="json",
        )
        assert response.status_code == 400
        assert ArtifactPair.objects.count() == 1

    def test_pair_route_of_another_integration(self, staff_client):
        route = RouteFactory()
        other = IntegrationFactory()
        response = staff_client.post(
            "/api/v1/pairs/", {"integration": other.pk, "route": route.pk, "left_id": "1", "right_id": "2"},
            format="json",
        )
        assert response.status_code == 400
        assert any(f == "route" for f, _ in _errors(response))

    def test_pairs_filter_by_integration(self, staff_client):
        pair = PairFactory()
        PairFactory()
        data = staff_client.get(f"/api/v1/pairs/?integration={pair.integration.pk}").json()
        assert [p["id"] for p in data["results"]] == [pair.pk]


def test_database_enforces_pair_uniqueness():
    from django.db import IntegrityError, transaction

    pair = PairFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ArtifactPair.objects.create(integration=pair.integration, route=pair.route, left_id="new", right_id=pair.right_id)


def test_connector_kinds_lists_parameters(staff_client):
    kinds = staff_client.get("/api/v1/connector-kinds/").json()
    fixture = next(k for k in kinds if k["kind"] == "params_only")
    token = next(p for p in fixture["parameters"] if p["name"] == "token")
    assert token["sensitive"] is True


def test_integration_stop_keeps_pairs(staff_client):
    pair = PairFactory()
    integration = pair.integration
    staff_client.post(f"/api/v1/integrations/{integration.pk}/run/")
    staff_client.post(f"/api/v1/integrations/{integration.pk}/stop/")
    assert Integration.objects.get(pk=integration.pk).pairs.count() == 1
