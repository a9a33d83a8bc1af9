"""Roles, as Django groups (created by settings_app migration 0003_roles).

* **administrators** — everything, including security settings (master password, license),
  global settings and users;
* **integrators** — connections, collections, integrations, routes, pairs and Activity
  (read and write); everything else read-only; no security settings;
* **viewers** — read-only.

A superuser is an administrator. A signed-in user in no role group is treated as a viewer
(every account is a licensed user; it can look, not touch). A user in several groups has the
strongest of their roles. The Django admin additionally needs ``is_staff``; model permissions
for the admin are kept in step with these rules after every ``migrate`` (:func:`sync_permissions`).
"""

from __future__ import annotations

from typing import Any

ADMINISTRATORS = "administrators"
INTEGRATORS = "integrators"
VIEWERS = "viewers"
ROLES = (ADMINISTRATORS, INTEGRATORS, VIEWERS)
_RANK = {VIEWERS: 1, INTEGRATORS: 2, ADMINISTRATORS: 3}

# Apps whose data integrators may change (in the admin and the API).
INTEGRATOR_APPS = ("integrations", "notifications", "extensions")
# Apps nobody but administrators may even read in the admin (security settings, users, tasks).
ADMIN_ONLY_APPS = ("auth", "authtoken", "licensing", "django_q", "contenttypes", "sessions", "admin")
# Models of other apps that only administrators may read, added by the apps that own them
# (``restrict_to_administrators`` from their AppConfig.ready; e.g. the vault's key).
ADMIN_ONLY_MODELS: set[str] = set()


def restrict_to_administrators(model_label: str) -> None:
    """Only administrators may see ``app_label.model`` in the admin (lower-case label)."""
    ADMIN_ONLY_MODELS.add(model_label)


def role_of(user: Any) -> str | None:
    """The user's strongest role, or None for anonymous/inactive users."""
    if not (user and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return None
    if getattr(user, "is_superuser", False):
        return ADMINISTRATORS
    cached = getattr(user, "_hub_role", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        cached = max(names, key=_RANK.__getitem__) if names else VIEWERS
        user._hub_role = cached
    return cached


def has_role(user: Any, role: str) -> bool:
    current = role_of(user)
    return current is not None and _RANK[current] >= _RANK[role]


def sync_permissions(**kwargs: Any) -> None:
    """Give each role group the model permissions its rules imply (post_migrate; idempotent)."""
    from django.contrib.auth.models import Group, Permission

    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    perms = list(Permission.objects.select_related("content_type"))
    groups[ADMINISTRATORS].permissions.set(perms)
    viewer, integrator = [], []
    for perm in perms:
        app, model = perm.content_type.app_label, perm.content_type.model
        if app in ADMIN_ONLY_APPS or f"{app}.{model}" in ADMIN_ONLY_MODELS:
            continue
        if perm.codename.startswith("view_"):
            viewer.append(perm)
            integrator.append(perm)
        elif app in INTEGRATOR_APPS:
            integrator.append(perm)
    groups[VIEWERS].permissions.set(viewer)
    groups[INTEGRATORS].permissions.set(integrator)
