"""Schema-driven fuzzing of the whole API (schemathesis): 0 server errors, 0 schema mismatches.

Every operation of the OpenAPI schema the hub publishes gets generated requests — valid ones and,
where schemathesis can make them, invalid ones — sent in-process through the WSGI application as
an administrator, on the ORM test database. Loopback only: nothing leaves the process except what
a connection may reach, and the reach policy allows only loopback here. Each response must not be
a 5xx, must have a documented status and content type and match its documented schema; valid
requests must not be refused and invalid ones must not be accepted. Examples are derandomised (the
same cases every run) and bounded per operation, so the whole run takes a minute or two at most.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

from notifications import services as activity
from notifications.models import BackgroundJob
from tests.factories import PairFactory, StaffFactory

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 4

# Operations whose valid input depends on the hub's state or on several fields at once — an
# existing object to refer to, a name not yet taken, a registered connector or job kind, a signed
# license, matching passwords, the current password — which no schema can state. For these the
# fuzzer still asserts everything (no 5xx, documented statuses, content types and bodies, invalid
# input refused) except that any schema-valid request must be accepted: they answer 400 naming
# the rule, which the schema documents.
STATE_DEPENDENT = {
    "POST /api/v1/activity/jobs/", "POST /api/v1/auth/token/", "POST /api/v1/collections/",
    "POST /api/v1/connections/", "POST /api/v1/integrations/", "POST /api/v1/license/", "POST /api/v1/pairs/",
    "POST /api/v1/routes/", "POST /api/v1/security/master-password/change/",
    "POST /api/v1/security/master-password/enter/", "POST /api/v1/security/master-password/reset/",
    "POST /api/v1/security/master-password/set/",
    # The email server: a reachable, consistent SMTP configuration; on/off/test need one saved.
    "PUT /api/v1/notifications/email/", "PATCH /api/v1/notifications/email/", "POST /api/v1/notifications/email/on/",
    "POST /api/v1/notifications/email/off/", "POST /api/v1/notifications/email/test/",
    "POST /api/v1/notifications/email/send-now/",
    # Troubleshooting logging: its end must lie in the future and within 24 hours of now.
    "PUT /api/v1/settings/logging/", "PATCH /api/v1/settings/logging/",
    # Pair import/export: an existing integration, a file in the export format.
    "GET /api/v1/pairs/export/", "POST /api/v1/pairs/import/",
    # Route moves: existing integrations and routes, the review's confirmation token.
    "POST /api/v1/route-moves/", "POST /api/v1/route-moves/review/",
    # The operational database: a reachable server, the typed confirmation, a transfer in progress.
    "POST /api/v1/storage/cleanup/", "POST /api/v1/storage/override/", "POST /api/v1/storage/relocate/",
    "POST /api/v1/storage/test/", "POST /api/v1/storage/transfer/", "POST /api/v1/storage/transfer/abort/",
    # Extensions: source that compiles and defines the type's entry point; a run's input per type.
    "POST /api/v1/extensions/", "POST /api/v1/extensions/{id}/run/",
    # Cursor lists: a cursor is valid only as the list gave it out (a 'next' or 'previous' link);
    # pairs' left_id/right_id need the integration too.
    "GET /api/v1/pairs/", "GET /api/v1/pending-work/", "GET /api/v1/audit/", "GET /api/v1/activity/errors/",
    "GET /api/v1/activity/issues/", "GET /api/v1/activity/jobs/",
}




def _published_schema() -> dict:
    """The schema /api/schema/ serves, generated in-process (no request, no database)."""
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.utils.encoders import JSONEncoder

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=JSONEncoder))


schema = schemathesis.openapi.from_dict(_published_schema())
schema.app = get_wsgi_application()


@pytest.fixture
def token(db, settings) -> str:
    # Loopback only: a fuzzed connection URL elsewhere is refused by the reach policy.
    settings.HUB_CONNECTION_ALLOWED_HOSTS = ["127.0.0.0/8", "::1/128"]
    # Something in every list and behind low ids (errors some servers only show on non-empty lists).
    PairFactory()
    activity.record_error(artifact="a:1", message="boom", integration_id=None)
    activity.raise_issue("fuzz:issue", "An issue")
    BackgroundJob.objects.create(kind="purge_activity")
    return Token.objects.create(user=StaffFactory(username="fuzzer")).key


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, token):
    excluded = [positive_data_acceptance] if case.operation.label in STATE_DEPENDENT else []
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=excluded)
