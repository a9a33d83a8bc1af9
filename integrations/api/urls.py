from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.api import moves_views, views
from integrations.gateway import views as gateway

router = SimpleRouter(trailing_slash=True)
router.register("connections", views.ConnectionViewSet)
router.register("collections", views.CollectionViewSet)
router.register("integrations", views.IntegrationViewSet)
router.register("routes", views.RouteViewSet)
router.register("route-moves", moves_views.RouteMoveViewSet)
# Before "pairs": /pairs/import/ and /pairs/export/ are not pair ids.
router.register("pairs", moves_views.PairsTransferViewSet, basename="pairs-transfer")
router.register("pairs", views.ArtifactPairViewSet)
router.register("pending-work", views.PendingWorkViewSet)
router.register("connector-kinds", views.ConnectorKindViewSet, basename="connector-kind")

urlpatterns = [
    # Other systems POST artifacts here with the collection's token (no user session).
    path("gateway/<str:collection>/", gateway.receive, name="gateway-receive"),
    *router.urls,
]
