from __future__ import annotations

from typing import Any

from rest_framework import serializers

from settings_app import limits
from settings_app.models import HubSettings
from tasktop_hub.api.serializers import StrictModelSerializer


class HubSettingsSerializer(StrictModelSerializer):
    # null until someone has changed the settings (the schema says so).
    updated_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = HubSettings
        fields = [
            "instance_label", "change_detection_interval", "full_scan_enabled", "full_scan_interval",
            "max_concurrency", "updated_at", "updated_by",
        ]
        read_only_fields = ["updated_at", "updated_by"]
        extra_kwargs = limits.api_bounds("change_detection_interval", "full_scan_interval", "max_concurrency")
