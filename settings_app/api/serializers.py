from __future__ import annotations

from typing import Any

from rest_framework import serializers

from settings_app import limits, runtime
from settings_app.models import HubSettings
from tasktop_hub.api.serializers import StrictModelSerializer


class HubSettingsSerializer(StrictModelSerializer):
    # null until someone has changed the settings (the schema says so).
    updated_by: serializers.StringRelatedField[Any] = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = HubSettings
        fields = [*runtime.NAMES, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]
        extra_kwargs = {s.name: limits.bound_kwargs(s.bound) for s in runtime.SETTINGS if s.bound}
