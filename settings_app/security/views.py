"""Admin pages for the master password: set, enter, change, reset (thin: services do the work)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from settings_app.security import master_password, vault
from tasktop_hub.admin_forms import next_url, require_administrator, run_form


def _secret_input(label: str, help_text: str = "") -> forms.CharField:
    # render_value=False: a refused form never sends the password back to the browser.
    return forms.CharField(label=label, help_text=help_text, strip=False,
                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))


class SetForm(forms.Form):
    password = _secret_input("Master password", vault.PASSWORD_RULE)
    confirmation = _secret_input("Master password (again)")

    def save(self, actor: Any) -> str:
        master_password.set_password(actor, self.cleaned_data["password"], self.cleaned_data["confirmation"])
        return "The master password is set."


class EnterForm(forms.Form):
    password = _secret_input("Current master password")

    def save(self, actor: Any) -> str:
        master_password.enter_password(actor, self.cleaned_data["password"])
        return "The master password is loaded; stored credentials can be used again."


class ChangeForm(forms.Form):
    current_password = _secret_input("Current master password")
    new_password = _secret_input("New master password", vault.PASSWORD_RULE)
    confirmation = _secret_input("New master password (again)")

    def save(self, actor: Any) -> str:
        d = self.cleaned_data
        master_password.change_password(actor, d["current_password"], d["new_password"], d["confirmation"])
        return "The master password was changed. Every stored credential stays valid."


class ResetForm(forms.Form):
    new_password = _secret_input("New master password", vault.PASSWORD_RULE)
    confirmation = _secret_input("New master password (again)")
    acknowledge = forms.BooleanField(
        label="I understand that every stored credential (repository passwords and tokens, proxy and mail passwords) "
              "is wiped and must be entered again."
    )

    def save(self, actor: Any) -> str:
        wiped = master_password.reset_password(actor, self.cleaned_data["new_password"], self.cleaned_data["confirmation"])
        return (f"The master password was reset; {len(wiped)} stored secret(s) were wiped. The Activity screen lists "
                "what must be entered again.")


PAGES: dict[str, tuple[type[forms.Form], str, str]] = {
    "set": (SetForm, "Set master password",
            "The master password encrypts every stored credential (AES-256). It is stored encrypted outside the "
            "database, in HUB_HOME, and loaded automatically at start."),
    "enter": (EnterForm, "Enter master password",
              "The stored master password is missing or wrong, so stored credentials cannot be decrypted and nothing "
              "is processed. Enter the current master password; it is stored again in HUB_HOME."),
    "change": (ChangeForm, "Change master password",
               "Changing the master password needs the current one. Stored credentials stay valid."),
    "reset": (ResetForm, "Reset master password",
              "Use this only if the master password is lost. The current password is not needed, but every stored "
              "credential is wiped and must be entered again."),
}


def master_password_view(request: HttpRequest, action: str) -> HttpResponse:
    if action not in PAGES:
        raise Http404
    require_administrator(request)
    st = master_password.status()
    if action == "set" and st.configured:
        messages.info(request, "A master password is already set; change or reset it instead.")
        return HttpResponseRedirect(next_url())
    if action != "set" and not st.configured:
        messages.info(request, "No master password is set yet; set one first.")
        return HttpResponseRedirect(reverse("hub-master-password", args=["set"]))
    form_class, title, intro = PAGES[action]
    form = form_class(request.POST or None)
    response = run_form(request, form)
    if response:
        return response
    context = {**admin.site.each_context(request), "title": title, "intro": intro, "form": form,
               "danger": action == "reset", "env_override": st.environment_override if action == "change" else None}
    return TemplateResponse(request, "admin/security/form.html", context)
