"""Admin pages of the Storage panel: use an external database, override the instance lease."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from storage import services
from storage.forms import ExternalDatabaseForm, OverrideForm
from tasktop_hub.admin_forms import require_administrator, run_form


def external_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    if settings.HUB_DATABASE_MANAGED_BY_ENV:
        messages.info(request, "The database is managed by the environment (DATABASE_URL).")
        return HttpResponseRedirect(reverse("admin:hub-settings"))
    form = ExternalDatabaseForm(request.POST or None)
    report = None
    if request.method == "POST" and form.is_valid():
        action = form.cleaned_data["action"]
        try:
            if action == "test":
                report = services.test(form.input()).as_dict()
            elif action == "transfer":
                job = services.start_transfer(form.input(), form.confirmation(), request.user)
                messages.success(request, f"Database transfer started (background job {job.pk}); follow it on the "
                                          "Activity screen.")
                return HttpResponseRedirect(reverse("admin:hub-activity"))
            elif action == "relocate":
                services.relocate(form.input(), form.confirmation(), request.user)
                messages.success(request, "The new location reaches this hub's database; saved.")
                return HttpResponseRedirect(reverse("admin:hub-settings"))
            else:
                dropped = services.cleanup(form.input(), request.user)
                messages.success(request, f"Cleanup dropped {len(dropped)} table(s) a failed transfer had made."
                                 if dropped else "Nothing to clean up: the target holds no tables of a transfer of "
                                                 "this hub.")
                return HttpResponseRedirect(reverse("admin:hub-settings"))
        except ValidationError as exc:
            errors_by_field = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
            for field, errors in errors_by_field.items():
                form.add_error(field if field in form.fields else None, errors)
    context = {**admin.site.each_context(request), "title": "Use External Database", "form": form,
               "report": report, "transfer_warning": services.TRANSFER_WARNING,
               "relocate_warning": services.RELOCATE_WARNING}
    return TemplateResponse(request, "admin/storage/external.html", context)


def override_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    form = OverrideForm(request.POST or None)
    response = run_form(request, form)
    if response:
        return response
    context = {**admin.site.each_context(request), "title": "Override database access",
               "intro": services.OVERRIDE_WARNING, "form": form, "danger": True}
    return TemplateResponse(request, "admin/security/form.html", context)


def abort_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    if request.method == "POST":
        try:
            services.abort_transfer(request.user)
            messages.success(request, "The transfer was aborted; the hub stays on its current database.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(reverse("admin:hub-settings"))
