"""The Activity screen's actions (full paths; included by tasktop_hub/urls.py before the admin's)."""

from django.contrib import admin
from django.urls import path

from notifications import views

urlpatterns = [
    path("admin/activity/errors/bulk/", admin.site.admin_view(views.bulk_errors_view), name="hub-activity-bulk"),
    path("admin/activity/jobs/progress/", admin.site.admin_view(views.job_progress_view),
         name="hub-activity-progress"),
    path("admin/activity/jobs/<int:pk>/cancel/", admin.site.admin_view(views.cancel_job_view),
         name="hub-activity-cancel"),
]
