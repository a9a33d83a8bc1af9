"""Settings → "Move Routes" and "Import Artifact Pairs" admin pages (the seed's flow: pick the
source, the target and the routes, review, confirm "I understand…", move as a background job;
upload a pair file, see the dry run, import as a background job). Thin: integrations/moves.py,
integrations/pairs_io.py and the job kinds in integrations/jobs.py do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from integrations import moves, pairs_io
from integrations.api.moves_views import CONFIRMATION
from integrations.jobs import IMPORT_KIND, MOVE_KIND, save_upload
from integrations.models import Integration, Route
from notifications import jobs
from tasktop_hub import roles


def _require_administrator(request: HttpRequest) -> None:
    if not roles.has_role(request.user, roles.ADMINISTRATORS):
        raise PermissionDenied("Only administrators may move routes or import pairs.")


class MoveForm(forms.Form):
    source = forms.ModelChoiceField(Integration.objects.all(), label="Source integration")
    target = forms.ModelChoiceField(Integration.objects.all(), label="Target integration")
    routes = forms.ModelMultipleChoiceField(Route.objects.select_related("integration"), required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="Routes of the source integration to move.")
    swap = forms.BooleanField(required=False, label="Left and right are swapped in the target")
    confirm = forms.BooleanField(required=False, label=CONFIRMATION)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.data.get("source") if self.is_bound else None
        field = self.fields["routes"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        if source and str(source).isdigit():
            field.queryset = Route.objects.filter(integration_id=int(source))


def move_routes_view(request: HttpRequest) -> HttpResponse:
    _require_administrator(request)
    form = MoveForm(request.POST or None)
    review = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        routes = [r.pk for r in d["routes"]]
        if routes:
            try:
                review = moves.review(d["source"].pk, d["target"].pk, routes, d["swap"])
                if "_move" in request.POST and not review.problems:
                    if not d["confirm"]:
                        form.add_error("confirm", "Tick 'I understand…' to move.")
                    else:
                        job = jobs.enqueue(MOVE_KIND, {"source": d["source"].pk, "target": d["target"].pk,
                                                       "routes": routes, "swap": d["swap"]}, request.user)
                        messages.success(request, f"Moving routes: follow job {job.pk} on Activity → background "
                                                  "jobs. Review the target's configuration before running it.")
                        return HttpResponseRedirect(reverse("admin:hub-settings"))
            except ValidationError as exc:
                form.add_error(None, exc.messages)
        elif "_review" in request.POST or "_move" in request.POST:
            form.add_error("routes", "Pick one or more routes of the source integration.")
    context = {**admin.site.each_context(request), "title": "Move Routes Between Integrations", "form": form,
               "review": review.as_dict() if review else None}
    return TemplateResponse(request, "admin/integrations/move_routes.html", context)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or JSON; the layout is in docs/routes-and-pairs.md.")
    verify = forms.BooleanField(required=False, label="Verify every artifact in its tool (slower)")


def import_pairs_view(request: HttpRequest) -> HttpResponse:
    _require_administrator(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            text = data.decode("utf-8-sig")
            fmt = pairs_io.detect_format(upload.name or "", text)
            result = pairs_io.dry_run(text, fmt, verify=form.cleaned_data["verify"])
            report = result.as_dict()
            if "_import" in request.POST and result.ok:
                job = jobs.enqueue(IMPORT_KIND, {"upload": save_upload(data, fmt),
                                                 "verify": form.cleaned_data["verify"]}, request.user)
                messages.success(request, f"Importing {result.counts['add']} pair(s): follow job {job.pk} on "
                                          "Activity → background jobs.")
                return HttpResponseRedirect(reverse("admin:hub-settings"))
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text.")
        except ValidationError as exc:
            form.add_error("file", exc.messages)
    context = {**admin.site.each_context(request), "title": "Import Artifact Pair Information", "form": form,
               "report": report}
    return TemplateResponse(request, "admin/integrations/import_pairs.html", context)
