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


def test_liveness_passes_without_a_worker(client, staff_client):
    """The web process answers and its database too: 200, though the full health is 503."""
    cache.clear()
    assert client.get("/api/health").status_code == 503
    live = client.get("/api/health/live")
    assert live.status_code == 200 and live.json() == {"status": "pass"}
    checks = staff_client.get("/api/health/live").json()["checks"]
    assert list(checks) == ["database"] and checks["database"]["ok"] is True


def test_liveness_fails_when_the_database_does_not_answer(client, monkeypatch, caplog):
    from django.db import OperationalError

    from tasktop_hub.api import health

    class Unreachable:  # the probe's own connection refuses, as a stopped database server would
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(health, "connection", Unreachable())
    with caplog.at_level("INFO"):
        response = client.get("/api/health/live")
    assert response.status_code == 503 and response.json() == {"status": "fail"}
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    assert any("Liveness check failed" in r.getMessage() for r in caplog.records)


def test_the_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # what HUB_BEHIND_HTTPS_PROXY turns on
    assert client.get("/admin/login/").status_code == 301
    assert client.get("/api/health/live").status_code == 200
    assert client.get("/api/health").status_code in (200, 503)


@pytest.mark.fresh_install
def test_liveness_passes_before_the_first_start(client):
    """While setup holds (no master password, no license) the API answers 503 setup_required and
    /api/health fails; the web process is fine, so the liveness probe passes."""
    assert client.get("/api/v1/connections/").status_code == 503
    assert client.get("/api/health").status_code == 503
    assert client.get("/api/health/live").status_code == 200
