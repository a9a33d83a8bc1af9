"""Serializer base classes shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


class StrictFieldsMixin:
    """Refuse unknown input fields instead of silently dropping them.

    A misspelt field name that is ignored looks like success to the caller and loses the
    change, so every writable serializer of the hub rejects it with the allowed names.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = {name for name, f in self.fields.items() if not f.read_only}  # type: ignore[attr-defined]
            unknown = sorted(set(data) - known)
            if unknown:
                allowed = ", ".join(sorted(known)) or "none"
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Writable fields are: {allowed}."] for name in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A ModelSerializer that rejects unknown fields and runs the model's full_clean.

    Model validation (``clean``) holds the domain rules, so the admin and the API refuse
    the same input with the same message.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = self.instance or model()
        if self.instance is not None:
            # Validate a copy so a refused update leaves the cached instance untouched.
            instance = model.objects.get(pk=self.instance.pk)
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean(exclude=self._m2m_names())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        return attrs

    def _m2m_names(self) -> list[str]:
        return [f.name for f in self.Meta.model._meta.many_to_many]
