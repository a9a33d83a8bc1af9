"""The integrations' admin: connections (admin_connections.py), collections (admin_collections.py),
integrations and routes (admin_integrations.py), and here the artifact pairs and gateway deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from integrations import admin_collections, admin_connections, admin_integrations
from integrations.admin_base import IntegrationFixedAdmin
from integrations.models import ArtifactPair, GatewayDelivery, Integration
from tasktop_hub.admin_paging import LargeTableAdminMixin

__all__ = ["admin_collections", "admin_connections", "admin_integrations"]  # imported so they register their admins


@admin.register(GatewayDelivery)
class GatewayDeliveryAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    """What was POSTed to gateway collections and what became of it (read only: deliveries change
    only through the gateway and the worker)."""

    list_display = ["id", "collection", "status", "idempotency_key", "received_at", "artifact_id"]
    list_filter = ["status", "collection"]
    search_fields = ["idempotency_key", "artifact_id"]
    ordering = ["-id"]
    list_select_related = ["collection"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ArtifactPair)
class ArtifactPairAdmin(LargeTableAdminMixin, IntegrationFixedAdmin):
    list_display = ["integration", "left_id", "right_id", "updated_at"]
    # By the column, not the model's ordering ("integration" sorts by the integration's name: a
    # join and a sort of every row); (integration_id, left_id) is the unique index, read in order.
    ordering = ["integration_id", "left_id"]
    list_select_related = ["integration"]
    list_filter = ["integration"]
    search_fields = ["left_id", "right_id"]  # shows the search box; get_search_results says how it matches
    search_help_text = ("An artifact's exact id on either side (e.g. PROJ-123 or 10042), as the tool writes it: "
                        "the whole id, with its case. Narrow to one integration with the filter.")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) \
            -> tuple[QuerySet, bool]:
        """Pairs whose left or right id is the term, exactly. Django's default, a substring match of
        each word, reads every pair (0.5 s at 1,000,000 pairs: docs/benchmarks.md); an exact id is
        two lookups per integration in the unique (integration, left_id) and (integration,
        right_id) indexes, whatever the table's size. The integration ids are listed so that each
        lookup can use those indexes, which lead with the integration."""
        term = search_term.strip()
        if not term:
            return queryset, False
        integrations = list(Integration.objects.values_list("pk", flat=True))
        return queryset.filter(Q(integration_id__in=integrations, left_id=term)
                               | Q(integration_id__in=integrations, right_id=term)), False
