"""Person reconciliation (Copy with Default Matching) and state transitions."""

from __future__ import annotations

import pytest

from integrations.engine.mapping import MappingError, Side, transition_path
from integrations.models import ArtifactPair
from notifications.models import ActivityError
from tests.integrations.engine.helpers import make_people_rig


@pytest.fixture
def people_rig(db, sqlite_urls, settings):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    # Right: bob by username, ann's username is right's id, cat only by email, left id 4 = "7"
    r = make_people_rig(
        *sqlite_urls,
        [("1", "ann", "ann@example.com"), ("2", "bob", "bob@example.com"), ("3", "cat", "Cat@Example.com"),
         ("4", "7", "dan@example.com")],
        [("ann", "annie", "other@example.com"), ("20", "bob", "x@example.com"),
         ("30", "catherine", "cat@example.com"), ("7", "dan2", "d2@example.com")])
    yield r
    r.left.close()
    r.right.close()


@pytest.mark.parametrize("value, expected", [
    ("1", "ann"),      # username ↔ id
    ("2", "20"),       # username ↔ username
    ("3", "30"),       # email ↔ email, case-insensitive
    ("4", "7"),        # left username "7" ↔ right id "7"
])
def test_copy_with_default_matching(people_rig, value, expected):
    a = people_rig.left.create("ALPHA", {"summary": "p", "assignee": value}, hub_key="")
    people_rig.run()
    pair = ArtifactPair.objects.get(left_id=a.id)
    assert people_rig.rows("right")[pair.right_id].fields["assignee"] == expected


def test_unmatched_person_is_a_clear_error_or_the_default(people_rig, django_capture_on_commit_callbacks):
    people_rig.left._execute("INSERT INTO people (id, username, email) VALUES ('9', 'zed', 'zed@x.org')", fetch=False)
    people_rig.left.create("ALPHA", {"summary": "p", "assignee": "9"}, hub_key="")
    assert people_rig.run()["errors"] == 1
    error = ActivityError.objects.get()
    assert "No user in 'right-items' matches '9'" in error.message and "default person" in error.message
    right = people_rig.integration.right_collection
    right.default_person = "20"
    right.save()
    from notifications.services import retry_error

    with django_capture_on_commit_callbacks(execute=True):
        retry_error(error.pk)
    people_rig.run()
    pair = ArtifactPair.objects.get()
    assert people_rig.rows("right")[pair.right_id].fields["assignee"] == "20"
    error.refresh_from_db()
    assert error.status == "resolved"


GRAPH = {"New": ["In Progress"], "In Progress": ["Review", "New"], "Review": ["Done", "In Progress"], "Done": ["New"]}


def test_shortest_transition_path(db):
    from integrations.models import Collection

    side = Side("right", Collection(name="c", transitions=GRAPH, field_roles={"status": "state"},
                                    field_mapping={"status": "status"}))
    assert transition_path(side, "New", "Done") == ["In Progress", "Review", "Done"]
    assert transition_path(side, "Done", "Review") == ["New", "In Progress", "Review"]
    side.graph = {"New": ["Done"]}
    with pytest.raises(MappingError, match="no path of transitions from state 'Done' to 'New'"):
        transition_path(side, "Done", "New")


def test_state_changes_walk_the_graph(rig):
    right = rig.integration.right_collection
    right.field_roles = {"status": "state"}
    right.transitions = GRAPH
    right.save()
    calls = []
    rig.wrap = lambda c: c
    original = type(rig.right).transition

    def spy(self, artifact_id, field_name, state):
        calls.append(state)
        return original(self, artifact_id, field_name, state)

    type(rig.right).transition = spy
    try:
        a = rig.left.create("ALPHA", {"summary": "s", "status": "New"}, hub_key="")
        rig.run()
        rig.left.update(a.id, {"status": "Done"})
        rig.run()
    finally:
        type(rig.right).transition = original
    pair = ArtifactPair.objects.get()
    assert calls == ["In Progress", "Review", "Done"]
    assert rig.rows("right")[pair.right_id].fields["status"] == "Done"
