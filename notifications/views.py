"""The Activity screen's actions: bulk retry/ignore of errors, cancel of a job, and the small
JSON the jobs tab polls for live progress. The screen itself is notifications/screen.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from notifications import jobs, services
from notifications.models import BackgroundJob
from tasktop_hub import roles

PROGRESS_MAX_IDS = 200


def _back(request: HttpRequest, tab: str) -> HttpResponseRedirect:
    """To the page the form was on (its filters and cursor), never to another site."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = f"{reverse('admin:hub-activity')}?tab={tab}"
    return HttpResponseRedirect(target)


@require_POST
def bulk_errors_view(request: HttpRequest) -> HttpResponse:
    if not roles.has_role(request.user, roles.INTEGRATORS):
        raise PermissionDenied("Retrying and ignoring errors needs the integrators or administrators role.")
    action = request.POST.get("action", "")
    raw_ids = request.POST.getlist("ids")
    if not all(raw.isdigit() for raw in raw_ids):
        messages.error(request, "The selection was not understood; select the errors again.")
        return _back(request, "errors")
    try:
        done, refused = services.bulk_error_action(action, [int(raw) for raw in raw_ids], request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _back(request, "errors")
    if done:
        messages.success(request, f"{services.BULK_ACTIONS[action][1]} {done} error(s).")
    for message in refused:
        messages.warning(request, message)
    return _back(request, "errors")


@require_POST
def cancel_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        record = jobs.cancel(pk, request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        if record.status == BackgroundJob.Status.CANCELLED:
            messages.success(request, f"'{record.title}' was cancelled before it started.")
        else:
            messages.success(request, f"Cancel requested: '{record.title}' stops at its next check, between "
                                      "two chunks of work, and shows 'Cancelled'.")
    return _back(request, "jobs")


@require_GET
def job_progress_view(request: HttpRequest) -> JsonResponse:
    """Status and progress of the jobs named in ``?ids=1,2,3`` (the jobs tab polls it every 2 s), and
    the newest job's id, so the screen can say that jobs started since it was loaded."""
    raw = [part for part in request.GET.get("ids", "").split(",") if part]
    if not all(part.isdigit() for part in raw) or len(raw) > PROGRESS_MAX_IDS:
        return JsonResponse({"detail": f"ids: up to {PROGRESS_MAX_IDS} job ids, separated by commas."}, status=400)
    found = BackgroundJob.objects.filter(pk__in=[int(part) for part in raw]).only(
        "id", "kind", "status", "progress_done", "progress_total", "cancel_requested", "started_at", "finished_at",
        "error")
    return JsonResponse({"jobs": [{
        "id": job.pk, "status": job.status, "status_label": job.get_status_display(),
        "cancel_requested": job.cancel_requested, "done": job.progress_done, "total": job.progress_total,
        "percent": job.percent, "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None, "error": job.error,
        "may_cancel": jobs.may_cancel(job, request.user),
    } for job in found], "newest": BackgroundJob.objects.order_by("-pk").values_list("pk", flat=True).first()})
