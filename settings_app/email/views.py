"""Admin pages for email notifications: the settings form (Save, Test Connection, Send Test
Email — the tests run on the unsaved form values) and the on/off/delete/send-now actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from settings_app.email import digest, services
from settings_app.email.models import EmailSettings
from settings_app.security.fields import is_secret_set
from tasktop_hub.admin_forms import require_administrator


class EmailSettingsForm(forms.ModelForm):
    password = forms.CharField(
        required=False, strip=False, help_text="Optional. Left empty: the stored password is kept.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    clear_password = forms.BooleanField(required=False, label="Remove the stored password")

    class Meta:
        model = EmailSettings
        fields = list(services.FIELDS)
        widgets = {"ca_bundle": forms.Textarea(attrs={"rows": 4, "cols": 64})}

    def values(self) -> tuple[dict[str, Any], str | None]:
        data = self.cleaned_data
        password = "" if data.get("clear_password") else (data.get("password") or None)
        return {name: data.get(name) for name in services.FIELDS}, password


def email_settings_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    current = services.get()
    form = EmailSettingsForm(request.POST or None, instance=current)
    result = None
    if request.method == "POST" and form.is_valid():
        values, password = form.values()
        try:
            if "_test" in request.POST or "_send_test" in request.POST:
                result = services.test_connection(values, password, send_test_email="_send_test" in request.POST)
            else:
                services.save(request.user, values, password)
                messages.success(request, "Email notification settings saved."
                                 + ("" if current and current.enabled else " Turn notifications on to send them."))
                return HttpResponseRedirect(reverse("hub-email-settings"))
        except ValidationError as exc:
            for field, errors in (exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
    context = {**admin.site.each_context(request), "title": "Email Notifications", "form": form, "result": result,
               "current": current, "password_set": bool(current and is_secret_set(current, "password"))}
    return TemplateResponse(request, "admin/email_settings.html", context)


@require_POST
def email_action_view(request: HttpRequest, action: str) -> HttpResponse:
    require_administrator(request)
    try:
        if action in ("on", "off"):
            services.set_enabled(request.user, action == "on")
            messages.success(request, f"Email notifications turned {action}.")
        elif action == "delete":
            services.delete(request.user)
            messages.success(request, "Email notification settings deleted.")
        elif action == "send-now":
            messages.info(request, f"Digest: {digest.run(force=True)}.")
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(reverse("admin:hub-settings"))
