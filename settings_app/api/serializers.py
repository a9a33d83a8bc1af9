from __future__ import annotations

from typing import Any

from rest_framework import serializers

from settings_app import runtime
from settings_app.models import HubSettings
from tasktop_hub.api.serializers import StrictModelSerializer


class HubSettingsSerializer(StrictModelSerializer):
    updated_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta:
        model = HubSettings
        fields = [*runtime.NAMES, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]
