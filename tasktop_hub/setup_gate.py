"""The first-run gate: until a master password is set and a license applied, nothing else works.

* Admin pages lead to the setup page (``/admin/setup/``); login, logout and the setup and
  security pages stay reachable.
* The API answers 503 with the hub's error shape, naming what is missing, except for setup
  (``/api/v1/security/…``, ``/api/v1/license/``), authentication (``/api/v1/auth/…``), health
  and the schema/docs.

Once both are present the hub stays "set up" (neither can be removed: a reset replaces the
master password, a license is replaced by another), so each process caches the answer and
the gate costs nothing per request afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from tasktop_hub import conditions

_ready = False

API_OPEN_PREFIXES = ("/api/health", "/api/v1/auth/", "/api/v1/security/", "/api/v1/license/", "/api/schema/",
                     "/api/docs/")
# /admin/password_change/: the user tools' "Change password" link stays reachable during setup.
ADMIN_OPEN_PREFIXES = ("/admin/login/", "/admin/logout/", "/admin/setup/", "/admin/security/", "/admin/jsi18n/",
                       "/admin/password_reset/", "/admin/password_change/")


def reset_cache() -> None:
    global _ready
    _ready = False


def missing() -> list[tuple[str, str]]:
    """What setup still needs, as (field, message) pairs; empty when the hub is set up."""
    return conditions.setup_missing()


def is_set_up() -> bool:
    global _ready
    if _ready:
        return True
    if not missing():
        _ready = True
    return _ready


class SetupGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(("/admin/", "/api/")):
            return self.get_response(request)
        if path.startswith(API_OPEN_PREFIXES + ADMIN_OPEN_PREFIXES) or is_set_up():
            return self.get_response(request)
        if path.startswith("/api/"):
            problems = missing()
            return JsonResponse(
                {
                    "detail": "Setup is not complete: " + " ".join(message for _, message in problems),
                    "errors": [{"field": field, "message": message} for field, message in problems],
                    "setup_required": [field for field, _ in problems],
                },
                status=503,
            )
        return HttpResponseRedirect(reverse("hub-setup"))


def processing_warnings(request: HttpRequest) -> dict[str, Callable[[], list[str]]]:
    """Context processor: the banner on every admin page while nothing can be processed.

    Lazy (a callable): computed only when a template shows it (templates/admin/base_site.html).
    """

    def warnings() -> list[str]:
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated and request.path_info.startswith("/admin/") and is_set_up()):
            return []
        return conditions.banner()

    return {"hub_processing_warnings": warnings}


def setup_view(request: HttpRequest) -> HttpResponse:
    """The first-run page: one section per registered setup step (master password, license), on one screen."""
    from django.contrib import admin
    from django.template.response import TemplateResponse

    from tasktop_hub import roles

    problems = dict(missing())
    if not problems:
        return HttpResponseRedirect(reverse("admin:index"))
    steps = [
        {"key": condition.key, "title": step.title, "needed": condition.key in problems, "done": step.done,
         "form": step.form_class()(), "action": step.action_url(), "submit": step.submit, "intro": step.intro,
         "commands": step.commands(),
         # Done, yet still stopping processing (a master password set but not loaded): say why and where to act.
         "note": "" if condition.key in problems else (condition.reason() or "")}
        for condition, step in conditions.setup_steps()
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Set up tasktop_hub",
        "is_admin": roles.has_role(request.user, roles.ADMINISTRATORS),
        "steps": steps,
    }
    return TemplateResponse(request, "admin/security/setup.html", context)
