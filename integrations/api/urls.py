from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter(trailing_slash=True)
router.register("connections", views.ConnectionViewSet)
router.register("collections", views.CollectionViewSet)
router.register("integrations", views.IntegrationViewSet)
router.register("routes", views.RouteViewSet)
router.register("pairs", views.ArtifactPairViewSet)
router.register("connector-kinds", views.ConnectorKindViewSet, basename="connector-kind")

urlpatterns = router.urls
