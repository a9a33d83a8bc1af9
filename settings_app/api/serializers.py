from __future__ import annotations

from typing import Any

from rest_framework import serializers

from settings_app.models import HubSettings
from tasktop_hub.api.serializers import StrictModelSerializer


class HubSettingsSerializer(StrictModelSerializer):
    updated_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = HubSettings
        fields = [
            "instance_label", "change_detection_interval", "full_scan_enabled", "full_scan_interval",
            "max_concurrency", "updated_at", "updated_by",
        ]
        read_only_fields = ["updated_at", "updated_by"]
