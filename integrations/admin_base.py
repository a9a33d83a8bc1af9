"""What the integrations' admin pages share: saving through the services, and the add pages that
ask one question first (a connection's connector kind, a collection's connection, an
integration's two collections), because the rest of the form depends on the answer.

The first step is a plain GET form, so the pages work without JavaScript: its answer comes back
as query parameters, the add form then carries it in hidden inputs (``ChosenInput``) and shows it
as text with a link back to the question.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from integrations import services


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through integrations.services so the admin is validated and audited."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        services.save(obj, request.user, {name: True for name in form.changed_data} if change else None)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.delete(obj, request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            services.delete(obj, request.user)


class IntegrationFixedAdmin(ServiceAdmin):
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # An existing route (or pair) changes integration only through Settings → Move Routes,
        # which carries its pairs, pending work and errors along (integrations/moves.py).
        return [*super().get_readonly_fields(request, obj), *(["integration"] if obj is not None else [])]


class ChosenInput(forms.HiddenInput):
    """A choice made on the first step: sent back hidden, shown as its label with a way to change it."""

    def __init__(self, labels: dict[str, str], change_url: str) -> None:
        super().__init__()
        self.labels, self.change_url = labels, change_url

    @property
    def is_hidden(self) -> bool:
        return False  # shown (as text): the admin leaves out the rows of hidden inputs

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        hidden = super().render(name, value, attrs, renderer)
        label = self.labels.get(str(value), str(value or "—"))
        # One inline element: the admin lays a row's children out as flex items, which drops the space.
        return format_html('{}<span><strong class="hub-chosen">{}</strong> — <a href="{}">change</a></span>', hidden,
                           label, self.change_url)


class FirstStepAdminMixin(admin.ModelAdmin):
    """An add page that first asks ``first_step_form``'s question (a GET form), then shows the form
    built for the answer. The answer travels in the query string and then in the form's hidden inputs."""

    first_step_form: type[forms.Form]
    first_step_intro: str = ""

    def first_step_answer(self, request: HttpRequest) -> dict[str, Any] | None:
        """The first step's cleaned answer from the POSTed form or the query string; None if unanswered."""
        names = list(self.first_step_form.base_fields)
        source = request.POST if request.method == "POST" and all(n in request.POST for n in names) else request.GET
        if not any(n in source for n in names):
            return None
        step = self.first_step_form({n: source.get(n) for n in names})
        return step.cleaned_data if step.is_valid() else None

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) \
            -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        again = request.method == "GET" and "_step" in request.GET  # "change" on the form: ask again
        if again or self.first_step_answer(request) is None:
            names = list(self.first_step_form.base_fields)
            if again or not any(n in request.GET for n in names):
                step = self.first_step_form(initial={n: request.GET.get(n) for n in names if request.GET.get(n)})
            else:
                step = self.first_step_form(request.GET)  # answered wrongly: say why
            opts = self.model._meta
            # A question with nothing to choose from says what to create first.
            missing = [f.label for f in step.fields.values()
                       if isinstance(f, forms.ModelChoiceField) and f.queryset is not None and not f.queryset.exists()]
            context = {
                **self.admin_site.each_context(request),
                "title": f"Add {opts.verbose_name}", "opts": opts, "step": step, "intro": self.first_step_intro,
                "nothing_to_choose": [f"There is nothing to choose as {str(label).lower()} yet: add one first."
                                      for label in missing],
                "has_view_permission": self.has_view_permission(request),
            }
            return TemplateResponse(request, "admin/integrations/first_step.html", context)
        return super().add_view(request, form_url, extra_context)

    def step_url(self, request: HttpRequest) -> str:
        """The first step again, with the current answer filled in."""
        answer = {k: request.POST.get(k) or request.GET.get(k) or "" for k in self.first_step_form.base_fields}
        return f"{request.path}?{urlencode({**answer, '_step': '1'})}"
