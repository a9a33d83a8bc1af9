"""The integrations' admin: connections (admin_connections.py), collections (admin_collections.py),
integrations and routes (admin_integrations.py), and here the artifact pairs and gateway deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from integrations import admin_collections, admin_connections, admin_integrations
from integrations.admin_base import IntegrationFixedAdmin
from integrations.models import ArtifactPair, GatewayDelivery
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
    search_fields = ["left_id", "right_id"]
