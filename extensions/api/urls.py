from rest_framework.routers import SimpleRouter

from extensions.api import views

router = SimpleRouter(trailing_slash=True)
router.register("extensions", views.ExtensionViewSet)

urlpatterns = router.urls
