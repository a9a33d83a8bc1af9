from django.contrib import admin
from django.urls import path

from settings_app.support.views import SupportReportView, support_report_admin_view

urlpatterns = [
    path("admin/settings/support-report/", admin.site.admin_view(support_report_admin_view), name="hub-support-report"),
    path("api/v1/support-report/", SupportReportView.as_view(), name="support-report"),
]
