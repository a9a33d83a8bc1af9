"""The redmine connector against the fake tracker and against a live Debian Redmine 5.0.4."""

from __future__ import annotations

import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from integrations.connectors import http, registry
from integrations.connectors.base import ConnectorError
from integrations.connectors.redmine import RedmineConnector
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import FakeTracker
from tests.integrations.connectors.paging import drain


def hub_key() -> str:
    return f"tasktop-hub:test:{uuid.uuid4().hex}"


def create_many(backend, connector, count, prefix="Issue"):
    """Concurrent creates (the live Redmine serialises them: see setup_redmine.sh, Rack::Lock)."""
    project = backend.project
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda n: connector.create(project, {"subject": f"{prefix} {n}"}, ""), range(count)))


def test_registered_with_secret_parameters():
    cls = registry.get("redmine")
    assert cls is RedmineConnector
    assert {p.name for p in cls.secret_parameters()} == {"api_key", "proxy_username", "proxy_password"}
    assert "hub_key_field" in {p.name for p in cls.option_parameters()}


def test_connection_projects_fields_people(redmine_backend):
    c = redmine_backend.connector()
    assert "Connected to Redmine" in c.test_connection() and "Warning" not in c.test_connection()
    assert redmine_backend.project in c.projects()
    fields = c.fields()
    assert {"subject", "description", "status", "tracker", "priority", "assigned_to"} <= set(fields)
    assert not any("Hub key" in name for name in fields)  # the hub's own marker is not a syncable field
    people = c.people()
    assert any(p.username == "admin" and p.email for p in people)


def test_create_find_by_hub_key_update_read(redmine_backend):
    c = redmine_backend.connector()
    key = hub_key()
    created = c.create(redmine_backend.project, {"subject": "Created by the hub", "description": "body",
                                                 "priority": "High", "tracker": "Feature"}, key)
    assert created.hub_key == key and created.project == redmine_backend.project
    assert created.fields["subject"] == "Created by the hub" and created.fields["priority"] == "High"
    assert created.fields["tracker"] == "Feature" and created.fields["status"] == "New"
    # After a crash the engine asks again: the same issue comes back, nothing else does.
    found = c.find_by_hub_key(redmine_backend.project, key)
    assert found is not None and found.id == created.id
    assert c.find_by_hub_key(redmine_backend.project, hub_key()) is None
    updated = c.update(created.id, {"subject": "Edited", "description": "new body"})
    assert updated.fields["subject"] == "Edited" and updated.version != created.version
    assert updated.hub_key == key
    [again] = c.read([created.id])
    assert again.fields["description"] == "new body" and again.project == redmine_backend.project
    assert c.read(["999999"]) == []


def test_people_are_assignable_by_login(redmine_backend):
    c = redmine_backend.connector()
    created = c.create(redmine_backend.project, {"subject": "assign me", "assigned_to": "admin"}, "")
    admin = next(p for p in c.people() if p.username == "admin")
    assert created.fields["assigned_to"] == admin.id
    assert c.update(created.id, {"assigned_to": None}).fields["assigned_to"] == ""


def test_validation_errors_are_verbatim_and_permanent(redmine_backend):
    c = redmine_backend.connector()
    with pytest.raises(ConnectorError) as info:
        c.create(redmine_backend.project, {"subject": ""}, hub_key())
    assert "Subject cannot be blank" in str(info.value)
    assert not info.value.transient and not info.value.auth


def test_unknown_values_and_fields_are_named(redmine_backend):
    c = redmine_backend.connector()
    with pytest.raises(ConnectorError, match="no status 'Bogus'"):
        c.create(redmine_backend.project, {"subject": "x", "status": "Bogus"}, "")
    with pytest.raises(ConnectorError, match="Unknown Redmine field.*colour"):
        c.create(redmine_backend.project, {"subject": "x", "colour": "red"}, "")
    # Empty values (a source without the field) leave Redmine's defaults alone.
    made = c.create(redmine_backend.project, {"subject": "x", "tracker": None, "priority": "", "due_date": None}, "")
    assert made.fields["tracker"] == "Bug" and made.fields["priority"] == "Normal"


def test_missing_issue_is_permanent(redmine_backend):
    with pytest.raises(ConnectorError) as info:
        redmine_backend.connector().update("99999999", {"subject": "x"})
    assert getattr(info.value, "status", None) == 404 and not info.value.transient and not info.value.auth


def test_bad_credentials_are_an_auth_error(redmine_backend):
    with pytest.raises(ConnectorError) as info:
        redmine_backend.connector(key="0" * 40).test_connection()
    assert info.value.auth and "API key" in str(info.value)
    assert "0" * 40 not in str(info.value)


def test_unreachable_url_is_an_unreachable_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = RedmineConnector(f"http://127.0.0.1:{port}", {}, {"api_key": "k" * 40})
    with http.use_clock(FakeClock()), pytest.raises(ConnectorError) as info:
        c.test_connection()
    assert info.value.unreachable and "k" * 40 not in str(info.value)


def test_status_changes_follow_the_workflow(redmine_backend):
    c = redmine_backend.user_connector()
    issue = c.create(redmine_backend.project, {"subject": "workflow"}, "")
    assert "Closed" in c.allowed_statuses(issue.id)
    assert c.transition(issue.id, "status", "In Progress").fields["status"] == "In Progress"
    assert c.transition(issue.id, "status", "Closed").fields["status"] == "Closed"
    # Redmine answers 204 to a status its workflow forbids and changes nothing: we must notice.
    with pytest.raises(ConnectorError, match="workflow does not let") as info:
        c.transition(issue.id, "status", "New")
    assert not info.value.transient
    with pytest.raises(ConnectorError, match="workflow does not let"):
        c.update(issue.id, {"status": "New"})
    [now] = c.read([issue.id])
    assert now.fields["status"] == "Closed"


def test_changes_pages_through_everything_in_order(redmine_backend):
    c = redmine_backend.connector()
    created = create_many(redmine_backend, c, 110)
    seen = []
    page = 0
    while True:
        result = c.changes(redmine_backend.project, None, page)
        seen += result.artifacts
        if result.done:
            break
        page += 1
    assert page == 1  # 100 + 10
    assert sorted(int(a.id) for a in seen) == sorted(int(a.id) for a in created)
    assert [a.updated_at for a in seen] == sorted(a.updated_at for a in seen)


def test_boundary_many_issues_in_one_second_across_pages(redmine_backend):
    """None skipped, none duplicated, when 100 issues share one second across a page boundary."""
    c = redmine_backend.connector()
    created = create_many(redmine_backend, c, 105)
    base = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    ids = [a.id for a in created]
    stamps = {}
    # 3 issues in the second before (returned by Redmine's ">=", must be dropped by the connector),
    # 100 in second T with microseconds not in id order, 2 in the second after. Redmine's page 0
    # holds the 3 early ones and 97 of second T; page 1 the other 3 of T and the 2 later ones.
    for n, issue_id in enumerate(ids[:3]):
        stamps[issue_id] = base - timedelta(seconds=1) + timedelta(microseconds=500_000 + n)
    for n, issue_id in enumerate(ids[3:103]):
        stamps[issue_id] = base + timedelta(microseconds=(n * 7919) % 1_000_000)
    for n, issue_id in enumerate(ids[103:]):
        stamps[issue_id] = base + timedelta(seconds=1, microseconds=n)
    redmine_backend.set_updated_on(stamps)

    page0 = c.changes(redmine_backend.project, base, 0)
    page1 = c.changes(redmine_backend.project, base, 1)
    raw = [a.id for a in page0.artifacts + page1.artifacts]
    assert not page0.done and page1.done
    assert len(raw) == len(set(raw)) == 102
    assert set(raw) == set(ids[3:])

    # The engine's keyset paging: resume after a key inside the crowded second.
    got = drain(c, redmine_backend.project, base, 50)
    assert sorted(got, key=int) == sorted(ids[3:], key=int) and len(got) == len(set(got))


def create_like_the_engine(c, project, fields, key, attempts=20):
    """Crash-safe creation as the engine does it: look for the hub key, create, retry transient errors."""
    for _ in range(attempts):
        try:
            return c.find_by_hub_key(project, key) or c.create(project, fields, key)
        except ConnectorError as exc:  # a POST is not blindly retried by the client: we look first
            assert exc.transient, exc
    raise AssertionError("never succeeded")


def test_survives_injected_failures():
    """A third of the calls fail (500, 429 + Retry-After, dropped connections): all arrive, once."""
    with FakeTracker(failure_rate=0.33, failure_kinds=("500", "429", "drop"), seed=3) as tracker, \
            http.use_clock(FakeClock()):
        c = RedmineConnector(tracker.base_url, {}, {"api_key": tracker.api_key})
        keys = [hub_key() for _ in range(20)]
        for n, key in enumerate(keys):
            create_like_the_engine(c, "demo", {"subject": f"s{n}"}, key)
        assert tracker.failures > 5
        assert sorted(a.hub_key for a in c.changes("demo", None, 0).artifacts) == sorted(keys)


def test_read_timeout_is_transient():
    with FakeTracker(hang=0.6) as tracker, http.use_clock(FakeClock()):
        client = http.HttpClient(tracker.base_url, headers={"X-Redmine-API-Key": tracker.api_key},
                                 timeouts=http.Timeouts(connect=1, read=0.2), retry=http.RetryPolicy(max_attempts=2))
        c = RedmineConnector(tracker.base_url, {}, {"api_key": tracker.api_key}, client=client)
        tracker.fail_next("timeout")
        assert c.test_connection().startswith("Connected")  # retried after the timeout
        tracker.fail_next("timeout", 2)
        with pytest.raises(ConnectorError) as info:
            c.read(["1"])
        assert info.value.transient and not info.value.unreachable


def test_missing_hub_key_field_is_explained():
    with FakeTracker() as tracker:
        c = RedmineConnector(tracker.base_url, {"hub_key_field": "Sync marker"}, {"api_key": tracker.api_key})
        assert "Warning: Redmine has no issue custom field named 'Sync marker'" in c.test_connection()
        with pytest.raises(ConnectorError, match="Used as a filter"):
            c.create("demo", {"subject": "x"}, hub_key())


def test_reads_and_idle_polls_cost_what_the_benchmark_expects():
    """Remote calls: a batched read is one call per 100 issues; an idle poll is one call."""
    with FakeTracker() as tracker:
        ids = tracker.add_issues("demo", 20_000, updated_on=datetime(2030, 1, 1, tzinfo=UTC), step=0.01)
        c = RedmineConnector(tracker.base_url, {}, {"api_key": tracker.api_key})
        c.fields(), c.projects()  # lookups are cached per connector (a constant); count the steady state
        tracker.reset_counts()
        got = c.read([str(i) for i in ids])
        assert len(got) == 20_000 and tracker.calls == 200
        tracker.reset_counts()
        page = c.changes_after("demo", datetime(2031, 1, 1, tzinfo=UTC), None, 100)
        assert page.artifacts == [] and page.done and tracker.calls == 1


def test_lost_create_answer_is_found_by_hub_key_not_duplicated():
    with FakeTracker() as tracker, http.use_clock(FakeClock()):
        c = RedmineConnector(tracker.base_url, {}, {"api_key": tracker.api_key})
        key = hub_key()
        assert c.find_by_hub_key("demo", key) is None
        tracker.fail_next("lost")  # Redmine creates the issue; the answer never arrives
        with pytest.raises(ConnectorError) as info:
            c.create("demo", {"subject": "once"}, key)
        assert info.value.transient and len(tracker.issue_ids("demo")) == 1
        created = create_like_the_engine(c, "demo", {"subject": "once"}, key)
        assert created.hub_key == key and len(tracker.issue_ids("demo")) == 1


def test_unknown_project_is_named(redmine_backend):
    c = redmine_backend.connector()
    with pytest.raises(ConnectorError, match="no project 'no-such-project'") as info:
        c.create("no-such-project", {"subject": "x"}, hub_key())
    assert not info.value.transient
    with pytest.raises(ConnectorError, match="does not exist") as info:
        c.changes("no-such-project", None, 0)
    assert not info.value.transient and not info.value.auth
    with pytest.raises(ConnectorError, match="Not a Redmine issue number"):
        c.read(["PROJ-1"])


def test_non_admin_finds_the_hub_key_field_by_name(redmine_backend):
    admin = redmine_backend.connector()
    admin.create(redmine_backend.project, {"subject": "so the user sees an issue"}, hub_key())
    user = redmine_backend.user_connector()
    key = hub_key()
    created = user.create(redmine_backend.project, {"subject": "by a developer"}, key)
    assert created.hub_key == key
    assert user.find_by_hub_key(redmine_backend.project, key).id == created.id
