"""A database transfer started from the Storage panel, watched live on the Activity screen.

The administrator fills the "Use External Database" form (with its "I understand …" confirmation)
in one tab and follows the job on the Activity screen's jobs tab in another: the row shows the
copy's progress while the transfer runs, then "Succeeded" without a reload (the screen polls),
and the job's log ends with "Database transfer completed".

django-q2 runs tasks inline in tests (tests/conftest.py), so the transfer runs inside the form's
POST request in the live server's thread. The test holds it once the first table's rows are
copied (a gate around the copy functions) so that the browser can see it running, then lets it
finish. The hub's switch only rewrites hub-db.json in this test's own HUB_DB_DIR (tests/conftest.py
gives every test a fresh one), so this test process keeps its database, as in
tests/storage/test_transfer_live.py; the target database is dropped afterwards.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from notifications.models import AuditEvent, BackgroundJob
from storage import bulk, fastcopy
from storage.transfer import TransferJob
from tests.integrations.dbtargets import fresh_postgres_db
from tests.storage.conftest import _allow_storage_aliases, as_input  # noqa: F401 (an autouse fixture)

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

GATE_SECONDS = 60  # a bound for a broken test, never reached when it passes


class CopyGate:
    """Holds the transfer after the first table whose rows it copied, until released."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.released = threading.Event()

    def wrap(self, copy):
        def gated(*args, **kwargs):
            copied = copy(*args, **kwargs)
            if copied and not self.reached.is_set():
                self.reached.set()
                self.released.wait(GATE_SECONDS)
            return copied
        return gated


@pytest.fixture
def pg_target():
    with fresh_postgres_db("hubstore") as url:  # dropped at the end, whatever the test did
        yield as_input(url)


@pytest.fixture
def gate(monkeypatch, settings):
    settings.HUB_TRANSFER_DRAIN_SECONDS = 0
    # Every progress step is written at once, so the row shows the rows copied when the gate holds.
    monkeypatch.setattr(TransferJob, "progress_interval", 0.0)
    held = CopyGate()
    monkeypatch.setattr(fastcopy, "copy_table", held.wrap(fastcopy.copy_table))
    monkeypatch.setattr(bulk, "write_table", held.wrap(bulk.write_table))
    yield held
    held.released.set()  # a failing test must not leave the server's thread waiting


def _figures(page, job_id: int) -> str:
    return page.locator(f'#activity-jobs tr[data-job="{job_id}"] .figures').inner_text()


def test_transfer_from_the_storage_panel_shows_live_progress_then_completes(admin_page, live_server, pg_target,
                                                                              gate):
    AuditEvent.objects.bulk_create([AuditEvent(action="sample", target=f"row:{n}") for n in range(50)])
    form = admin_page
    form.goto(f"{live_server.url}/admin/settings/")
    form.get_by_role("link", name="Use External Database").click()
    form.wait_for_url(f"{live_server.url}/admin/storage/external/")
    form.select_option("#id_vendor", pg_target["vendor"])
    form.fill("#id_location", pg_target["location"])
    form.fill("#id_username", pg_target["username"])
    form.fill("#id_password", pg_target["password"])
    form.select_option("#id_tls", pg_target["tls"])
    form.check("input[name=action][value=transfer]")
    form.check("#id_confirm")
    assert form.locator("label[for=id_confirm]").inner_text().startswith("I understand")
    # The POST runs the whole transfer (inline tasks): don't wait for its answer here.
    form.click("input[type=submit]", no_wait_after=True)
    assert gate.reached.wait(GATE_SECONDS), "the transfer never copied a table"

    job = BackgroundJob.objects.get(kind=TransferJob.kind)
    assert job.status == BackgroundJob.Status.RUNNING
    assert 0 < job.progress_done < job.progress_total
    watcher = form.context.new_page()
    watcher.goto(f"{live_server.url}/admin/activity/")
    watcher.click("#tab-jobs")
    row = watcher.locator(f'#activity-jobs tr[data-job="{job.pk}"]')
    assert row.locator(".status").inner_text() == "Running"
    assert _figures(watcher, job.pk).startswith(f"{job.progress_done} / {job.progress_total} (")
    assert row.locator("progress").get_attribute("value") == str(job.progress_done)

    gate.released.set()
    # No reload: the screen's poll brings the end of the job into the same row.
    watcher.wait_for_function(
        f"""document.querySelector('#activity-jobs tr[data-job="{job.pk}"]').dataset.finished === '1'""",
        timeout=30_000)
    job.refresh_from_db()
    assert job.status == BackgroundJob.Status.SUCCEEDED, job.error + job.log
    assert row.locator(".status").inner_text() == "Succeeded"
    assert _figures(watcher, job.pk) == f"{job.progress_total} / {job.progress_total} (100%)"
    assert row.locator(".error").inner_text() == ""

    # The form's tab lands on the Activity screen once the transfer's request answers.
    form.wait_for_url(f"{live_server.url}/admin/activity/", timeout=30_000)
    assert f"background job {job.pk}" in form.locator("ul.messagelist").inner_text()
    # The job's history (its detail page, linked from the row) ends with the completion.
    row.get_by_role("link", name=job.title).click()
    history = watcher.locator("#content").inner_text()
    assert "Database transfer completed: the hub now runs on" in history
    assert "Verified" in history
    # This test process kept its own database (the switch went to this test's HUB_DB_DIR only).
    assert connections["default"].vendor == "sqlite"
