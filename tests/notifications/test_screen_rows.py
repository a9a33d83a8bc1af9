# ruff: noqa: E501  (the reference template rows below are kept verbatim, long lines and all)
"""The Activity screen's rows built in Python (notifications/screen_rows.py) are the markup the
template loop gave for the same rows (that loop is kept here as the reference)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.template import engines
from django.test import Client
from django.utils import timezone

from notifications import screen_rows
from notifications import services as activity
from notifications.models import BackgroundJob
from tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db

ERROR_ROWS = """{% load hub_admin_list %}{% for e in rows %}<tr data-error="{{ e.pk }}">
  {% if can_act_on_errors %}<td><input type="checkbox" name="ids" value="{{ e.pk }}" aria-label="Select {{ e.artifact }}"></td>{% endif %}
  <td>{{ e.integration_name }}</td><td>{{ e.artifact }}</td><td>{{ e.message }}</td><td class="status">{{ e.get_status_display }}</td>
  <td>{{ e.occurrences }}×</td><td>{{ e.first_seen|hub_datetime }}</td><td>{{ e.last_seen|hub_datetime }}</td></tr>
{% endfor %}"""

JOB_ROWS = """{% load hub_admin_list %}{% for j in rows %}<tr data-job="{{ j.pk }}" data-finished="{% if j.finished_at %}1{% else %}0{% endif %}">
  <td><a href="{% url 'admin:notifications_backgroundjob_change' j.pk %}" title="Details and log">{{ j.title }}</a></td>
  <td class="status">{{ j.get_status_display }}{% if j.cancel_requested and not j.finished_at %} (cancel requested){% endif %}</td>
  <td class="progress"><progress max="{{ j.progress_total|default:1 }}" value="{% if j.progress_total %}{{ j.progress_done }}{% else %}0{% endif %}"></progress>
    <span class="figures">{{ j.progress_done }}{% if j.progress_total is not None %} / {{ j.progress_total }}{% endif %}{% if j.percent is not None %} ({{ j.percent }}%){% endif %}</span></td>
  <td>{{ j.created_at|hub_datetime }}</td><td class="started">{{ j.started_at|hub_datetime|default:"—" }}</td><td class="finished">{{ j.finished_at|hub_datetime|default:"—" }}</td><td class="error">{{ j.error }}</td>
  <td class="cancel">{% if j.pk in cancellable %}<form method="post" action="{% url 'hub-activity-cancel' j.pk %}">{% csrf_token %}<input type="hidden" name="next" value="{{ current_url }}"><button type="submit">Cancel</button></form>{% endif %}</td></tr>
{% endfor %}"""


def _reference(template: str, request, **context) -> str:
    return engines["django"].from_string(template).render(context, request)


@pytest.mark.parametrize("can_act", [True, False])
def test_error_rows_are_the_templates(staff, can_act):
    integration = IntegrationFactory(name="bugs & <fixes>")
    first = activity.record_error(artifact='jira:<1> "x"', message="a & b <i>", integration_id=integration.pk,
                                  integration_name=integration.name)
    activity.record_error(artifact='jira:<1> "x"', message="a & b <i>", integration_id=integration.pk,
                          integration_name=integration.name)  # seen twice
    activity.ignore_error(first.pk, staff)
    activity.record_error(artifact="x:2", message="", integration_id=None)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/activity/", {"tab": "errors", "status": "any"})
    rows = response.context["rows"]
    assert len(rows) == 2
    expected = _reference(ERROR_ROWS, response.wsgi_request, rows=rows, can_act_on_errors=can_act)
    assert "".join(screen_rows.error_rows(rows, can_act)) == expected
    if can_act:  # the page shows these rows (its viewer, an administrator, may act)
        assert expected in response.content.decode()


def test_job_rows_are_the_templates(staff):
    now = timezone.now()
    BackgroundJob.objects.create(kind="purge_activity", title="<b>purge</b> & co", progress_total=12345,
                                 progress_done=4321, started_at=now, params={})
    BackgroundJob.objects.create(kind="purge_activity", title="asked to stop", cancel_requested=True,
                                 progress_total=None, progress_done=3, started_at=now)
    BackgroundJob.objects.create(kind="purge_activity", title="done", status=BackgroundJob.Status.FAILED,
                                 progress_total=0, started_at=now - timedelta(hours=2), finished_at=now,
                                 error='boom "<x>"')
    BackgroundJob.objects.create(kind="purge_activity", title="waiting")
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/activity/", {"tab": "jobs", "status": "any"})
    context = response.context
    rows, cancellable = context["rows"], context["cancellable"]
    assert len(rows) == 4 and cancellable  # some may be cancelled, some not
    assert len(cancellable) < 4
    request = response.wsgi_request
    expected = _reference(JOB_ROWS, request, rows=rows, cancellable=cancellable,
                          current_url=context["current_url"])
    built = "".join(screen_rows.job_rows(request, rows, cancellable, context["current_url"]))
    assert built.count("csrfmiddlewaretoken") == len(cancellable)
    # Each call of get_token masks the same secret anew: the forms' tokens differ in text, not in worth.
    assert _unmasked(built) == _unmasked(expected)
    assert _unmasked(built) in _unmasked(response.content.decode())


def _unmasked(html: str) -> str:
    from django.middleware.csrf import _unmask_cipher_token

    return re.sub(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                  lambda m: f'name="csrfmiddlewaretoken" value="{_unmask_cipher_token(m.group(1))}"', html)

