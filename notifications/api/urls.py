from rest_framework.routers import DefaultRouter

from notifications.api import views

router = DefaultRouter()
router.register("activity/errors", views.ActivityErrorViewSet)
router.register("activity/issues", views.ActivityIssueViewSet)
router.register("activity/jobs", views.BackgroundJobViewSet)

urlpatterns = router.urls
