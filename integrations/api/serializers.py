from __future__ import annotations

from rest_framework import serializers

from integrations.models import ArtifactPair, Collection, Integration, PendingWork, RepositoryConnection, Route
from settings_app import limits
from settings_app.security.secret_inputs import SecretsPatchField, WriteOnlySecretsMixin
from tasktop_hub.api.serializers import StrictModelSerializer


class ConnectionSerializer(WriteOnlySecretsMixin, StrictModelSerializer):
    kind = serializers.CharField(
        max_length=50, help_text="A connector kind; GET /api/v1/connector-kinds/ lists them."
    )
    # An object, or a 400 (not a TypeError inside the connector's option cleaning).
    options = serializers.DictField(required=False, help_text="The connector's parameters that are not secret.")
    # Write-only secrets (settings_app/security/secret_inputs.py): values in, names of the set ones out.
    secrets = SecretsPatchField()
    secrets_set = serializers.SerializerMethodField(help_text="Names of the secrets that are set (never values).")

    class Meta:
        model = RepositoryConnection
        fields = [
            "id", "name", "kind", "url", "options", "secrets", "secrets_set", "change_detection_interval",
            "full_scan_enabled", "full_scan_interval", "successor_of", "status", "status_message", "status_checked_at",
            "created_at", "updated_at",
        ]
        read_only_fields = ["status", "status_message", "status_checked_at", "created_at", "updated_at"]
        extra_kwargs = limits.api_bounds("change_detection_interval", "full_scan_interval")


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    problem = serializers.ChoiceField(
        choices=["", "unreachable", "tls", "authentication", "permissions", "locked", "failed"],
        help_text="What failed; empty when the test passed.")
    message = serializers.CharField(help_text="In words: what the tool answered, or what failed.")
    checked_at = serializers.DateTimeField()


class CollectionSerializer(StrictModelSerializer):
    class Meta:
        model = Collection
        fields = [
            "id", "name", "connection", "projects", "field_mapping", "person_strategy",
            "default_person", "transitions", "field_roles", "value_mappings", "field_extensions",
            "person_extension", "state_extension", "payload_extension", "gateway_match_field", "gateway_rate_limit",
            "gateway_token_set_at", "created_at", "updated_at",
        ]
        # The token is set only by POST …/gateway-token/ (shown once); its digest never leaves the hub.
        read_only_fields = ["gateway_token_set_at", "created_at", "updated_at"]


class GatewayTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The new gateway token, shown this once (only its digest is stored).")
    url = serializers.CharField(help_text="Where the sender POSTs, relative to the hub.")


class IntegrationSerializer(StrictModelSerializer):
    class Meta:
        model = Integration
        fields = [
            "id", "name", "template", "left_collection", "right_collection", "run_state", "field_flow",
            "conflict_strategy", "conflict_overrides", "change_detection_interval", "full_scan_enabled",
            "full_scan_interval", "created_at", "updated_at",
        ]
        # Run state changes through the run/stop actions, which gate on license and audit.
        read_only_fields = ["run_state", "created_at", "updated_at"]
        extra_kwargs = limits.api_bounds("change_detection_interval", "full_scan_interval")


class RouteSerializer(StrictModelSerializer):
    class Meta:
        model = Route
        fields = ["id", "integration", "left_project", "right_project", "created_at"]
        read_only_fields = ["created_at"]

    def validate_integration(self, value: Integration) -> Integration:
        # Set once, at creation: a route changes integration only through the move (moves.py).
        if self.instance is not None and value.pk != self.instance.integration_id:
            raise serializers.ValidationError(
                "A route's integration cannot be edited: move the route (POST /api/v1/route-moves/), "
                "which moves its pairs, pending work and errors with it.")
        return value


class ArtifactPairSerializer(StrictModelSerializer):
    class Meta:
        model = ArtifactPair
        fields = [
            "id", "integration", "route", "left_id", "right_id", "base", "left_version", "right_version",
            "establish_base", "created_at", "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class PendingWorkSerializer(serializers.ModelSerializer):
    class Meta:
        model = PendingWork
        fields = ["id", "integration", "side", "artifact_id", "project", "status", "detected_at", "not_before",
                  "attempts", "last_error"]
        read_only_fields = fields


class EffectiveSettingsSerializer(serializers.Serializer):
    change_detection_interval = serializers.IntegerField()
    change_detection_source = serializers.CharField()
    full_scan_interval = serializers.IntegerField(allow_null=True)
    full_scan_source = serializers.CharField()
    max_concurrency = serializers.IntegerField()


class ConnectorKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    # A field named like a DRF Field attribute: DRF reads declared fields, the stubs see the attribute.
    label = serializers.CharField()  # type: ignore[assignment]
    parameters = serializers.ListField(child=serializers.DictField())
