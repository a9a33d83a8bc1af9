"""Admin page: apply a new license (thin: licensing.services does the work)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from licensing import services
from tasktop_hub.admin_forms import require_administrator, run_form


class ApplyLicenseForm(forms.Form):
    key = forms.CharField(
        label="License key", strip=True,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "spellcheck": "false"}),
        help_text="Paste the whole key you received from your issuer; it starts with 'TTHUB1.'. Line breaks are ignored.",
    )
    issuer_public_key = forms.CharField(
        label="Issuer's public key", required=False, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80, "spellcheck": "false"}),
        help_text="The public key that came with the license key (or that license keygen printed). Needed only "
                  "while this hub does not trust the issuer yet; it is trusted only if it signed the key, and only "
                  "when the key is applied.",
    )

    def save(self, actor: Any) -> str:
        d = self.cleaned_data
        lic = services.apply_license(actor, d["key"], d["issuer_public_key"])
        return f"License applied: {lic.license_type} for {lic.licensee}, valid through {lic.expires.isoformat()}."


def apply_license_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    form = ApplyLicenseForm(request.POST or None)
    response = run_form(request, form)
    if response:
        return response
    context = {**admin.site.each_context(request), "title": "Apply new license", "form": form,
               "intro": "Applying a license replaces the current one. A refused key leaves the current license in force."}
    return TemplateResponse(request, "admin/security/form.html", context)
