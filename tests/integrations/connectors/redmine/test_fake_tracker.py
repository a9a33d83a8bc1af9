"""The fake tracker itself: Redmine's paging, filter and failure behaviour, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from tests.fakes.tracker import FakeTracker

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def tracker():
    with FakeTracker() as t:
        yield t


def get(tracker, path, **params):
    return requests.get(tracker.base_url + path, params=params, headers={"X-Redmine-API-Key": tracker.api_key},
                        timeout=5)


def test_paging_sort_and_the_whole_second_filter(tracker):
    tracker.add_issue("demo", "before", updated_on=T0.replace(second=0, microsecond=500_000).timestamp() - 1)
    ids = [tracker.add_issue("demo", f"i{n}", updated_on=T0.replace(microsecond=(n + 1) * 1000)) for n in range(5)]
    body = get(tracker, "/issues.json", project_id="demo", status_id="*", sort="updated_on,id",
               updated_on=">=2026-11-28T12:00:01Z", limit=3).json()
    # >=T means > T-1s: the whole second 12:00:00 comes back, but not 11:59:59.5
    assert body["total_count"] == 5 and [i["id"] for i in body["issues"]] == ids[:3]
    assert body["issues"][0]["updated_on"] == "2026-11-28T12:00:00Z"
    page2 = get(tracker, "/issues.json", project_id="demo", status_id="*", sort="updated_on,id",
                updated_on=">=2026-11-28T12:00:01Z", limit=3, offset=3).json()
    assert [i["id"] for i in page2["issues"]] == ids[3:]
    assert get(tracker, "/issues.json", limit=500).json()["limit"] == 100
    assert get(tracker, "/issues.json", updated_on=">=2026-11-28T12:00:00+02:00").status_code == 422


def test_default_sort_is_id_descending_and_open_only(tracker):
    a = tracker.add_issue("demo", "a")
    b = tracker.add_issue("demo", "b", status="Closed")
    c = tracker.add_issue("demo", "c")
    assert [i["id"] for i in get(tracker, "/issues.json").json()["issues"]] == [c, a]
    assert [i["id"] for i in get(tracker, "/issues.json", status_id="*").json()["issues"]] == [c, b, a]


def test_create_update_hub_key_filter_and_workflow():
    with FakeTracker(workflow={"New": {"In Progress"}, "In Progress": {"Closed"}}) as tracker:
        headers = {"X-Redmine-API-Key": tracker.api_key}
        r = requests.post(tracker.base_url + "/issues.json", headers=headers, timeout=5,
                          json={"issue": {"project_id": "demo", "subject": "x", "custom_fields": [{"id": 1, "value": "hk"}]}})
        assert r.status_code == 201
        issue_id = r.json()["issue"]["id"]
        found = get(tracker, "/issues.json", project_id="demo", status_id="*", cf_1="hk").json()["issues"]
        assert [i["id"] for i in found] == [issue_id]
        r = requests.put(f"{tracker.base_url}/issues/{issue_id}.json", headers=headers, timeout=5,
                         json={"issue": {"status_id": 5}})
        assert r.status_code == 204 and tracker.issue(issue_id)["status"]["name"] == "New"  # silently ignored
        allowed = get(tracker, f"/issues/{issue_id}.json", include="allowed_statuses").json()["issue"]["allowed_statuses"]
        assert [s["name"] for s in allowed] == ["New", "In Progress"]
        r = requests.post(tracker.base_url + "/issues.json", headers=headers, timeout=5,
                          json={"issue": {"project_id": "demo", "subject": ""}})
        assert r.status_code == 422 and r.json() == {"errors": ["Subject cannot be blank"]}


def test_wrong_key_is_401(tracker):
    r = requests.get(tracker.base_url + "/issues.json", headers={"X-Redmine-API-Key": "nope"}, timeout=5)
    assert r.status_code == 401


def test_failure_injection_and_counting():
    with FakeTracker(failure_rate=0.5, failure_kinds=("500", "429"), seed=7) as tracker:
        statuses = [get(tracker, "/issues.json").status_code for _ in range(40)]
        assert tracker.calls == 40 and tracker.calls_by["GET /issues.json"] == 40
        assert tracker.failures == statuses.count(500) + statuses.count(429) > 0
        assert set(statuses) <= {200, 500, 429}
        tracker.fail_next("drop")
        with pytest.raises(requests.ConnectionError):
            get(tracker, "/issues.json")


def test_holds_100k_issues(tracker):
    tracker.add_issues("demo", 100_000, updated_on=T0, step=0.001)
    body = get(tracker, "/issues.json", project_id="demo", status_id="*", sort="updated_on,id",
               updated_on=">=2026-11-28T12:01:40Z", limit=100).json()
    # Stamps run 12:00:00.000 … 12:01:39.999; >=12:01:40 is > 12:01:39.000: the last 999.
    assert body["total_count"] == 999 and len(body["issues"]) == 100


def test_control_api_is_not_counted_or_failed():
    with FakeTracker(failure_rate=1.0, failure_kinds=("500",)) as tracker:
        base = tracker.base_url
        ids = requests.post(f"{base}/_fake/issues", json={"project": "demo", "count": 3, "updated_on": T0.timestamp()},
                            timeout=5).json()["ids"]
        assert len(ids) == 3
        requests.post(f"{base}/_fake/config", json={"failure_rate": 0.0}, timeout=5).raise_for_status()
        assert get(tracker, "/issues.json").json()["total_count"] == 3
        stats = requests.get(f"{base}/_fake/stats", timeout=5).json()
        assert stats["calls"] == 1 and stats["failures"] == 0 and stats["issues"] == 3


def test_runs_as_its_own_process():
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.tracker", "--port", str(port), "--issues", "250"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"http://127.0.0.1:{port} ")
        body = requests.get(f"http://127.0.0.1:{port}/issues.json", headers={"X-Redmine-API-Key": "fake-api-key"},
                            params={"project_id": "demo"}, timeout=5).json()
        assert body["total_count"] == 250
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_lost_answers_still_take_effect(tracker):
    tracker.fail_next("lost")
    with pytest.raises(requests.ConnectionError):
        requests.post(tracker.base_url + "/issues.json", headers={"X-Redmine-API-Key": tracker.api_key}, timeout=5,
                      json={"issue": {"project_id": "demo", "subject": "created anyway"}})
    assert [tracker.issue(i)["subject"] for i in tracker.issue_ids("demo")] == ["created anyway"]
