"""The Activity screen in a real browser: filter by integration, bulk ignore, a job's live progress."""

import pytest

from notifications import services as activity
from notifications.models import ActivityError, BackgroundJob
from tests.factories import IntegrationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_bulk_ignore_and_live_progress(admin_page, live_server):
    bugs, tasks = IntegrationFactory(name="Bugs"), IntegrationFactory(name="Tasks")
    for k in range(3):
        activity.record_error(artifact=f"bugs:{k}", message=f"bug {k} failed", integration_id=bugs.pk,
                              integration_name="Bugs")
    activity.record_error(artifact="tasks:1", message="task failed", integration_id=tasks.pk, integration_name="Tasks")
    page = admin_page
    page.goto(f"{live_server.url}/admin/activity/")
    page.select_option("select[name=integration]", label="Bugs")
    page.click("#activity-filters input[type=submit]")
    assert page.locator("#activity-errors tbody tr").count() == 3
    assert "task failed" not in page.locator("#activity-errors").inner_text()

    page.check("#select-all")
    page.click("button[value=ignore]")
    assert "Ignored 3 error(s)." in page.locator("ul.messagelist").inner_text()
    assert "integration=" in page.url  # back on the filtered list
    assert ActivityError.objects.filter(integration_id=bugs.pk, status="ignored").count() == 3
    assert ActivityError.objects.get(integration_id=tasks.pk).status == "open"

    job = BackgroundJob.objects.create(kind="purge_activity", title="Purge old Activity",
                                       status=BackgroundJob.Status.RUNNING, progress_done=1, progress_total=10)
    page.click("#tab-jobs")
    row = page.locator(f'#activity-jobs tr[data-job="{job.pk}"]')
    assert "1 / 10" in row.inner_text()
    BackgroundJob.objects.filter(pk=job.pk).update(progress_done=7)  # the worker moves on; no reload
    page.wait_for_function(f"""document.querySelector('tr[data-job="{job.pk}"] .figures').textContent"""
                           f""".includes('7 / 10')""", timeout=8000)
    assert page.locator(f'tr[data-job="{job.pk}"] progress').get_attribute("value") == "7"

    # A job started after the page was loaded is announced without a reload; the link shows it.
    assert page.locator("#activity-new-jobs").is_hidden()
    later = BackgroundJob.objects.create(kind="purge_activity", title="Purge started later")
    page.wait_for_selector("#activity-new-jobs", state="visible", timeout=8000)
    assert page.locator(f'#activity-jobs tr[data-job="{later.pk}"]').count() == 0
    page.click("#activity-new-jobs a")
    page.wait_for_selector(f'#activity-jobs tr[data-job="{later.pk}"]', timeout=8000)
    assert page.locator("#activity-new-jobs").is_hidden()
