"""The ``github`` connector against the local GitHub API stand-in (tests/fakes/github_api.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from integrations.connectors import http
from integrations.connectors.base import ConnectorError
from integrations.connectors.github import GitHubConnector
from integrations.connectors.github.client import forget_clients
from tests.fakes.clock import FakeClock
from tests.fakes.github_api import GitHubApi
from tests.integrations.connectors.paging import drain

TOKEN = "ghp_testtoken_0123456789abcdef"
T0 = 1_790_000_000.0  # a fixed epoch second


@pytest.fixture
def clock():
    fake = FakeClock(start=T0)
    forget_clients()
    with http.use_clock(fake):
        yield fake
    forget_clients()


@pytest.fixture
def api(clock):
    server = GitHubApi(clock=clock, prefix="/api/v3", search_lag=120)
    server.add_user("hubbot", token=TOKEN, email="hub@example.com")
    server.add_user("alice", email="alice@example.com")
    server.add_user("bob")
    server.repo = server.add_repo("acme", "app", assignable=("hubbot", "alice", "bob"))
    server.add_milestone(server.repo, "v1.0")
    with server:
        yield server


def connector(api, **options) -> GitHubConnector:
    opts = {"repositories": "acme/app", **options}
    return GitHubConnector(api.url + "/api/v3", opts, {"token": options.pop("token", TOKEN)})



def test_connection_reports_user_and_repositories(api):
    assert "as hubbot" in connector(api).test_connection()
    with pytest.raises(ConnectorError, match="acme/nope: not found"):
        connector(api, repositories="acme/nope").test_connection()


def test_wrong_token_is_an_auth_failure_without_the_token_in_the_message(api):
    conn = GitHubConnector(api.url + "/api/v3", {"repositories": "acme/app"}, {"token": "ghp_wrong_wrong_wrong"})
    with pytest.raises(ConnectorError) as info:
        conn.test_connection()
    assert info.value.auth and not info.value.transient
    assert "ghp_wrong" not in str(info.value)


def test_unreachable_server(clock):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    conn = GitHubConnector(f"http://127.0.0.1:{port}/api/v3", {"repositories": "acme/app"}, {"token": TOKEN})
    with pytest.raises(ConnectorError) as info:
        conn.test_connection()
    assert info.value.unreachable


def test_enterprise_url_without_api_path_gets_a_hint(api):
    conn = GitHubConnector(api.url, {"repositories": "acme/app"}, {"token": TOKEN})
    with pytest.raises(ConnectorError, match="/api/v3"):
        conn.test_connection()


def test_pagination_excludes_pull_requests(api):
    for n in range(250):
        api.add_issue(api.repo, f"issue {n}", updated=T0 - 1000 + n)
        if n % 25 == 0:
            api.add_issue(api.repo, f"pr {n}", pull_request=True, updated=T0 - 1000 + n)
    ids = drain(connector(api), "acme/app", None)
    assert len(ids) == 250 == len(set(ids))
    assert all(not api.repo.issues[int(i.split("#")[1])].get("pull_request") for i in ids)
    pages = api.requests_to("/api/v3/repos/acme/app/issues", "GET")
    assert all("per_page=100" in p[1] and "sort=updated" in p[1] and "direction=asc" in p[1] for p in pages)


def test_same_second_across_pages_no_skip_no_duplicate(api):
    for n in range(20):
        api.add_issue(api.repo, f"early {n}", updated=T0 - 50)
    for n in range(230):  # one second holds 2.3 pages
        api.add_issue(api.repo, f"tie {n}", updated=T0 - 10)
    for n in range(30):
        api.add_issue(api.repo, f"late {n}", updated=T0 - 5)
    since = datetime.fromtimestamp(T0 - 50, UTC)
    ids = drain(connector(api), "acme/app", since, limit=100)
    assert len(ids) == 280 == len(set(ids))
    # The next run, from the last key, repeats nothing and skips nothing new.
    api.add_issue(api.repo, "newer", updated=T0 - 5)
    conn = connector(api)
    page = conn.changes_after("acme/app", since, (datetime.fromtimestamp(T0 - 5, UTC), ids[-1]), 100)
    assert [a.fields["title"] for a in page.artifacts] == ["newer"]


def test_an_issue_updated_while_paging_is_not_lost(api):
    issues = [api.add_issue(api.repo, f"i{n}", updated=T0 - 300 + n) for n in range(150)]
    conn = connector(api)
    first = conn.changes_after("acme/app", None, None, 100)
    # Someone edits an early issue: offsets after it shift by one. Keyset paging does not care.
    api.touch(api.repo, issues[3]["number"], at=T0)
    last = first.artifacts[-1]
    rest = conn.changes_after("acme/app", None, (last.updated_at, last.id), 100)
    got = [a.id for a in first.artifacts + rest.artifacts]
    assert set(got) == {f"acme/app#{i['number']}" for i in issues}


def test_idle_polls_are_conditional_and_free(api):
    for n in range(3):
        api.add_issue(api.repo, f"i{n}", updated=T0 - 60)
    since = datetime.fromtimestamp(T0 - 60, UTC)
    connector(api).changes("acme/app", since, 0)
    before = api.bucket("hubbot").remaining
    for _ in range(5):  # a new connector instance per run, as the engine may build them
        page = connector(api).changes("acme/app", since, 0)
        assert len(page.artifacts) == 3
    assert api.conditional_hits == 5
    assert api.bucket("hubbot").remaining == before  # 304s do not count


def test_primary_rate_limit_is_waited_for_not_hammered(api, clock):
    api.rate_limit = 40
    api.buckets.clear()
    for n in range(10):
        api.add_issue(api.repo, f"i{n}", updated=T0 - 60)
    conn = connector(api)
    ids = [f"acme/app#{n}" for n in range(1, 11)]
    with pytest.raises(ConnectorError) as info:
        for _ in range(10):
            fresh = connector(api)  # new instances share the client and its quota knowledge
            fresh.http._etags.clear()  # no 304s here: every read costs quota
            fresh.read(ids)
    assert info.value.transient and info.value.retry_after and info.value.retry_after > 60
    sent = len(api.log)
    for _ in range(3):  # further attempts before the reset do not reach GitHub at all
        with pytest.raises(ConnectorError):
            conn.read(ids[:1])
    assert len(api.log) == sent
    assert api.violations == 0
    clock.sleep(info.value.retry_after)  # the engine waits; the quota resets
    assert len(conn.read(ids)) == 10


def test_secondary_rate_limit_with_retry_after_is_honoured(api, clock):
    api.add_issue(api.repo, "one", updated=T0 - 60)
    api.secondary_storm(3, retry_after=7, status=429)
    page = connector(api).changes("acme/app", None, 0)
    assert len(page.artifacts) == 1
    assert clock.sleeps[:3] == [7, 7, 7]
    assert api.violations == 0


def test_secondary_rate_limit_without_retry_after_waits_a_minute(api, clock):
    api.secondary_storm(1, retry_after=None, status=403)
    with pytest.raises(ConnectorError) as info:
        connector(api).changes("acme/app", None, 0)
    assert info.value.transient and not info.value.auth and info.value.retry_after == 60
    assert connector(api).changes("acme/app", None, 0).done  # the client itself waited the minute
    assert api.violations == 0


def test_secondary_429_without_retry_after_waits_a_minute_not_the_hourly_reset(api, clock):
    # GitHub sends X-RateLimit-Reset (the end of the hourly window) on every answer, this 429 too;
    # with quota left and no Retry-After it is a secondary limit: "wait for at least one minute".
    api.add_issue(api.repo, "one", updated=T0 - 60)
    api.secondary_storm(1, retry_after=None, status=429)
    page = connector(api).changes("acme/app", None, 0)
    assert len(page.artifacts) == 1
    assert clock.sleeps == [60]
    assert api.violations == 0


def test_repeated_secondary_limits_wait_exponentially_longer(api, clock):
    api.secondary_storm(3, retry_after=None, status=429)
    conn = connector(api)
    with pytest.raises(ConnectorError) as info:
        conn.changes("acme/app", None, 0)  # 429 → a minute in the call; 429 again → 2 min, for the engine
    assert clock.sleeps == [60] and info.value.transient and info.value.retry_after == 120
    clock.sleep(120)
    with pytest.raises(ConnectorError) as info:
        conn.changes("acme/app", None, 0)
    assert info.value.retry_after == 240
    clock.sleep(240)
    assert conn.changes("acme/app", None, 0).done
    api.secondary_storm(1, retry_after=None, status=403)  # after a success it starts at a minute again
    with pytest.raises(ConnectorError) as info:
        conn.changes("acme/app", None, 0)
    assert info.value.retry_after == 60 and not info.value.auth
    assert api.violations == 0


def test_fields_round_trip_and_hidden_hub_key(api):
    conn = connector(api)
    created = conn.create("acme/app", {"title": "Crash on save", "body": "Steps...", "labels": ["bug", "p1"],
                                       "assignees": ["alice"], "milestone": "v1.0", "state": "closed",
                                       "state_reason": "not_planned"}, hub_key="hk-123")
    assert created.hub_key == "hk-123"
    assert created.fields["body"] == "Steps..."
    assert created.fields["state"] == "closed" and created.fields["state_reason"] == "not_planned"
    raw = api.repo.issues[int(created.id.split("#")[1])]
    assert "<!-- tasktop-hub-key: hk-123 -->" in raw["body"]
    updated = conn.update(created.id, {"body": "New steps", "assignees": ["bob"], "milestone": None, "state": "open"})
    assert updated.fields["body"] == "New steps" and updated.hub_key == "hk-123"
    assert updated.fields["assignees"] == ["bob"] and updated.fields["milestone"] is None
    assert updated.fields["state_reason"] == "reopened"
    assert conn.read([created.id])[0].fields["labels"] == ["bug", "p1"]


def test_validation_errors_are_permanent_and_readable(api):
    conn = connector(api)
    with pytest.raises(ConnectorError) as info:
        conn.create("acme/app", {"title": "x", "assignees": ["mallory"]}, hub_key="hk-1")
    assert not info.value.transient and "assignees" in str(info.value) and "mallory" in str(info.value)
    with pytest.raises(ConnectorError, match="no milestone titled"):
        conn.create("acme/app", {"title": "x", "milestone": "v9"}, hub_key="hk-2")
    with pytest.raises(ConnectorError, match="no field"):
        conn.update("acme/app#1", {"sprint": "x"})


def test_crash_after_remote_create_finds_the_issue_instead_of_duplicating(api, clock):
    conn = connector(api)
    conn.create("acme/app", {"title": "Made before the crash"}, hub_key="hk-crash")
    # The hub dies before recording the twin. A new process looks before creating again;
    # search has not indexed the issue yet (search_lag), the creator listing has.
    found = connector(api).find_by_hub_key("acme/app", "hk-crash")
    assert found is not None and found.fields["title"] == "Made before the crash"
    assert connector(api).find_by_hub_key("acme/app", "hk-other") is None
    assert len(api.repo.issues) == 1


def test_older_hub_key_is_found_in_the_consistent_listing_without_search(api, clock):
    conn = connector(api)
    old = conn.create("acme/app", {"title": "old one"}, hub_key="hk-old")
    for n in range(310):  # pushes it past the first page of the newest-first listing
        api.add_issue(api.repo, f"filler {n}", author="hubbot")
    clock.sleep(300)  # the search index has caught up, but it does not index the HTML comment
    found = connector(api).find_by_hub_key("acme/app", "hk-old")
    assert found is not None and found.id == old.id
    assert not api.requests_to("/api/v3/search/issues")


def test_hub_key_past_the_listing_window_is_not_found(api, clock):
    from integrations.connectors.github.connector import RECENT_PAGES

    conn = connector(api)
    conn.create("acme/app", {"title": "ancient"}, hub_key="hk-ancient")
    for n in range(RECENT_PAGES * 100):  # the documented limit: only the newest 500 are looked at
        api.add_issue(api.repo, f"filler {n}", author="hubbot")
    assert connector(api).find_by_hub_key("acme/app", "hk-ancient") is None
    assert len(api.requests_to("/api/v3/repos/acme/app/issues?", "GET")) == RECENT_PAGES


def test_people_carry_login_id_and_public_email(api):
    people = {p.username: p for p in connector(api).people()}
    assert set(people) == {"hubbot", "alice", "bob"}
    assert people["alice"].email == "alice@example.com" and people["bob"].email == ""
    assert people["alice"].id == str(api.users["alice"]["id"])


def test_transition_closes_with_a_reason(api):
    issue = api.add_issue(api.repo, "t")
    result = connector(api).transition(f"acme/app#{issue['number']}", "state", "closed:not_planned")
    assert result.fields["state"] == "closed" and result.fields["state_reason"] == "not_planned"


def test_closing_as_duplicate(api):
    issue = api.add_issue(api.repo, "seen before")
    result = connector(api).transition(f"acme/app#{issue['number']}", "state", "closed:duplicate")
    assert result.fields["state"] == "closed" and result.fields["state_reason"] == "duplicate"
    made = connector(api).create("acme/app", {"title": "dup", "state": "closed", "state_reason": "duplicate"},
                                 hub_key="hk-dup")
    assert made.fields["state_reason"] == "duplicate"


def test_assignee_accepts_a_login_or_a_numeric_user_id(api):
    conn = connector(api)
    created = conn.create("acme/app", {"title": "p", "assignee": str(api.users["alice"]["id"])},
                          hub_key="tasktop-hub:7:right:10042")
    assert created.fields["assignee"] == "alice" and created.fields["assignees"] == ["alice"]
    assert conn.update(created.id, {"assignee": "bob"}).fields["assignees"] == ["bob"]
    assert conn.update(created.id, {"assignee": None}).fields["assignee"] is None
    # An engine-style hub key (colons, and ids with / and #) survives the round trip.
    key = "tasktop-hub:7:left:acme/other#12"
    made = conn.create("acme/app", {"title": "k"}, hub_key=key)
    assert made.hub_key == key and connector(api).find_by_hub_key("acme/app", key).id == made.id


def test_registered_with_the_token_as_a_secret():
    from integrations.connectors import registry
    from integrations.connectors.github.connector import api_url

    cls = registry.get("github")
    assert {p.name for p in cls.secret_parameters()} == {"token", "proxy_username", "proxy_password"}
    assert cls.clean_options({"repositories": "acme/app"})["write_interval"] == 1
    assert api_url("https://github.com/") == "https://api.github.com"
    assert api_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/v3"


def test_etag_cache_is_bounded_in_bytes(api, monkeypatch):
    from integrations.connectors.github import client as gh_client

    monkeypatch.setattr(gh_client, "ETAG_CACHE_BYTES", 20_000)
    for n in range(30):
        api.add_issue(api.repo, f"issue {n}", body="x" * 500)
    conn = connector(api)
    conn.read([f"acme/app#{n}" for n in range(1, 31)])
    cache = conn.http
    assert 0 < cache._etag_bytes <= 20_000
    assert cache._etag_bytes == sum(entry[3] for entry in cache._etags.values())
    assert len(cache._etags) < 30  # the oldest went


def test_the_stand_in_answers_a_transferred_issues_old_address_as_github_does(api):
    import requests

    other = api.add_repo("acme", "other", assignable=("hubbot",))
    api.add_issue(api.repo, "Moves away")
    api.transfer(api.repo, 1, other)
    old = requests.get(f"{api.url}/api/v3/repos/acme/app/issues/1", allow_redirects=False, timeout=5,
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert old.status_code == 301 and old.json()["message"] == "Moved Permanently"
    assert old.headers["Location"] == old.json()["url"] == f"{api.url}/api/v3/repositories/{other.id}/issues/1"
    new = requests.get(old.headers["Location"], timeout=5, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert (new["title"], new["number"], new["repository_url"]) == (
        "Moves away", 1, "https://api.github.com/repos/acme/other")


def test_a_transferred_issue_is_gone_from_its_repository_not_read_under_another_id(api, caplog):
    """acme/app#1 moves to acme/other, where it becomes #2: following the redirect must not yield
    'acme/app#2' (another issue of acme/app) with the transferred issue's fields."""
    other = api.add_repo("acme", "other", assignable=("hubbot",))
    api.add_issue(other, "Already there")
    api.add_issue(api.repo, "Moves away")
    api.add_issue(api.repo, "Stays here")
    moved = api.transfer(api.repo, 1, other)
    assert moved["number"] == 2
    conn = connector(api, repositories="acme/app, acme/other")
    with caplog.at_level("INFO"):
        assert conn.read(["acme/app#1"]) == []
    assert "acme/app#1 was transferred to acme/other#2" in caplog.text
    both = conn.read(["acme/app#1", "acme/app#2"])
    assert [(a.id, a.fields["title"]) for a in both] == [("acme/app#2", "Stays here")]
    # Its new address is an issue of acme/other like any other.
    assert [a.fields["title"] for a in conn.read(["acme/other#2"])] == ["Moves away"]
    # Detection no longer lists it in acme/app.
    assert drain(conn, "acme/app", None) == ["acme/app#2"]


def test_a_write_never_follows_a_transfer(api):
    other = api.add_repo("acme", "other", assignable=("hubbot",))
    api.add_issue(api.repo, "Moves away")
    api.transfer(api.repo, 1, other)
    conn = connector(api, write_interval=0)
    with pytest.raises(ConnectorError, match="transferred to another repository; the hub does not write") as info:
        conn.update("acme/app#1", {"title": "Renamed by the hub"})
    assert "301" in str(info.value) and not info.value.transient
    assert other.issues[1]["title"] == "Moves away"  # the issue where it now lives was not changed
    with pytest.raises(ConnectorError, match="gone from acme/app"):
        conn.update("acme/app#1", {})


def test_an_issue_transferred_where_the_token_cannot_read_is_gone(api):
    private = api.add_repo("elsewhere", "private")
    api.add_issue(api.repo, "Moves out of sight")
    api.transfer(api.repo, 1, private, readable=False)
    assert connector(api).read(["acme/app#1"]) == []
