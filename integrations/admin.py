"""The integrations' admin: connections (admin_connections.py), collections (admin_collections.py),
integrations and routes (admin_integrations.py), and here the artifact pairs."""

from __future__ import annotations

from django.contrib import admin

from integrations import admin_collections, admin_connections, admin_integrations
from integrations.admin_base import IntegrationFixedAdmin
from integrations.models import ArtifactPair
from tasktop_hub.admin_paging import LargeTableAdminMixin

__all__ = ["admin_collections", "admin_connections", "admin_integrations"]  # imported so they register their admins


@admin.register(ArtifactPair)
class ArtifactPairAdmin(LargeTableAdminMixin, IntegrationFixedAdmin):
    list_display = ["integration", "left_id", "right_id", "updated_at"]
    # By the column, not the model's ordering ("integration" sorts by the integration's name: a
    # join and a sort of every row); (integration_id, left_id) is the unique index, read in order.
    ordering = ["integration_id", "left_id"]
    list_select_related = ["integration"]
    list_filter = ["integration"]
    search_fields = ["left_id", "right_id"]
