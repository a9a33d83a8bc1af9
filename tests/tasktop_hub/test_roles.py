"""Every API endpoint against every role (administrators, integrators, viewers, anonymous).

Endpoints are discovered from the URL configuration, so a new endpoint is covered the day it
is added; its expected access follows the rule table below (by path, else by owning app).
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tasktop_hub import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_ONLY = ("security/master-password", "license/", "support-report/", "storage/")
ANY_ROLE_READ_ONLY = ("security/setup/",)
# Bulk operations under an integrator prefix that only administrators may start (their job kinds say so).
ADMIN_WRITES = ("pairs/import/",)
INTEGRATOR_WRITES = ("connections/", "collections/", "integrations/", "routes/", "pairs/", "connector-kinds/",
                     "activity/", "extensions/")
# The gateway's credential is the collection's token, not a user (tests/integrations/gateway/).
PUBLIC = ("auth/token/", "gateway/")
WRITE_METHODS = ("post", "put", "patch", "delete")


def _endpoints() -> list[tuple[str, object]]:
    out = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                out.append((prefix + str(p.pattern), p.callback))

    walk(get_resolver().url_patterns, "")
    api = []
    for route, callback in out:
        if not route.startswith("api/v1/") or "format" in route or route.endswith("api/v1/"):
            continue
        path = "/" + re.sub(r"\^|\$|\\", "", route)
        path = re.sub(r"\(\?P<[^>]+>[^)]+\)|<[^>]+>", "999999", path)
        api.append((path, callback))
    return api


def _methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return set(actions) & {"get", "post", "put", "patch", "delete"}
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    return {m for m in ("get", "post", "put", "patch", "delete") if view_class and hasattr(view_class, m)}


def _expected(path: str, method: str, role: str | None, callback) -> str:
    rel = path.removeprefix("/api/v1/")
    if rel.startswith(PUBLIC):
        return "skip"
    if role is None:
        return "denied"
    if rel.startswith(ADMIN_ONLY):
        return "allowed" if role == roles.ADMINISTRATORS else "denied"
    if method == "get":
        return "allowed"
    if rel.startswith(ANY_ROLE_READ_ONLY):
        return "skip"
    if rel.startswith(ADMIN_WRITES):
        return "allowed" if role == roles.ADMINISTRATORS else "denied"
    if rel.startswith(INTEGRATOR_WRITES):
        return "allowed" if role in (roles.ADMINISTRATORS, roles.INTEGRATORS) else "denied"
    return "allowed" if role == roles.ADMINISTRATORS else "denied"


def _client(role: str | None) -> APIClient:
    client = APIClient()
    if role is not None:
        user = UserFactory(username=f"user-{role}")
        user.groups.add(Group.objects.get(name=role))
        client.force_authenticate(user)
    return client


def test_role_groups_exist_with_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert set(roles.ROLES) <= names
    integrator = Group.objects.get(name=roles.INTEGRATORS).permissions
    viewer = Group.objects.get(name=roles.VIEWERS).permissions
    assert integrator.filter(codename="change_repositoryconnection").exists()
    assert not integrator.filter(codename="change_hubsettings").exists()
    assert not integrator.filter(content_type__app_label="licensing").exists()
    assert viewer.filter(codename="view_integration").exists()
    assert not viewer.exclude(codename__startswith="view_").exists()


@pytest.mark.parametrize("role", [roles.ADMINISTRATORS, roles.INTEGRATORS, roles.VIEWERS, None])
def test_every_endpoint_against_the_role(role):
    client = _client(role)
    endpoints = _endpoints()
    assert len(endpoints) > 10
    problems = []
    for path, callback in endpoints:
        for method in sorted(_methods(callback)):
            expected = _expected(path, method, role, callback)
            if expected == "skip":
                continue
            response = getattr(client, method)(path, {}, format="json")
            denied = response.status_code in (401, 403)
            if (expected == "denied") != denied:
                problems.append(f"{method.upper()} {path} as {role}: {response.status_code}, expected {expected}")
            if role is None and denied and response.status_code != 401:
                problems.append(f"{method.upper()} {path} anonymous: {response.status_code}, expected 401")
    assert not problems, "\n".join(problems)


def test_admin_security_pages_are_for_administrators_only():
    for role, allowed in ((roles.ADMINISTRATORS, True), (roles.INTEGRATORS, False), (roles.VIEWERS, False)):
        user = UserFactory(username=f"staff-{role}", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)
        for url in ("/admin/security/master-password/change/", "/admin/security/license/apply/"):
            status = client.get(url).status_code
            assert (status == 200) == allowed, (role, url, status)


def test_integrator_admin_can_edit_connections_but_not_settings():
    user = UserFactory(username="integrator-staff", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.INTEGRATORS))
    client = Client()
    client.force_login(user)
    assert client.get("/admin/integrations/repositoryconnection/add/").status_code == 200
    settings_page = client.get("/admin/settings_app/hubsettings/1/change/")  # view permission: read-only page
    assert settings_page.status_code == 200 and b"View global settings" in settings_page.content
    assert client.post("/admin/settings_app/hubsettings/1/change/", {"max_concurrency": 3}).status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


@pytest.mark.parametrize("role,allowed", [(roles.INTEGRATORS, True), (roles.VIEWERS, False)])
def test_only_integrators_and_up_ignore_errors_in_the_admin(role, allowed):
    from notifications import services as activity
    from notifications.models import ActivityError

    error = activity.record_error(artifact="t:1", message="boom", integration_id=1)
    user = UserFactory(username=f"errors-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    client.post("/admin/notifications/activityerror/", {"action": "ignore", "_selected_action": [error.pk]})
    error.refresh_from_db()
    assert (error.status == ActivityError.Status.IGNORED) == allowed


@pytest.mark.parametrize("role,allowed", [(roles.INTEGRATORS, True), (roles.VIEWERS, False)])
def test_only_integrators_and_up_run_integrations_in_the_admin(role, allowed):
    from integrations.models import Integration
    from tests.factories import IntegrationFactory

    integration = IntegrationFactory()
    user = UserFactory(username=f"runner-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    client.post("/admin/integrations/integration/", {"action": "run_integrations", "_selected_action": [integration.pk]})
    integration.refresh_from_db()
    assert (integration.run_state == Integration.RunState.RUNNING) == allowed
