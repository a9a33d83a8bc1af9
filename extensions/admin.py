"""Manage Extensions in the admin: an editor with line numbers, saving through the services
(compiled, versioned, audited), and the test harness (run against a sample input)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from extensions import harness, services
from extensions.models import Extension, ExtensionVersion


class CodeEditor(forms.Textarea):
    """A monospace textarea with a line-number gutter (its template holds the few lines of script)."""

    template_name = "extensions/code_editor.html"  # app templates: the form renderer finds them

    def __init__(self) -> None:
        super().__init__(attrs={"rows": 24, "cols": 100, "spellcheck": "false", "class": "hub-code"})


class ExtensionForm(forms.ModelForm):
    class Meta:
        model = Extension
        fields = ["name", "type", "description", "source"]
        widgets = {"source": CodeEditor()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and data.get("type") and data.get("source"):
            candidate = Extension(pk=self.instance.pk, name=data["name"], type=data["type"], source=data["source"],
                                  description=data.get("description", ""))
            try:
                services.check(candidate)
            except ValidationError as exc:
                self.add_error(None, exc)  # a dict names its fields (source, name, …)
        return data


class VersionInline(admin.TabularInline):
    model = ExtensionVersion
    fields = ["version", "saved_at", "saved_by"]
    readonly_fields = ["version", "saved_at", "saved_by"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    form = ExtensionForm
    list_display = ["name", "type", "version", "updated_at", "test_link"]
    list_filter = ["type"]
    search_fields = ["name", "description"]
    readonly_fields = ["version"]
    inlines = [VersionInline]

    @admin.display(description="Test harness")
    def test_link(self, obj: Extension) -> str:
        return format_html('<a href="{}">Run…</a>', reverse("admin:extensions_extension_run", args=[obj.pk]))

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        assert isinstance(obj, Extension)
        fields = {k: form.cleaned_data[k] for k in services.EDITABLE}
        if change:
            saved = services.update(request.user, Extension.objects.get(pk=obj.pk), **fields)
        else:
            saved = services.create(request.user, **fields)
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        assert isinstance(obj, Extension)
        services.delete(request.user, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            services.delete(request.user, obj)

    def get_urls(self) -> list[URLPattern]:
        run = path("<int:pk>/run/", self.admin_site.admin_view(self.run_view), name="extensions_extension_run")
        examples = path("examples/", self.admin_site.admin_view(self.examples_view), name="extensions_install_examples")
        return [run, examples, *super().get_urls()]

    def examples_view(self, request: HttpRequest) -> HttpResponse:
        """POST: install the example extensions (one per type) that are not there yet."""
        if request.method != "POST" or not self.has_add_permission(request):
            return HttpResponseNotAllowed(["POST"])
        made = services.install_examples(request.user)
        self.message_user(request, f"Installed {len(made)} example extension(s).")
        return redirect("admin:extensions_extension_changelist")

    def run_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The test harness: the output, console lines and time of one call; nothing is written."""
        ext = get_object_or_404(Extension, pk=pk)
        if not self.has_view_permission(request, ext):
            raise PermissionError
        sample = request.POST.get("input") or json.dumps(harness.SAMPLES[ext.type], indent=2)
        outcome = None
        if request.method == "POST":
            try:
                outcome = harness.run(ext, json.loads(sample))
            except (ValueError, ValidationError) as exc:
                outcome = {"ok": False, "message": getattr(exc, "message", None) or str(exc)}
        context = {**self.admin_site.each_context(request), "title": f"Test extension {ext.name}", "extension": ext,
                   "sample": sample, "outcome": outcome, "opts": self.model._meta,
                   "outcome_json": json.dumps(outcome.get("result"), indent=2) if outcome else ""}
        return TemplateResponse(request, "admin/extensions/run.html", context)
