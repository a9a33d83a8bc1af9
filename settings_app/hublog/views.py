"""Admin page for the logging level: Troubleshooting for a duration or until a time; stop now."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from settings_app.hublog import services
from tasktop_hub.admin_forms import require_administrator


class TroubleshootForm(forms.Form):
    duration = forms.TypedChoiceField(choices=[("", "— or give an end time —"), *services.DURATIONS], coerce=int,
                                      required=False, empty_value=None, label="Troubleshoot for")
    until = forms.DateTimeField(required=False, label="Or until (UTC)", help_text="At most 24 hours from now.",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


def logging_level_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    form = TroubleshootForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        hours, until = form.cleaned_data["duration"], form.cleaned_data["until"]
        try:
            state = services.troubleshoot(request.user, until=until if hours is None else None,
                                          duration=timedelta(hours=hours) if hours is not None else None)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Logging level: {state.describe()}. Every hub process follows within seconds.")
            return HttpResponseRedirect(reverse("admin:hub-settings"))
    context = {**admin.site.each_context(request), "title": "Start Troubleshooting", "form": form,
               "intro": "Troubleshooting writes the hub's detailed (DEBUG) logs, secrets redacted, until the time you "
                        "choose — at most 24 hours — and then returns to Normal by itself.",
               }
    return TemplateResponse(request, "admin/security/form.html", context)


@require_POST
def stop_troubleshooting_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    services.normal(request.user)
    messages.success(request, "Logging level: Normal.")
    return HttpResponseRedirect(reverse("admin:hub-settings"))
