"""Serializer base classes shared by the apps' APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import serializers

if TYPE_CHECKING:  # the mixin's host, for the type checker only
    _SerializerBase = serializers.Serializer
else:
    _SerializerBase = object


class StrictFieldsMixin(_SerializerBase):
    """Refuse unknown input fields instead of silently dropping them.

    A misspelt field name that is ignored looks like success to the caller and loses the
    change, so every writable serializer of the hub rejects it with the allowed names.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                allowed = ", ".join(sorted(known)) or "none"
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Writable fields are: {allowed}."] for name in unknown}
                )
            wrong = {name: [problem] for name, value in data.items()
                     if (problem := json_type_problem(self.fields[name], value))}
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def json_type_problem(field: serializers.Field, value: Any) -> str:
    """The JSON type the schema states for ``field``, enforced: DRF would coerce ``5`` to
    ``"5"``, ``"10"`` to ``10`` and ``"yes"`` to ``True``, accepting what the schema refuses."""
    if value is None:
        return ""  # null: the field's own allow_null decides
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        return next((p for item in value if (p := json_type_problem(field.child, item))), "")
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be a valid boolean (true or false)."
    if isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField) and (
            isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))):
        return "A valid integer is required."
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return "Not a valid string."
    return ""


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A ModelSerializer that rejects unknown fields and runs the model's full_clean.

    Model validation (``clean``) holds the domain rules, so the admin and the API refuse
    the same input with the same message.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model: type[Model] = self.Meta.model
        instance = self.instance or model()
        if self.instance is not None:
            # Validate a copy so a refused update leaves the cached instance untouched.
            instance = model._default_manager.get(pk=self.instance.pk)
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean(exclude=self._m2m_names())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        return attrs

    def _m2m_names(self) -> list[str]:
        model: type[Model] = self.Meta.model
        return [f.name for f in model._meta.many_to_many]
