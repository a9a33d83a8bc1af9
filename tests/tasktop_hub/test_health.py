import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


def test_health_is_503_without_a_worker(staff_client):
    cache.clear()
    response = staff_client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is False
    assert "qcluster" in body["checks"]["worker"]["message"]


def test_health_is_200_when_a_cluster_reported_recently(staff_client, monkeypatch):
    from django_q.status import Stat

    class FakeStat:  # the shape django-q2 stores in the cache
        from django.utils import timezone

        timestamp = timezone.now()
        workers = [101, 102]

    monkeypatch.setattr(Stat, "get_all", staticmethod(lambda broker=None: [FakeStat()]))
    response = staff_client.get("/api/health")
    assert response.status_code == 200
    assert "2 worker process(es)" in response.json()["checks"]["worker"]["message"]


def test_health_needs_no_login(client):
    assert client.get("/api/health").status_code in (200, 503)


def test_anonymous_callers_get_the_overall_status_only(client, staff_client):
    """A load balancer needs the code; the reasons (license holder, worker counts) are for staff."""
    cache.clear()
    anonymous = client.get("/api/health")
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "fail"}
    assert "checks" in staff_client.get("/api/health").json()


def test_a_signed_in_non_staff_user_gets_the_overall_status_only(user_client):
    assert set(user_client.get("/api/health").json()) == {"status"}


def test_a_failing_probe_is_one_warning_not_an_error(client, caplog):
    # A load balancer polls every few seconds: a hub without a worker must not fill the log with ERRORs.
    cache.clear()
    with caplog.at_level("INFO"):
        assert client.get("/api/health").status_code == 503
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    (warning,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "Health check failed" in warning.getMessage() and "worker" in warning.getMessage()


def test_favicon_is_served_by_the_hub(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("hub/favicon.svg")
