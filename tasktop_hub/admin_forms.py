"""Plumbing shared by the apps' admin form pages (security settings, license)."""

from __future__ import annotations

from typing import Protocol

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from tasktop_hub import roles


class SavingForm(Protocol):
    """A form whose ``save(actor)`` calls a service and returns the success message."""

    def save(self, actor: object) -> str: ...


def next_url() -> str:
    """After a security form: the Settings screen, or the setup page while setup is incomplete."""
    from tasktop_hub.setup_gate import is_set_up

    return reverse("admin:hub-settings") if is_set_up() else reverse("hub-setup")


def require_administrator(request: HttpRequest) -> None:
    if not roles.has_role(request.user, roles.ADMINISTRATORS):
        raise PermissionDenied("Only administrators may change security settings.")


def run_form(request: HttpRequest, form: forms.Form) -> HttpResponse | None:
    """Validate and save ``form``; on success redirect with a message, else None (re-render)."""
    if request.method != "POST" or not form.is_valid():
        return None
    saving: SavingForm = form  # type: ignore[assignment]  # every form passed here defines save(actor)
    try:
        message = saving.save(request.user)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return None
    messages.success(request, message)
    return HttpResponseRedirect(next_url())
