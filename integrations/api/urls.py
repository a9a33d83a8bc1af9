from rest_framework.routers import DefaultRouter

from integrations.api import views

router = DefaultRouter(trailing_slash=True)
router.register("connections", views.ConnectionViewSet)
router.register("collections", views.CollectionViewSet)
router.register("integrations", views.IntegrationViewSet)
router.register("routes", views.RouteViewSet)
router.register("pairs", views.ArtifactPairViewSet)
router.register("connector-kinds", views.ConnectorKindViewSet, basename="connector-kind")

urlpatterns = router.urls
