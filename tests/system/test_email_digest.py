"""The email digest end to end under the real worker: errors → one email with the right counts;
nothing new → no email."""

from __future__ import annotations

import pytest

from tests.settings_app.email import smtp_servers

pytestmark = pytest.mark.system

RECORD = """
from notifications import services as s
for n in range(3):
    s.record_error(artifact=f"redmine:{n}", message=f"failed {n}", integration_id=1, integration_name="Bugs")
e = s.record_error(artifact="redmine:9", message="ignored", integration_id=1)
s.ignore_error(e.pk)
"""
ATTEMPT = "from settings_app.email.services import get; print(get().last_attempt_at.isoformat())"
REWIND = """
from datetime import timedelta
from settings_app.email.models import EmailSettings
e = EmailSettings.objects.get()
EmailSettings.objects.update(last_attempt_at=e.last_attempt_at - timedelta(minutes=10))
print((e.last_attempt_at - timedelta(minutes=10)).isoformat())
"""
RUN = "from django_q.tasks import async_task; async_task('settings_app.tasks.email_digest')"


def test_digest_under_the_worker(running_hub):
    hub = running_hub
    server = smtp_servers.start("plain")
    try:
        done = hub.manage("notifications", "set", "--to", "ops@example.com", "--from", "hub@example.com",
                          "--server-url", hub.base_url, "--host", "127.0.0.1", "--port", str(server.port),
                          "--protocol", "SMTP", "--frequency", "5")
        assert done.returncode == 0, done.stderr
        assert hub.manage("notifications", "on").returncode == 0
        assert hub.manage("shell", "-c", RECORD).returncode == 0

        hub.manage("shell", "-c", RUN)  # the schedule would do it within a minute; this is sooner
        hub.wait_for(lambda: server.inbox.messages, 90, "the digest email")
        [mail] = server.inbox.messages
        assert "3 new error(s)" in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        assert "Bugs | redmine:0 | failed 0" in text and "ignored" not in text
        assert f"{hub.base_url}/admin/activity/?tab=errors" in text

        # Nothing new: the next due pass runs (its attempt is recorded) and sends nothing.
        rewound = hub.manage("shell", "-c", REWIND).stdout.strip()
        hub.manage("shell", "-c", RUN)
        hub.wait_for(lambda: hub.manage("shell", "-c", ATTEMPT).stdout.strip() > rewound, 90, "the next pass")
        assert len(server.inbox.messages) == 1
    finally:
        server.controller.stop()
