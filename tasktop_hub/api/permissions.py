"""API permissions shared by every app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request


class ReadAuthenticatedWriteStaff(BasePermission):
    """Any signed-in user may read; only staff may change anything."""

    message = "Only staff users may change this resource."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or bool(user.is_staff)
