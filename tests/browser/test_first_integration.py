"""docs/engine.md's first integration, done in a real browser (Debian's chromium via Playwright)
the way the page tells it, on a hub running as real processes (a HUB_HOME as `hub_setup` leaves it,
then `serve`: gunicorn and a django-q2 cluster, tests/system/conftest.py): two database connections
(SQLite tables under the test's temporary directory) tested from their pages, two collections
whose projects and fields are picked from the tools, an integration with a route and its per-field
table, the Run action — then a row inserted in one table arrives in the other, carried by the hub's worker.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from integrations.connectors.database.schema import create_work_item_table
from tests.system.conftest import ADMIN_PASSWORD, ADMIN_USER, hub_env, hub_template, running_hub

pytestmark = [pytest.mark.browser, pytest.mark.system]
__all__ = ["hub_env", "hub_template", "running_hub"]  # the fixtures this test uses


def _table(path) -> str:
    path.touch()
    create_work_item_table(f"sqlite:///{path}", "items", ["summary", "status"])
    return f"sqlite:///{path}"


def _add_connection(page, base: str, name: str, url: str) -> None:
    page.goto(f"{base}/admin/")
    page.get_by_role("link", name="Repository connections", exact=True).click()
    page.get_by_role("link", name="Add repository connection").click()
    page.select_option("#id_kind", "database")
    page.click("#first-step input[type=submit]")
    page.fill("#id_name", name)
    page.fill("#id_url", url)
    assert page.locator("#id_secret__token").count() == 0  # another kind's secret is not offered
    page.fill("#id_option__table", "items")
    page.fill("#id_option__projects", "ALPHA")
    page.click("input[name=_continue]")
    page.click("#test-connection")
    message = page.locator(".messagelist .success").inner_text()
    assert f"Connection '{name}': Connected; table 'items' has 0 row(s)." in message


def _add_collection(page, base: str, name: str, connection: str) -> None:
    page.goto(f"{base}/admin/integrations/collection/")
    page.get_by_role("link", name="Add collection").click()
    page.select_option("#id_connection", label=connection)
    page.click("#first-step input[type=submit]")
    page.fill("#id_name", name)
    page.check("input[name=projects][value=ALPHA]")
    for i, field in enumerate(("summary", "status")):
        page.select_option(f"[name=field_mapping-{i}-tool]", field)
        page.fill(f"[name=field_mapping-{i}-model]", field)
    page.click("input[name=_save]")
    assert "was added successfully" in page.locator(".messagelist .success").inner_text()


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT project, summary, status FROM items").fetchall()


def test_first_integration_from_the_admin(running_hub, page, tmp_path):
    hub, base = running_hub, running_hub.base_url
    left, right = _table(tmp_path / "a.db"), _table(tmp_path / "b.db")
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", ADMIN_USER)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    _add_connection(page, base, "table-a", left)
    _add_connection(page, base, "table-b", right)
    _add_collection(page, base, "items-a", "table-a")
    _add_collection(page, base, "items-b", "table-b")

    page.goto(f"{base}/admin/integrations/integration/")
    page.get_by_role("link", name="Add integration").click()
    page.select_option("#id_left_collection", label="items-a")
    page.select_option("#id_right_collection", label="items-b")
    page.click("#first-step input[type=submit]")
    page.fill("#id_name", "a-b")
    assert page.input_value("[name=field_flow-0-field]") == "summary"
    page.select_option("[name=field_flow-1-conflict]", "left_wins")  # status: the left side wins a conflict
    page.select_option("[name=routes-0-left_project]", "ALPHA")
    page.select_option("[name=routes-0-right_project]", "ALPHA")
    page.click("input[name=_save]")
    assert "was added successfully" in page.locator(".messagelist .success").inner_text()

    # The row is there before the run, so the first run (which reads from the beginning) finds it:
    # a row written just after a run's detection would wait a whole interval (1 minute) for the next.
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # docs/engine.md's format
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("INSERT INTO items (project, updated_at, summary, status) VALUES ('ALPHA', ?, 'First item', 'New')",
                   (stamp,))

    page.get_by_role("row", name="a-b").locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "run_integrations")
    page.click("button[name=index]")
    assert "1 integration(s) running." in page.locator(".messagelist").inner_text()
    arrived = hub.wait_for(lambda: _rows(tmp_path / "b.db"), 60, "the row in the other table")
    assert arrived == [("ALPHA", "First item", "New")]
    page.goto(f"{base}/admin/integrations/artifactpair/")
    assert page.locator("#result_list tbody tr").count() == 1
