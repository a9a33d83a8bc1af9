"""The instance lease between installations sharing one database (in one process: each
"installation" is its id plus its own HUB_HOME/db record; tests/system has the real thing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import lease, services
from storage.models import InstanceLease
from tasktop_hub import conditions

pytestmark = pytest.mark.django_db


@pytest.fixture
def installation(settings, tmp_path):
    def become(name: str) -> None:
        settings.HUB_INSTALLATION_ID = name
        settings.HUB_DB_DIR = tmp_path / name
        settings.HUB_DB_DIR.mkdir(exist_ok=True)
        lease.forget()
    return become


def test_first_installation_takes_the_lease(installation):
    installation("A")
    assert lease.reason() is None
    assert InstanceLease.objects.get().holder == "A"


def test_a_new_installation_takes_over_and_the_previous_stops_even_after_a_restart(installation):
    installation("A")
    assert lease.reason() is None
    installation("B")  # a new installation starts on the same database
    assert lease.reason() is None
    assert InstanceLease.objects.get().how == "takeover"
    installation("A")  # the previous one (also after a restart: its HUB_HOME remembers)
    message = lease.reason()
    assert message and "took this database's instance lease" in message
    assert conditions.processing_blocked_reason() == message
    assert InstanceLease.objects.get().holder == "B"
    lease.forget()
    assert lease.reason() == message  # re-evaluated: still lost, no ping-pong


def test_override_takes_the_database_back_and_the_other_stops(installation):
    installation("A")
    lease.reason()
    installation("B")
    lease.reason()
    installation("A")
    assert lease.reason()
    with pytest.raises(Exception, match="I understand"):
        services.override("yes", None)
    state = services.override("I understand, B is stopped", None)
    assert state["held_by_this_installation"] and state["lost_reason"] is None
    installation("B")
    assert "took this database" in lease.reason()


def test_api_explains_and_offers_override(installation, staff_client):
    installation("A")
    lease.reason()
    installation("B")
    lease.reason()
    installation("A")
    body = staff_client.get("/api/v1/storage/").json()
    assert "took this database's instance lease" in body["instance_lease"]["lost_reason"]
    refused = staff_client.post("/api/v1/storage/override/", {"confirm": "ok"}, format="json")
    assert refused.status_code == 400
    done = staff_client.post("/api/v1/storage/override/", {"confirm": "I understand"}, format="json")
    assert done.status_code == 200 and done.json()["held_by_this_installation"]


def test_storage_api_is_for_administrators_only(user_client):
    assert user_client.get("/api/v1/storage/").status_code == 403
    assert user_client.post("/api/v1/storage/override/", {"confirm": "I understand"}, format="json").status_code == 403


def test_the_settings_screen_and_health_explain_the_lost_lease_and_offer_the_override(installation, client, staff):
    installation("A")
    lease.reason()
    installation("B")
    lease.reason()
    installation("A")
    client.force_login(staff)
    page = client.get("/admin/settings/").content.decode()
    assert "took this database&#x27;s instance lease" in page or "took this database's instance lease" in page
    assert "/admin/storage/override/" in page and "Override database access" in page
    assert client.get("/admin/storage/override/").status_code == 200
    health = client.get("/api/health")
    assert health.status_code == 503
    check = health.json()["checks"]["instance-lease"]
    assert check["ok"] is False and "took this database's instance lease" in check["message"]


def _clusters() -> dict[str, str | None]:
    from django_q.models import Schedule

    return dict(Schedule.objects.values_list("name", "cluster"))


def test_the_hub_schedules_follow_the_lease_holder(installation):
    """django-q2 fires a schedule in the cluster it names: only the holder's cluster may."""
    from django_q.models import Schedule

    from tasktop_hub.queue import cluster_name

    Schedule.objects.update(cluster=None)  # as an older hub left them
    Schedule.objects.create(name="pinned", func="thirdparty.tick", schedule_type=Schedule.MINUTES, minutes=5,
                            cluster="reports")  # an operator's own cluster: not the hub's to move
    installation("A")
    lease.reason()  # first start
    hub = {name for name in _clusters() if name != "pinned"}
    assert hub and {_clusters()[n] for n in hub} == {cluster_name("A")}
    installation("B")
    lease.reason()  # takeover
    assert {_clusters()[n] for n in hub} == {cluster_name("B")}
    installation("A")
    services.override("I understand, B is stopped", None)
    assert {_clusters()[n] for n in hub} == {cluster_name("A")}
    assert _clusters()["pinned"] == "reports"
    # A schedule created meanwhile for another cluster (a migrate run by B) comes back at renewal.
    Schedule.objects.filter(name__in=hub).update(cluster=cluster_name("B"))
    InstanceLease.objects.update(renewed_at=InstanceLease.objects.get().renewed_at - timedelta(minutes=5))
    lease.forget()
    assert lease.reason() is None
    assert {_clusters()[n] for n in hub} == {cluster_name("A")}


def test_without_the_lease_the_engine_dispatcher_hands_over(installation):
    """The dispatcher re-enqueues itself: an installation that lost the lease must neither keep
    nor take its named lease, or the holder's dispatcher would never get it."""
    from integrations.engine import dispatch, leases
    from integrations.engine.models import EngineLease

    installation("A")
    lease.reason()
    installation("B")
    lease.reason()
    installation("A")
    assert conditions.handed_over_reason() and "took this database" in conditions.handed_over_reason()
    assert dispatch.dispatcher_loop(lambda i: None, lambda i: None, seconds=5) is False
    assert not EngineLease.objects.filter(name=dispatch.DISPATCHER).exclude(owner="").exists()
    installation("B")
    assert conditions.handed_over_reason() is None
    assert leases.acquire_named(dispatch.DISPATCHER, "b", 10)
