"""Licensing: signed keys, each refusal with its own message, expiry through the gate, max users."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from integrations.models import Integration
from licensing import clock, keys, services
from licensing.models import License
from notifications.models import ActivityIssue
from notifications.services import sync_condition_issues
from tasktop_hub import conditions
from tests.factories import IntegrationFactory, StaffFactory, UserFactory
from tests.ready import issue_key, trusted_keys_setting

pytestmark = pytest.mark.django_db

TODAY = date(2027, 6, 1)


@pytest.fixture
def frozen_clock(monkeypatch):
    """A controllable clock: set ``frozen_clock.today`` to move time."""

    class Clock:
        today = TODAY

    monkeypatch.setattr(clock, "now", lambda: datetime(Clock.today.year, Clock.today.month, Clock.today.day, 12,
                                                       tzinfo=UTC))
    return Clock


def _apply(text: str) -> License:
    return services.apply_license(None, text)


def _refusal(text: str) -> str:
    before = services.current()
    with pytest.raises(ValidationError) as info:
        _apply(text)
    assert services.current() == before, "a refused key must leave the current license in force"
    return info.value.message_dict["key"][0]


def test_apply_shows_every_field(frozen_clock):
    lic = _apply(issue_key(type="Team", description="Two teams", max_users=25, created=date(2027, 1, 1),
                           expires=date(2028, 1, 1), issuer="Hub Licensing Ltd", licensee="Acme Corp"))
    assert services.current() == lic
    assert (lic.license_type, lic.description, lic.max_users, lic.created, lic.expires, lic.issuer, lic.licensee) == (
        "Team", "Two teams", 25, date(2027, 1, 1), date(2028, 1, 1), "Hub Licensing Ltd", "Acme Corp")
    staff = StaffFactory(username="boss")
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/settings/").content.decode()
    for text in ("License Type", "Team", "Two teams", "Maximum Users", "25", "Created Date", "2027-01-01",
                 "Expiration Date", "2028-01-01", "Hub Licensing Ltd", "Acme Corp", "Apply new license"):
        assert text in html


def test_each_refusal_has_its_own_message_and_the_current_license_stays(frozen_clock):
    _apply(issue_key(licensee="Current Co"))
    good = issue_key(licensee="New Co")
    prefix, kid, payload, signature = good.split(".")
    # Tampered: one changed character of the signed content.
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    assert "has been altered" in _refusal(".".join((prefix, kid, flipped, signature)))
    # Untrusted issuer.
    stranger = keys.generate_private_key()
    assert "does not trust" in _refusal(issue_key(private_key=stranger))
    # Malformed.
    assert "not a tasktop_hub license key" in _refusal("hello world")
    assert "incomplete or damaged" in _refusal(".".join((prefix, kid, payload)))
    assert "No license key was given" in _refusal("   ")
    # Already expired.
    assert "expired on 2027-05-31" in _refusal(issue_key(created=date(2026, 1, 1), expires=date(2027, 5, 31)))
    assert services.current().licensee == "Current Co"


def test_any_changed_character_is_refused():
    trusted = [keys.load_public_key(t) for t in trusted_keys_setting()]
    good = issue_key()
    keys.verify(good, trusted, TODAY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for i, ch in enumerate(good):
        other = alphabet[(alphabet.index(ch) + 7) % len(alphabet)] if ch in alphabet else "A"
        changed = good[:i] + other + good[i + 1:]
        with pytest.raises(keys.LicenseKeyError):
            keys.verify(changed, trusted, TODAY)


def test_line_breaks_in_a_pasted_key_are_ignored(frozen_clock):
    key = issue_key()
    wrapped = "\n".join(key[i:i + 64] for i in range(0, len(key), 64))
    assert _apply("  " + wrapped + "\n").licensee == "Test Co"


def test_expiry_stops_processing_with_one_issue_and_renewal_resumes(frozen_clock):
    License.objects.all().delete()
    running = IntegrationFactory(run_state=Integration.RunState.RUNNING)
    stopped = IntegrationFactory(run_state=Integration.RunState.STOPPED)
    _apply(issue_key(expires=date(2027, 6, 30)))
    assert conditions.processing_blocked_reason() is None
    frozen_clock.today = date(2027, 6, 30)  # valid through its expiration date
    assert conditions.processing_blocked_reason() is None
    frozen_clock.today = date(2027, 7, 1)
    reason = conditions.processing_blocked_reason()
    assert reason and "expired on 2027-06-30" in reason
    sync_condition_issues()
    sync_condition_issues()
    issues = ActivityIssue.objects.filter(key=services.ISSUE_EXPIRED, status="open")
    assert issues.count() == 1 and "No artifacts are processed" in issues.get().message
    # Integrations keep the run state they had.
    assert Integration.objects.get(pk=running.pk).run_state == "running"
    assert Integration.objects.get(pk=stopped.pk).run_state == "stopped"
    st = services.state()
    assert st.state == "expired" and "expired on 2027-06-30" in st.warning
    # Renewal.
    _apply(issue_key(expires=date(2028, 6, 30)))
    assert conditions.processing_blocked_reason() is None
    assert not ActivityIssue.objects.filter(key=services.ISSUE_EXPIRED, status="open").exists()


def test_expired_license_warns_on_the_settings_screen(frozen_clock, staff):
    _apply(issue_key(expires=date(2027, 6, 5)))
    frozen_clock.today = date(2027, 7, 1)
    client = Client()
    client.force_login(staff)
    html = client.get("/admin/settings/").content.decode()
    assert "Your license expired on 2027-06-05" in html and "Expired" in html


@pytest.mark.fresh_install
def test_unlicensed_state_is_shown_with_apply_action(staff_client):
    body = staff_client.get("/api/v1/license/").json()
    assert body["state"] == "unlicensed" and body["licensee"] is None
    assert "No license is applied" in conditions.processing_blocked_reason() or "master password" in \
        conditions.processing_blocked_reason()


def test_max_users_is_enforced_on_create_and_activate(frozen_clock):
    User = get_user_model()
    active = User.objects.filter(is_active=True).count()
    _apply(issue_key(max_users=active + 2))
    UserFactory(username="u1")
    UserFactory(username="u2")
    with pytest.raises(ValidationError) as info:
        UserFactory(username="u3")
    message = info.value.messages[0]
    assert f"allows {active + 2} active user(s)" in message and f"{active + 2} are active" in message
    assert not User.objects.filter(username="u3").exists()
    # Activating an inactive user counts too; editing an active one does not.
    dormant = UserFactory(username="dormant", is_active=False)
    dormant.is_active = True
    with pytest.raises(ValidationError, match="cannot be created or activated"):
        dormant.save()
    u1 = User.objects.get(username="u1")
    u1.first_name = "Renamed"
    u1.save()
    # Deactivating someone frees a seat.
    u1.is_active = False
    u1.save()
    UserFactory(username="u3")


def test_max_users_in_the_admin_is_a_form_error_not_a_crash(frozen_clock, staff):
    User = get_user_model()
    _apply(issue_key(max_users=User.objects.filter(is_active=True).count()))
    client = Client()
    client.force_login(staff)
    r = client.post("/admin/auth/user/add/", {"username": "newbie", "password1": "a Good pass phrase 9",
                                              "password2": "a Good pass phrase 9", "usable_password": "true"})
    assert r.status_code == 200
    assert "cannot be created or activated" in r.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_api_apply_and_show(staff_client, frozen_clock):
    r = staff_client.post("/api/v1/license/", {"key": "garbage"}, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "key"
    assert "not a tasktop_hub license key" in r.json()["errors"][0]["message"]
    r = staff_client.post("/api/v1/license/", {"key": issue_key(licensee="Via API")}, format="json")
    assert r.status_code == 201 and r.json()["licensee"] == "Via API" and r.json()["state"] == "valid"
    assert staff_client.get("/api/v1/license/").json()["licensee"] == "Via API"


def test_commands_keygen_issue_apply_show(tmp_path, settings, capsys, frozen_clock):
    private = tmp_path / "issuer.pem"
    call_command("license", "keygen", "--out", str(private))
    out = capsys.readouterr().out
    public = out.strip().splitlines()[-1]
    assert (private.stat().st_mode & 0o777) == 0o600
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("license", "keygen", "--out", str(private))
    call_command("license", "issue", "--key", str(private), "--licensee", "Cmd Co", "--issuer", "Ops",
                 "--max-users", "50", "--expires", "2029-01-31", "--created", "2027-01-01", "--type", "Enterprise",
                 "--description", "Issued by command")
    key = capsys.readouterr().out.strip()
    with pytest.raises(CommandError, match="does not trust"):
        call_command("license", "apply", key)
    settings.HUB_LICENSE_TRUSTED_KEYS = [*settings.HUB_LICENSE_TRUSTED_KEYS, public]
    call_command("license", "apply", key)
    call_command("license", "show")
    out = capsys.readouterr().out
    for text in ("License Type: Enterprise", "Description: Issued by command", "Maximum Users: 50",
                 "Created Date: 2027-01-01", "Expiration Date: 2029-01-31", "Issuer: Ops", "Licensee: Cmd Co"):
        assert text in out


def test_editing_license_columns_in_the_database_gains_nothing(frozen_clock):
    License.objects.all().delete()
    lic = _apply(issue_key(max_users=5, expires=date(2027, 6, 30)))
    License.objects.filter(pk=lic.pk).update(max_users=10_000, expires=date(2099, 1, 1))
    assert services.current() is None
    assert "No license is applied" in services.missing_reason()
    License.objects.create(key="TTHUB1.forged", license_type="X", max_users=1, created=TODAY, expires=TODAY,
                           issuer="x", licensee="x", issuer_key_id="x")
    assert services.current() is None


def test_periodic_check_raises_and_resolves_without_the_engine(frozen_clock):
    from django_q.models import Schedule

    from notifications import tasks

    assert Schedule.objects.filter(func="notifications.tasks.sync_condition_issues").count() == 1
    License.objects.all().delete()
    _apply(issue_key(expires=date(2027, 6, 10)))
    frozen_clock.today = date(2027, 6, 11)
    assert tasks.sync_condition_issues()["license_expired"]
    assert ActivityIssue.objects.filter(key=services.ISSUE_EXPIRED, status="open").count() == 1
    _apply(issue_key(expires=date(2028, 6, 10)))
    reasons = tasks.sync_condition_issues()
    assert {"master_password", "license", "license_expired"} <= set(reasons) and not any(reasons.values()), reasons
