"""API permissions shared by every app, by role (tasktop_hub/roles.py).

The default permission class is :class:`RolePermission`: any role may read; writes need the
role the view declares in ``write_role``, else integrators for the integration and Activity
apps, else administrators. Views may also declare ``read_role`` (security settings:
administrators only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tasktop_hub import roles

if TYPE_CHECKING:
    from rest_framework.request import Request


def _default_write_role(view: Any) -> str:
    app = type(view).__module__.split(".", 1)[0]
    return roles.INTEGRATORS if app in roles.INTEGRATOR_APPS else roles.ADMINISTRATORS


class RolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if roles.role_of(user) is None:
            return False
        if request.method in SAFE_METHODS:
            needed = getattr(view, "read_role", roles.VIEWERS)
        else:
            needed = getattr(view, "write_role", None) or _default_write_role(view)
        if not roles.has_role(user, needed):
            self.message = f"This needs the {needed} role; you are in {roles.role_of(user)}."
            return False
        return True


class IsAdministrator(BasePermission):
    """Security settings and user management: administrators only, reads included."""

    message = "Only administrators may use this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.has_role(request.user, roles.ADMINISTRATORS)


# Kept for imports elsewhere: the foundation's name for the default policy.
ReadAuthenticatedWriteStaff = RolePermission
