from rest_framework.routers import SimpleRouter

from notifications.api import views

router = SimpleRouter()
router.register("activity/errors", views.ActivityErrorViewSet)
router.register("activity/issues", views.ActivityIssueViewSet)
router.register("activity/jobs", views.BackgroundJobViewSet)
router.register("audit", views.AuditEventViewSet)

urlpatterns = router.urls
