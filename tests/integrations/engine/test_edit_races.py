"""A person's edit racing the hub's write of the same row is never taken for the hub's echo
(issue 9.1): a row changed after the hub read it is not overwritten (``UPDATE … WHERE
updated_at = the value read``) but read again and synchronised; an edit after the write is a
change like any other. SQLite here; PostgreSQL and MariaDB too when they are reachable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.models import ArtifactPair
from tests.integrations.dbtargets import fresh_mariadb_db, fresh_postgres_db
from tests.integrations.engine.helpers import make_rig
from tests.integrations.engine.races import EditRace, Once


def person_edit(connector, row_id: str, **values) -> None:
    """A person's application writing the row with its own clock, as every writer must."""
    cols = ", ".join(f"{connector._q(c)} = %s" for c in ["updated_at", *values])
    stamp = connector.dialect.to_db_time(datetime.now(UTC))
    connector._execute(f"UPDATE items SET {cols} WHERE id = %s", [stamp, *values.values(), int(row_id)], fetch=False)


def race(rig, when: str) -> None:
    a = rig.left.create("ALPHA", {"summary": "first", "status": "New"}, hub_key="")
    rig.run_until_quiet()
    twin = ArtifactPair.objects.get().right_id
    rig.left.update(a.id, {"summary": "edited on the left"})
    # While the hub carries the summary to the right, a person sets the right row's status.
    edit = Once(lambda: person_edit(rig.right, twin, status="Blocked"))
    rig.wrap = lambda inner: EditRace(inner, twin, edit, when=when) if inner.url == rig.right.url else inner
    rig.run_until_quiet()
    assert edit.fired
    rig.wrap = None
    rig.run_until_quiet()
    left, right = rig.rows("left")[a.id], rig.rows("right")[twin]
    assert right.fields["summary"] == "edited on the left"
    assert right.fields["status"] == "Blocked"
    assert left.fields["status"] == "Blocked", "the person's edit was taken for the hub's echo"


@pytest.mark.parametrize("when", ["before", "after"])
def test_sqlite_edit_racing_the_hub_write_is_synchronised(rig, when):
    race(rig, when)


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_server_edit_between_read_and_write_is_synchronised(db, settings, server):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    fresh = fresh_postgres_db if server == "postgresql" else fresh_mariadb_db
    with fresh() as left_url, fresh() as right_url:
        rig = make_rig(left_url, right_url)
        try:
            race(rig, "before")
        finally:
            rig.left.close()
            rig.right.close()


def test_conditional_update_refuses_a_row_changed_since_read(rig):
    from integrations.connectors.base import StaleArtifact

    a = rig.left.create("ALPHA", {"summary": "x"}, hub_key="")
    [read] = rig.left.read([a.id])
    person_edit(rig.left, a.id, summary="person")
    with pytest.raises(StaleArtifact):
        rig.left.update_if_unchanged(read, {"summary": "hub"})
    assert rig.rows("left")[a.id].fields["summary"] == "person"
    [fresh] = rig.left.read([a.id])
    assert rig.left.update_if_unchanged(fresh, {"summary": "hub"}).fields == {"summary": "hub"}
