"""The worker's side of gateway collections, through the real endpoint, the real engine run and a
real ``database`` tool table: each delivery's artifact is created once (a repeated key, a run
killed anywhere in the create path); with a match field a later POST updates it; the payload
extension reshapes, and one that fails leaves an Activity error naming its version and line
until a fixed version is saved; configuration problems are named."""

from __future__ import annotations

import pytest

from extensions import services as ext_services
from integrations.engine import gateway as engine_gateway
from integrations.engine import processing
from integrations.engine.models import CreateIntent
from integrations.engine.validation import config_problems
from integrations.models import ArtifactPair, GatewayArtifact, GatewayDelivery, Integration
from notifications.models import ActivityError
from tests.integrations.engine.test_adoption import Crashing
from tests.integrations.gateway.rig import make_gateway_rig

# Transactional: the engine reads gateway artifacts from its processing threads (their own connections).
pytestmark = pytest.mark.django_db(transaction=True)

FLATTEN = """function reshape(payload) {
  const alert = payload.alert;
  return {summary: alert.title, priority: alert.severity === "critical" ? "1" : "3", ref: payload.id};
}"""


@pytest.fixture
def right_url(tmp_path):
    path = tmp_path / "right.db"
    path.touch()
    return f"sqlite:///{path}"


def test_each_delivery_becomes_one_artifact_on_the_target_and_a_repeated_key_none_more(right_url):
    gw = make_gateway_rig(right_url)
    assert gw.post({"summary": "Disk full", "priority": "1"}, key="a").status_code == 202
    assert gw.post({"summary": "Disk full", "priority": "1"}, key="a").status_code == 200
    assert gw.post({"summary": "CPU hot", "status": "New"}, key="b").status_code == 202
    gw.run_until_quiet()
    rows = gw.rows()
    assert sorted(r.fields["summary"] for r in rows.values()) == ["CPU hot", "Disk full"]
    assert {r.hub_key.split(":left:")[1] for r in rows.values()} == {
        f"delivery:{d.pk}" for d in GatewayDelivery.objects.all()}
    assert set(GatewayDelivery.objects.values_list("status", flat=True)) == {"processed"}
    assert ArtifactPair.objects.count() == 2 and not CreateIntent.objects.exists()
    gw.run_until_quiet()  # nothing new: nothing more
    assert len(gw.rows()) == 2


def test_with_a_match_field_a_later_post_updates_the_same_artifact(right_url):
    gw = make_gateway_rig(right_url, match_field="ref", extra_fields=("ref",))
    gw.post({"ref": "A-1", "summary": "one", "priority": "3"})
    gw.post({"ref": "A-2", "summary": "other"})
    gw.run_until_quiet()
    assert len(gw.rows()) == 2
    gw.post({"ref": "A-1", "summary": "two"})  # priority not sent: it keeps its value
    gw.run_until_quiet()
    rows = {r.fields["summary"]: r for r in gw.rows().values()}
    assert set(rows) == {"two", "other"} and rows["two"].fields["priority"] == "3"
    assert GatewayArtifact.objects.get(artifact_id="key:A-1").version == 2
    gw.post({"summary": "no ref"})
    gw.run_until_quiet()
    failed = GatewayDelivery.objects.get(status="failed")
    assert "the match field 'ref' has no value" in failed.error
    assert "match field 'ref'" in ActivityError.objects.get().message and len(gw.rows()) == 2


def test_the_payload_extension_reshapes_and_a_failing_one_waits_for_a_fixed_version(right_url):
    ext = ext_services.create(None, name="flatten", type="payload", source=FLATTEN)
    gw = make_gateway_rig(right_url, extension=ext)
    gw.post({"id": 7, "alert": {"title": "Disk full", "severity": "critical"}})
    gw.post({"id": 8, "note": "no alert in it"})  # the script throws at line 3
    gw.run_until_quiet()
    (row,) = gw.rows().values()
    assert row.fields["summary"] == "Disk full" and row.fields["priority"] == "1"
    error = ActivityError.objects.get()
    assert "Extension 'flatten' version 1 failed at line 3" in error.message and "delivery:" in error.artifact
    assert GatewayDelivery.objects.get(status="failed").error == error.message.strip() or "flatten" in error.message
    ext_services.update(None, ext, source=FLATTEN.replace("const alert = payload.alert;",
                                                          "const alert = payload.alert || {title: payload.note};"))
    assert GatewayDelivery.objects.filter(status="received").count() == 1  # the saved version retries it
    assert ActivityError.objects.get().status == ActivityError.Status.RETRYING
    gw.run_until_quiet()
    assert sorted(r.fields["summary"] for r in gw.rows().values()) == ["Disk full", "no alert in it"]
    assert ActivityError.objects.get().status == ActivityError.Status.RESOLVED


@pytest.mark.parametrize("point", ["after_remote_create", "before_commit"])
def test_a_run_killed_in_the_create_path_creates_no_duplicate(right_url, monkeypatch, point):
    gw = make_gateway_rig(right_url)
    gw.post({"summary": "once"}, key="k1")
    if point == "before_commit":
        def die(*args, **kwargs):
            raise SystemExit("killed after the create, before the pair committed")

        monkeypatch.setattr(processing, "commit", die)
    else:
        gw.wrap = lambda c: Crashing(c, point)
    with pytest.raises(SystemExit):
        gw.run()
    monkeypatch.undo()
    gw.wrap = None
    assert len(gw.rows()) == 1 and not ArtifactPair.objects.exists()  # created, not recorded
    assert CreateIntent.objects.count() == 1
    gw.run_until_quiet()
    assert len(gw.rows()) == 1 and ArtifactPair.objects.count() == 1  # adopted by its hub key


def test_a_run_killed_while_taking_deliveries_loses_none(right_url, monkeypatch):
    gw = make_gateway_rig(right_url)
    for i in range(3):
        gw.post({"summary": f"s{i}"})

    def die(*args, **kwargs):
        raise SystemExit("killed inside the transaction that takes the deliveries")

    monkeypatch.setattr(engine_gateway.detection, "record", die)
    with pytest.raises(SystemExit):
        gw.run()
    monkeypatch.undo()
    assert GatewayDelivery.objects.filter(status="received").count() == 3 and not GatewayArtifact.objects.exists()
    gw.run_until_quiet()
    assert sorted(r.fields["summary"] for r in gw.rows().values()) == ["s0", "s1", "s2"]


@pytest.mark.django_db  # no engine run: no processing threads
def test_gateway_configuration_problems_are_named(right_url):
    gw = make_gateway_rig(right_url)
    integration = gw.integration
    assert config_problems(integration, live=True) == []
    integration.template = Integration.Template.SYNCHRONIZE
    assert any("'alerts' is a gateway collection" in p for p in config_problems(integration, live=False))
    integration.template = Integration.Template.GATEWAY_CREATE
    integration.left_collection, integration.right_collection = integration.right_collection, integration.left_collection
    problems = config_problems(integration, live=False)
    assert any("'right-items' is on connection 'right-db' of kind 'database'" in p for p in problems)
    assert any("'alerts' is a gateway collection, where the hub cannot create" in p for p in problems)


@pytest.mark.django_db
def test_a_payload_extension_in_use_cannot_be_deleted(right_url):
    from django.core.exceptions import ValidationError

    ext = ext_services.create(None, name="flatten", type="payload", source=FLATTEN)
    make_gateway_rig(right_url, extension=ext)
    with pytest.raises(ValidationError, match="collection 'alerts' payload transformation"):
        ext_services.delete(None, ext)


def test_an_activity_retry_takes_a_failed_delivery_again(right_url):
    from notifications import services as activity

    gw = make_gateway_rig(right_url, match_field="ref", extra_fields=("ref",))
    gw.post({"summary": "no ref"})
    gw.run_until_quiet()
    error = ActivityError.objects.get()
    assert error.artifact == f"gw:delivery:{GatewayDelivery.objects.get().pk}"
    gw.collection.gateway_match_field = ""  # the fix: every POST is its own artifact
    gw.collection.save()
    activity.retry_error(error.pk)
    assert GatewayDelivery.objects.get().status == "received"
    gw.run_until_quiet()
    assert [r.fields["summary"] for r in gw.rows().values()] == ["no ref"]
    assert ActivityError.objects.get().status == ActivityError.Status.RESOLVED


def test_the_harness_runs_a_payload_extension_on_a_recorded_delivery(right_url, staff):
    from rest_framework.test import APIClient

    ext = ext_services.create(None, name="flatten", type="payload", source=FLATTEN)
    gw = make_gateway_rig(right_url)
    payload = {"id": 7, "alert": {"title": "Disk full", "severity": "critical"}}
    delivery = gw.post(payload).json()["delivery"]
    client = APIClient()
    client.force_authenticate(staff)
    r = client.post(f"/api/v1/extensions/{ext.pk}/run/", {"connection": gw.collection.connection_id,
                                                          "artifact": f"delivery:{delivery}"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["input"] == [payload]
    assert r.json()["ok"] and r.json()["result"] == {"summary": "Disk full", "priority": "1", "ref": 7}
    r = client.post(f"/api/v1/extensions/{ext.pk}/run/", {"connection": gw.collection.connection_id,
                                                          "artifact": "delivery:999"}, format="json")
    assert r.status_code == 400 and "no delivery 'delivery:999'" in r.json()["detail"]


def test_a_sandbox_process_that_dies_leaves_the_delivery_for_the_next_pass(right_url, monkeypatch):
    from extensions import runtime
    from extensions.sandbox.pool import Result

    ext = ext_services.create(None, name="flatten", type="payload", source=FLATTEN)
    gw = make_gateway_rig(right_url, extension=ext)
    gw.post({"id": 1, "alert": {"title": "Disk full", "severity": "critical"}})
    real = runtime.call

    def dies(extension, *args):
        raise runtime.ExtensionFailure(extension, Result(ok=False, kind="crash", message="The sandbox process died"))

    monkeypatch.setattr(runtime, "call", dies)
    gw.run()
    assert GatewayDelivery.objects.get().status == "received"  # not the script's fault: not failed
    assert not ActivityError.objects.exists() and gw.rows() == {}
    monkeypatch.setattr(runtime, "call", real)
    gw.run_until_quiet()
    assert [r.fields["summary"] for r in gw.rows().values()] == ["Disk full"]
