"""Download the support and usage report: the Settings screen, ``GET /api/v1/support-report/``
(administrators; ``?job=ID`` fetches what a background report job wrote)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from notifications.models import BackgroundJob
from settings_app.support import jobs, report
from tasktop_hub.admin_forms import require_administrator
from tasktop_hub.api.permissions import IsAdministrator


def _zip_response(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def support_report_admin_view(request: HttpRequest) -> HttpResponse:
    require_administrator(request)
    return _zip_response(report.to_bytes(), report.filename())


class SupportReportView(APIView):
    """The support and usage report as a zip (administrators only)."""

    permission_classes = [IsAdministrator]

    @extend_schema(parameters=[OpenApiParameter("job", int, description="A finished support_report job's id")],
                   responses={(200, "application/zip"): bytes})
    def get(self, request: Request) -> HttpResponse | FileResponse:
        job_id = request.query_params.get("job")
        if not job_id:
            return _zip_response(report.to_bytes(), report.filename())
        job = BackgroundJob.objects.filter(pk=job_id if job_id.isdigit() else -1, kind="support_report",
                                           status=BackgroundJob.Status.SUCCEEDED).first()
        name = (job.result or {}).get("file") if job else None
        path = jobs.report_dir() / str(name) if name else None
        if path is None or not path.is_file() or path.parent != jobs.report_dir():
            raise Http404("No finished support report job with this id.")
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip")
