"""The gateway endpoint and its token: durable intake with idempotency keys, the token checked
by digest in constant time, the per-collection rate limit (429 + Retry-After), the size cap
(413), content type and JSON errors in the API's shape, and who may regenerate a token (API,
admin, command). The token never appears in an answer other than the one that issues it, nor
in the logs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.gateway import tokens
from integrations.models import Collection, GatewayDelivery, GatewayWindow, RepositoryConnection
from tasktop_hub import roles
from tests.factories import CollectionFactory, UserFactory
from tests.integrations.gateway.rig import make_gateway_rig

pytestmark = pytest.mark.django_db


@pytest.fixture
def gw(tmp_path):
    path = tmp_path / "right.db"
    path.touch()
    return make_gateway_rig(f"sqlite:///{path}")


def _shape(response) -> dict:
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["errors"][0]["message"] == body["detail"], body
    return body


def test_a_post_is_recorded_before_the_202_and_a_repeated_key_answers_the_first_delivery(gw):
    r = gw.post({"summary": "Disk full"}, key="alert-1")
    assert r.status_code == 202
    first = r.json()
    delivery = GatewayDelivery.objects.get(pk=first["delivery"])  # committed when the answer left
    assert delivery.status == "received" and delivery.payload == {"summary": "Disk full"}
    assert delivery.idempotency_key == "alert-1" and first["duplicate"] is False
    again = gw.post({"summary": "Disk full (sent again)"}, key="alert-1")
    assert again.status_code == 200
    assert again.json()["delivery"] == first["delivery"] and again.json()["duplicate"] is True
    assert GatewayDelivery.objects.count() == 1
    assert GatewayDelivery.objects.get().payload == {"summary": "Disk full"}  # the first one stands
    assert gw.post({"summary": "other"}, key="alert-2").status_code == 202
    assert gw.post({"summary": "no key"}).status_code == 202
    assert gw.post({"summary": "no key"}).status_code == 202  # without a key, each POST is its own
    assert GatewayDelivery.objects.count() == 4


def test_the_same_key_on_another_collection_is_another_delivery(gw):
    gw.post({"summary": "a"}, key="k")
    other = Collection.objects.create(name="alerts-2", connection=gw.collection.connection, projects=["ALERTS"],
                                      field_mapping={"summary": "summary"})
    from integrations.gateway import services

    token = services.regenerate_token(other, None)
    r = Client().post(f"/api/v1/gateway/{other.name}/", {"summary": "b"}, content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY="k", HTTP_X_GATEWAY_TOKEN=token)  # by name, token in its own header
    assert r.status_code == 202 and GatewayDelivery.objects.count() == 2


def test_a_missing_or_wrong_token_an_unknown_or_plain_collection_all_answer_the_same_401(gw):
    plain = CollectionFactory()
    answers = [
        gw.client.post(f"/api/v1/gateway/{gw.collection.pk}/", "{}", content_type="application/json"),
        gw.post({}, HTTP_AUTHORIZATION="Bearer hgw_wrong"),
        gw.post({}, HTTP_AUTHORIZATION=f"Basic {gw.token}"),  # not a bearer token
        Client().post("/api/v1/gateway/999999/", "{}", content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {gw.token}"),
        Client().post(f"/api/v1/gateway/{plain.pk}/", "{}", content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {gw.token}"),
    ]
    for r in answers:
        assert r.status_code == 401 and r["WWW-Authenticate"].startswith("Bearer")
        assert _shape(r)["detail"] == answers[0].json()["detail"]
    assert not GatewayDelivery.objects.exists()


def test_the_token_is_checked_by_comparing_digests_in_constant_time(gw, monkeypatch):
    compared = []
    real = tokens.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    assert gw.post({}, HTTP_AUTHORIZATION="Bearer hgw_wrong").status_code == 401
    assert Client().post("/api/v1/gateway/424242/", "{}", content_type="application/json",
                         HTTP_AUTHORIZATION="Bearer x").status_code == 401
    assert gw.post({"summary": "ok"}).status_code == 202
    # Every check compares two 64-character digests, whether or not the collection exists:
    # never the token itself, never a short-circuiting ==.
    assert len(compared) == 3 and all(len(a) == len(b) == 64 for a, b in compared)
    assert compared[2][1] == Collection.objects.get(pk=gw.collection.pk).gateway_token_digest
    assert gw.token not in {x for pair in compared for x in pair}


def test_past_the_rate_limit_the_gateway_answers_429_with_retry_after(gw):
    Collection.objects.filter(pk=gw.collection.pk).update(gateway_rate_limit=3)
    assert [gw.post({"summary": str(i)}).status_code for i in range(3)] == [202, 202, 202]
    r = gw.post({"summary": "too many"})
    assert r.status_code == 429 and 1 <= int(r["Retry-After"]) <= 60
    assert "3 POSTs per minute" in _shape(r)["detail"]
    assert GatewayDelivery.objects.count() == 3
    GatewayWindow.objects.update(started=timezone.now() - timedelta(seconds=61))  # the minute is over
    assert gw.post({"summary": "next minute"}).status_code == 202


def test_a_payload_over_the_cap_is_refused_with_413_and_recorded_nowhere(gw, settings):
    settings.HUB_GATEWAY_MAX_BYTES = 100
    r = gw.post({"summary": "x" * 200})
    assert r.status_code == 413 and "100 bytes" in _shape(r)["detail"]
    assert gw.post({"summary": "x" * 50}).status_code == 202
    assert GatewayDelivery.objects.count() == 1


@pytest.mark.parametrize("body, content_type, status, words", [
    ('{"summary": "x"', "application/json", 400, "not valid JSON: line 1, column 16"),
    (" \n", "application/json", 400, "empty"),
    ("[1, 2]", "application/json", 400, "must be a JSON object of its fields (got an array)"),
    ("summary=x", "application/x-www-form-urlencoded", 415, "Content-Type must be application/json"),
    (b"\"\xff\"", "application/json", 400, "not valid utf-8 text"),
])
def test_bad_bodies_get_a_precise_error_in_the_api_shape(gw, body, content_type, status, words):
    r = gw.post(body, content_type=content_type)
    assert r.status_code == status
    assert words in _shape(r)["detail"]
    assert not GatewayDelivery.objects.exists()


def test_a_bad_idempotency_key_and_a_get_are_refused(gw):
    r = gw.post({"summary": "x"}, key="k" * 201)
    assert r.status_code == 400 and _shape(r)["errors"][0]["field"] == "Idempotency-Key"
    r = gw.client.get(f"/api/v1/gateway/{gw.collection.pk}/", HTTP_AUTHORIZATION=f"Bearer {gw.token}")
    assert r.status_code == 405 and r["Allow"] == "POST"
    assert not GatewayDelivery.objects.exists()


def _user(role: str):
    user = UserFactory(username=f"gw-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_administrators_and_integrators_regenerate_a_token_viewers_cannot(gw):
    url = f"/api/v1/collections/{gw.collection.pk}/gateway-token/"
    old = gw.token
    for role, status in ((roles.ADMINISTRATORS, 201), (roles.INTEGRATORS, 201), (roles.VIEWERS, 403)):
        client = APIClient()
        client.force_authenticate(_user(role))
        r = client.post(url)
        assert r.status_code == status, (role, r.content)
        if status == 201:
            gw.token = r.json()["token"]
            assert gw.token.startswith("hgw_") and r.json()["url"] == f"/api/v1/gateway/{gw.collection.pk}/"
    assert APIClient().post(url).status_code == 401
    assert gw.post({"summary": "new token"}).status_code == 202
    gw.token = old
    assert gw.post({"summary": "old token"}).status_code == 401  # the old one stopped at once
    client = APIClient()
    client.force_authenticate(_user(roles.ADMINISTRATORS))
    body = client.get(f"/api/v1/collections/{gw.collection.pk}/").json()
    assert body["gateway_token_set_at"] and "gateway_token" not in body and "gateway_token_digest" not in body
    plain = CollectionFactory()
    r = client.post(f"/api/v1/collections/{plain.pk}/gateway-token/")
    assert r.status_code == 400 and "not a gateway collection" in r.json()["detail"]


def test_a_gateway_collection_created_through_the_api_shows_its_token_once(db):
    conn = RepositoryConnection.objects.create(name="gw2", kind="gateway", url="", options={})
    client = APIClient()
    client.force_authenticate(_user(roles.INTEGRATORS))
    r = client.post("/api/v1/collections/", {"name": "hooks", "connection": conn.pk, "projects": ["HOOKS"],
                                             "field_mapping": {"summary": "summary"}}, format="json")
    assert r.status_code == 201, r.content
    token = r.json()["gateway_token"]
    assert r.json()["gateway_url"] == f"/api/v1/gateway/{r.json()['id']}/"
    assert tokens.matches(token, Collection.objects.get(name="hooks").gateway_token_digest)
    assert token not in client.get(f"/api/v1/collections/{r.json()['id']}/").content.decode()
    r = client.post("/api/v1/collections/", {"name": "two", "connection": conn.pk, "projects": ["A", "B"],
                                             "field_mapping": {"summary": "summary"}}, format="json")
    assert r.status_code == 400 and "one project" in r.json()["detail"]


def test_the_admin_shows_a_regenerated_token_on_its_page_only(gw):
    admin = Client()
    admin.force_login(_user(roles.INTEGRATORS))
    change = f"/admin/integrations/collection/{gw.collection.pk}/change/"
    page = admin.get(change).content.decode()
    assert "Regenerate gateway token" in page and f"/api/v1/gateway/{gw.collection.pk}/" in page
    r = admin.post(f"/admin/integrations/collection/{gw.collection.pk}/gateway-token/")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    token = r.context["token"]
    assert token in r.content.decode() and tokens.matches(token, Collection.objects.get(pk=gw.collection.pk)
                                                           .gateway_token_digest)
    assert token not in admin.get(change).content.decode()
    assert token not in "".join(f"{k}={v.value}" for k, v in admin.cookies.items())
    viewer = Client()
    viewer.force_login(_user(roles.VIEWERS))
    assert viewer.post(f"/admin/integrations/collection/{gw.collection.pk}/gateway-token/").status_code == 403


def test_the_command_prints_a_new_token_once(gw, capsys):
    call_command("gateway", "token", gw.collection.name)
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert tokens.matches(token, Collection.objects.get(pk=gw.collection.pk).gateway_token_digest)
    call_command("gateway", "list")
    assert token not in capsys.readouterr().out


def test_the_token_is_never_logged(gw, caplog):
    caplog.set_level(logging.DEBUG)
    gw.post({"summary": "ok"})
    wrong = gw.token[:-3] + "zzz"
    gw.post({}, HTTP_AUTHORIZATION=f"Bearer {wrong}")
    gw.post("{bad", key="k")
    text = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert gw.token not in text and wrong not in text


def test_processed_deliveries_are_pruned_after_the_keeping_time_the_others_stay(gw, settings):
    from integrations import tasks

    settings.HUB_GATEWAY_KEEP_DAYS = 30
    for key in ("old", "recent", "failed", "waiting"):
        gw.post({"summary": key}, key=key)
    old = timezone.now() - timedelta(days=31)
    GatewayDelivery.objects.filter(idempotency_key__in=["old", "failed"]).update(processed_at=old)
    GatewayDelivery.objects.filter(idempotency_key__in=["old", "recent"]).update(status="processed")
    GatewayDelivery.objects.filter(idempotency_key="recent").update(processed_at=timezone.now())
    GatewayDelivery.objects.filter(idempotency_key="failed").update(status="failed")
    assert tasks.prune_gateway_deliveries() == 1
    assert set(GatewayDelivery.objects.values_list("idempotency_key", flat=True)) == {"recent", "failed", "waiting"}
    assert gw.post({"summary": "again"}, key="old").status_code == 202  # its key is forgotten with it


def test_a_gateway_collection_added_in_the_admin_shows_its_first_token_on_the_next_page(db, staff):
    conn = RepositoryConnection.objects.create(name="hooks-gw", kind="gateway", url="", options={})
    admin = Client()
    admin.force_login(staff)
    r = admin.post("/admin/integrations/collection/add/", {
        "connection": conn.pk, "name": "hooks", "projects": "HOOKS", "person_strategy": "default",
        "gateway_rate_limit": 600, "field_mapping-0-model": "summary", "field_mapping-0-tool": "summary",
        "field_mapping-0-role": ""})
    assert r.status_code == 200, r.content.decode()[:3000]
    collection = Collection.objects.get(name="hooks")
    assert r.templates[0].name == "admin/integrations/gateway_token.html"
    assert tokens.matches(r.context["token"], collection.gateway_token_digest)
