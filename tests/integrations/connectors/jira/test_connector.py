"""The ``jira`` connector against the local Jira API stand-in (tests/fakes/jira_api.py)."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest

from integrations.connectors import http
from integrations.connectors.base import ConnectorError
from integrations.connectors.jira import JiraConnector
from integrations.connectors.jira.client import forget_clients
from integrations.connectors.jira.timefmt import jql_date, zone
from tests.fakes.clock import FakeClock
from tests.fakes.jira_api import JiraApi
from tests.integrations.connectors.paging import drain

TOKEN = "jira-token-0123456789abcdef"
T0 = datetime(2026, 3, 10, 15, 0, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def clock():
    fake = FakeClock(start=T0)
    forget_clients()
    with http.use_clock(fake):
        yield fake
    forget_clients()


@pytest.fixture(params=["cloud", "dc"])
def api(request, clock):
    # A user time zone that is not UTC (and is 5 h behind it): JQL dates are read in it.
    server = JiraApi(clock=clock, deployment=request.param, time_zone="America/New_York")
    server.hub = server.add_user("hubbot", "hub@example.com", TOKEN)
    server.alice = server.add_user("alice", "alice@example.com", "alice-secret")
    server.add_user("hidden", "hidden@example.com", "x-secret", email_visible=False)
    server.add_project("ABC")
    with server:
        yield server


def connector(api, **options) -> JiraConnector:
    opts = {"projects": "ABC", "deployment": "cloud" if api.cloud else "datacenter",
            "email": "hub@example.com", "custom_fields": "customfield_10016", **options}
    return JiraConnector(api.url, opts, {"token": options.pop("token", TOKEN)})



def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def test_connection(api):
    assert "Connected" in connector(api).test_connection()
    with pytest.raises(ConnectorError, match="NOPE"):
        connector(api, projects="ABC,NOPE").test_connection()
    with pytest.raises(ConnectorError, match="customfield_999"):
        connector(api, custom_fields="customfield_999").test_connection()


def test_wrong_credentials_are_an_auth_failure(api):
    with pytest.raises(ConnectorError) as info:
        JiraConnector(api.url, {"projects": "ABC", "deployment": "cloud" if api.cloud else "datacenter",
                                "email": "hub@example.com"}, {"token": "wrong-token-value"}).test_connection()
    assert info.value.auth and "wrong-token-value" not in str(info.value)


def test_a_scoped_token_on_the_site_url_is_told_to_use_the_gateway(api):
    if not api.cloud:
        pytest.skip("scoped API tokens exist on Cloud only")
    api.add_user("svc-hub", "svc-hub@serviceaccount.atlassian.com", "scoped-token-0123456789", scoped=True)
    opts = {"projects": "ABC", "deployment": "cloud", "email": "svc-hub@serviceaccount.atlassian.com"}
    site = JiraConnector(api.url, opts, {"token": "scoped-token-0123456789"})
    with pytest.raises(ConnectorError) as info:
        site.test_connection()
    message = str(info.value)
    assert info.value.auth and f"https://api.atlassian.com/ex/jira/{api.cloud_id}" in message
    assert "service account" in message and "scoped-token" not in message
    gateway = JiraConnector(f"{api.url}/ex/jira/{api.cloud_id}", opts, {"token": "scoped-token-0123456789"})
    assert "Connected" in gateway.test_connection()
    made = gateway.create("ABC", {"summary": "through the gateway"}, hub_key="hk-gw")
    assert gateway.read([made.id])[0].fields["summary"] == "through the gateway"
    with pytest.raises(ConnectorError, match="scopes"):  # a wrong token through the gateway
        JiraConnector(f"{api.url}/ex/jira/{api.cloud_id}", opts, {"token": "wrong-token-000000"}).test_connection()


def test_unreachable(clock):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = JiraConnector(f"http://127.0.0.1:{port}", {"projects": "ABC", "email": "a@b.c"}, {"token": TOKEN})
    with pytest.raises(ConnectorError) as info:
        conn.test_connection()
    assert info.value.unreachable


def test_pagination_across_minutes(api):
    for n in range(250):
        api.add_issue("ABC", f"s{n}", updated=T0 - 3600 + n * 7.3)
    ids = drain(connector(api), "ABC", None)
    assert len(ids) == 250 == len(set(ids))
    endpoint = "/rest/api/2/search/jql" if api.cloud else "/rest/api/2/search"
    searches = [r for r in api.log if r[1].startswith("/rest/api/2/search")]
    assert searches and all(r[1] == endpoint and r[2] == 200 for r in searches)


def test_cursor_inside_a_minute_uses_the_user_time_zone(api):
    early = api.add_issue("ABC", "before", updated=T0 - 40.250)
    late = api.add_issue("ABC", "after", updated=T0 - 10.125)
    page = connector(api).changes("ABC", at(-20), 0)
    # Same minute (14:59 UTC = 10:59 New York): the query reads both, the connector keeps the later.
    assert [a.id for a in page.artifacts] == [late["id"]]
    assert early["id"] not in [a.id for a in page.artifacts]
    assert jql_date(at(-20), zone("America/New_York")) == "2026-03-10 10:59"


def test_many_issues_in_one_minute_across_pages_no_skip_no_duplicate(api):
    for n in range(40):
        api.add_issue("ABC", f"early {n}", updated=T0 - 600 + n)
    for n in range(230):  # 2.3 pages within one minute, many sharing one millisecond
        api.add_issue("ABC", f"tie {n}", updated=T0 - 30 + (n // 50) * 0.001)
    for n in range(30):
        api.add_issue("ABC", f"late {n}", updated=T0 + n)
    since = at(-600)
    ids = drain(connector(api), "ABC", since, limit=100)
    assert len(ids) == 300 == len(set(ids))
    api.add_issue("ABC", "newer", updated=T0 + 29)  # same timestamp as the last one seen
    conn = connector(api)
    last = conn.read([ids[-1]])[0]
    page = conn.changes_after("ABC", since, (last.updated_at, last.id), 100)
    assert [a.fields["summary"] for a in page.artifacts] == ["newer"]


def test_daylight_saving_ambiguous_minute_reads_back_an_hour():
    ny = zone("America/New_York")
    # 2026-11-01 05:30 UTC is 01:30 EDT, the first of two 01:30s in New York that night.
    assert jql_date(datetime(2026, 11, 1, 5, 30, 12, tzinfo=UTC), ny) == "2026-11-01 00:30"
    assert jql_date(datetime(2026, 11, 1, 6, 30, 12, tzinfo=UTC), ny) == "2026-11-01 00:30"
    assert jql_date(datetime(2026, 11, 1, 7, 30, 12, tzinfo=UTC), ny) == "2026-11-01 02:30"
    assert jql_date(datetime(2026, 3, 10, 4, 15, 59, tzinfo=UTC), zone("Asia/Kolkata")) == "2026-03-10 09:45"


def test_rate_limit_storm_is_waited_out(api, clock):
    for n in range(5):
        api.add_issue("ABC", f"s{n}", updated=T0 - 100 + n)
    ids = [i["id"] for i in api.issues.values()]
    conn = connector(api)
    api.storm(3, status=429, retry_after=10)
    sent = len(api.log)
    assert len(conn.read(ids)) == 5
    assert clock.sleeps[-3:] == [10, 10, 10]  # Retry-After, not a guess
    assert len(api.log) - sent == 1 + 3 and api.violations == 0  # one batched read, three refusals


def test_a_long_retry_after_holds_every_thread_and_instance(api, clock):
    issue = api.add_issue("ABC", "s")
    api.storm(1, status=429, retry_after=300)  # longer than one call may wait: handed to the engine
    with pytest.raises(ConnectorError) as info:
        connector(api).read([issue["id"]])
    assert info.value.transient and info.value.retry_after == 300
    sent = len(api.log)
    failures = []

    def work():
        try:
            connector(api).read([issue["id"]])  # a new instance on the same connection
        except ConnectorError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(failures) == 4 and all(f.transient and f.retry_after for f in failures)
    assert len(api.log) == sent and api.violations == 0  # nothing reached Jira while it said wait
    clock.sleep(300)
    assert connector(api).read([issue["id"]])[0].fields["summary"] == "s"


def test_server_errors_are_retried_for_reads_and_transient_for_writes(api, clock):
    issue = api.add_issue("ABC", "s")
    conn = connector(api)
    conn.read([issue["id"]])
    api.storm(2, status=503, retry_after=None)
    assert conn.read([issue["id"]])[0].fields["summary"] == "s"
    api.storm(1, status=500, retry_after=None)
    with pytest.raises(ConnectorError) as info:
        conn.create("ABC", {"summary": "x"}, hub_key="hk-500")
    assert info.value.transient  # the engine retries, looking for the hub key first


def test_crash_during_creation_is_found_by_hub_key(api):
    conn = connector(api)
    created = conn.create("ABC", {"summary": "Made before the crash", "labels": ["backend"]}, hub_key="hk-1")
    assert created.hub_key == "hk-1" and created.fields["labels"] == ["backend"]
    assert "tasktop-hub-hk-1" in api.issues[created.fields["key"]]["fields"]["labels"]
    found = connector(api).find_by_hub_key("ABC", "hk-1")
    assert found is not None and found.id == created.id
    assert connector(api).find_by_hub_key("ABC", "hk-2") is None
    # Rewriting labels keeps the hub key label.
    conn.update(created.id, {"labels": ["frontend"]})
    assert connector(api).find_by_hub_key("ABC", "hk-1").fields["labels"] == ["frontend"]


def test_lost_create_is_found_while_search_lags(api, clock):
    api.index.lag = 300  # the label search will not see a new issue for five minutes
    for n in range(3):
        api.add_issue("ABC", f"older {n}", updated=T0 - 3600)
    lost = []

    def lose_the_answer(issue):  # the issue exists, then the connection breaks: a 500 to the client
        if not lost:
            lost.append(issue["key"])
            raise RuntimeError("connection reset")

    api.on_create = lose_the_answer
    api.add_issue("ABC", "by a person, after the index", updated=None)  # not lost: on_create is API-only
    with pytest.raises(ConnectorError) as info:
        connector(api).create("ABC", {"summary": "made once"}, hub_key="hk-lag")
    assert info.value.transient and lost
    found = connector(api).find_by_hub_key("ABC", "hk-lag")
    assert found is not None and found.fields["key"] == lost[0]
    assert connector(api).find_by_hub_key("ABC", "hk-none") is None
    assert sum(1 for i in api.issues.values() if i["fields"]["summary"] == "made once") == 1


def test_fields_people_and_custom_fields(api):
    conn = connector(api)
    person = api.alice["accountId"] if api.cloud else "alice"
    created = conn.create("ABC", {"summary": "S", "description": "D", "priority": "High", "assignee": person,
                                  "customfield_10016": 5}, hub_key="hk-f")
    f = created.fields
    assert (f["summary"], f["description"], f["priority"], f["assignee"], f["customfield_10016"]) == (
        "S", "D", "High", person, 5)
    assert f["reporter"] == (api.hub["accountId"] if api.cloud else "hubbot")
    by_email = conn.update(created.id, {"assignee": "hub@example.com"})
    assert by_email.fields["assignee"] == (api.hub["accountId"] if api.cloud else "hubbot")
    people = {p.id: p for p in conn.people()}
    assert people[person].email == "alice@example.com"
    if api.cloud:
        hidden = next(p for p in people.values() if p.name == "Hidden")
        assert hidden.email == "" and hidden.username == ""
    else:
        assert people["alice"].username == "alice"


def test_people_past_the_list_cap_are_found_one_by_one(api):
    for n in range(1100):  # more than Cloud lists (1,000) and Data Center 10 lists (100)
        api.add_user(f"user{n:04d}", f"user{n}@example.com", assignable=n % 7 != 0)
    zoe = api.add_user("zoe", "zoe@example.com")
    conn = connector(api)
    listed = conn.people()
    assert len(listed) < len(api.users) and not any(p.email == "zoe@example.com" for p in listed)
    assert not any(p.name == "User0007" for p in listed)  # not assignable
    found = conn.find_people("zoe@example.com")
    assert [p.email for p in found] == ["zoe@example.com"]
    ident = zoe["accountId"] if api.cloud else "zoe"
    assert [p.id for p in conn.find_people(ident)] == [ident]


def test_bad_values_are_permanent_errors_with_jira_messages(api):
    conn = connector(api)
    with pytest.raises(ConnectorError) as info:
        conn.create("ABC", {"summary": "x", "priority": "Urgent!"}, hub_key="hk-p")
    assert not info.value.transient and "priority" in str(info.value)
    with pytest.raises(ConnectorError, match="not synced"):
        conn.create("ABC", {"summary": "x", "sprint": "1"}, hub_key="hk-q")


def test_status_change_takes_the_shortest_path_of_transitions(api):
    conn = connector(api)
    # Issues sitting in the middle statuses let the connector read the workflow without moving anything.
    for status in ("In Progress", "In Review"):
        api.add_issue("ABC", f"sample {status}", status=status)
    issue = conn.create("ABC", {"summary": "move me"}, hub_key="hk-t")
    moved = conn.update(issue.id, {"status": "Done"})
    assert moved.fields["status"] == "Done"
    posts = api.requests_to(f"/rest/api/2/issue/{issue.id}/transitions", "POST")
    assert len(posts) == 3  # To Do → In Progress → In Review → Done; there is no shortcut
    back = conn.transition(issue.id, "status", "In Review")  # Done → To Do → In Progress → In Review
    assert back.fields["status"] == "In Review"
    assert len(api.requests_to(f"/rest/api/2/issue/{issue.id}/transitions", "POST")) == 6


def test_status_without_a_known_path_is_a_clear_error(api):
    conn = connector(api)
    issue = conn.create("ABC", {"summary": "alone"}, hub_key="hk-u")
    with pytest.raises(ConnectorError) as info:
        conn.transition(issue.id, "status", "Done")
    assert "No path" in str(info.value) and "To Do" in str(info.value) and not info.value.transient
    with pytest.raises(ConnectorError, match="No path"):
        conn.transition(issue.id, "status", "Nonexistent")
    assert api.status_of(issue.fields["key"]) == "To Do"  # nothing was moved while looking for a path


def test_status_given_at_creation(api):
    for status in ("In Progress", "In Review"):
        api.add_issue("ABC", f"sample {status}", status=status)
    created = connector(api).create("ABC", {"summary": "born done", "status": "Done"}, hub_key="hk-d")
    assert created.fields["status"] == "Done"


def test_deleted_issue_is_skipped_on_read(api):
    assert connector(api).read(["99999"]) == []


def test_reads_are_batched_and_survive_a_deleted_issue(api):
    ids = [api.add_issue("ABC", f"s{n}")["id"] for n in range(120)]
    conn = connector(api)
    sent = len(api.log)
    assert {a.id for a in conn.read(ids)} == set(ids)
    # 50 ids per search; Cloud cuts pages short when 11 fields are asked for (36 a page): 2 + 2 + 1
    assert len(api.log) - sent == (5 if api.cloud else 3)
    sent = len(api.log)
    got = conn.read([ids[0], "99999", ids[1]])  # Jira's JQL refuses the unknown id: one by one instead
    assert {a.id for a in got} == {ids[0], ids[1]}
    assert len(api.log) - sent == 1 + 3


def test_short_search_pages_are_followed_to_the_last(api):
    api.page_budget = 40  # a page holds 3 issues when 11 fields are asked for ("may be smaller")
    ids = [api.add_issue("ABC", f"s{n}")["id"] for n in range(50)]
    got = connector(api).read(ids)
    assert sorted(a.id for a in got) == sorted(ids)
    if api.cloud:
        assert len(api.requests_to("/rest/api/2/search/jql")) == 17  # ⌈50 / 3⌉ pages, no GET needed
    assert not api.requests_to("/rest/api/2/issue/")


def test_an_issue_the_search_does_not_return_is_asked_for_before_it_counts_as_gone(api, clock):
    old = [api.add_issue("ABC", f"old {n}")["id"] for n in range(3)]
    clock.sleep(600)
    api.index.lag = 120  # from now on search is two minutes behind (Data Center has no reconcileIssues)
    fresh = connector(api).create("ABC", {"summary": "just made"}, hub_key="hk-fresh")
    got = connector(api).read([*old, fresh.id])
    assert sorted(a.id for a in got) == sorted([*old, fresh.id])
    assert connector(api).read([old[0], "99999"])[0].id == old[0]  # really gone: still just absent


def test_time_shift_of_the_whole_minute_is_not_missed(api, clock):
    # An issue updated in the first millisecond of a minute, with the cursor at its last millisecond.
    start_minute = (T0 // 60) * 60
    edge = api.add_issue("ABC", "edge", updated=start_minute + 59.999)
    page = connector(api).changes("ABC", datetime.fromtimestamp(start_minute + 59.999, UTC), 0)
    assert [a.id for a in page.artifacts] == [edge["id"]]
    assert timedelta(0) <= page.artifacts[0].updated_at - datetime.fromtimestamp(start_minute + 59.999, UTC)


def test_engine_style_hub_key_is_the_label(api):
    key = "tasktop-hub:7:left:acme/app#12"
    created = connector(api).create("ABC", {"summary": "k", "labels": ["x"]}, hub_key=key)
    assert key in api.issues[created.fields["key"]]["fields"]["labels"]
    assert created.hub_key == key and created.fields["labels"] == ["x"]
    assert connector(api).find_by_hub_key("ABC", key).id == created.id


def test_searches_are_retried_after_a_server_error(api, clock):
    api.add_issue("ABC", "s", updated=T0 - 100)
    conn = connector(api)
    conn.tz()
    api.storm(2, status=502, retry_after=None)
    assert len(conn.changes("ABC", None, 0).artifacts) == 1  # POST /search is safe to repeat


def test_registered_with_the_token_as_a_secret():
    from integrations.connectors import registry

    cls = registry.get("jira")
    assert {p.name for p in cls.secret_parameters()} == {"token", "proxy_username", "proxy_password"}
    assert cls.clean_options({"projects": "ABC"})["deployment"] == "cloud"
    assert cls.clean_options({"projects": "ABC"})["detection_overlap"] == 120
    assert cls("https://x.atlassian.net", {"projects": "ABC", "detection_overlap": 600}, {}).detection_overlap() == 600
    with pytest.raises(ValueError, match="deployment"):
        cls.clean_options({"projects": "ABC", "deployment": "server"})


def test_select_list_custom_field_is_written_as_an_option(api):
    conn = connector(api, custom_fields="customfield_10016,customfield_10030")
    created = conn.create("ABC", {"summary": "sev", "customfield_10030": "S2"}, hub_key="hk-sev")
    assert created.fields["customfield_10030"] == "S2"
    assert conn.update(created.id, {"customfield_10030": "S1"}).fields["customfield_10030"] == "S1"
    with pytest.raises(ConnectorError, match="customfield_10030"):
        conn.update(created.id, {"customfield_10030": "S9"})
