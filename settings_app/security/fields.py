"""Encrypted model fields: every secret the hub stores goes through one of these.

Usage::

    class RepositoryConnection(VaultRow, models.Model):
        secrets = EncryptedJSONField()          # a dict of the connector's sensitive parameters

    connection.secrets                 # the decrypted dict, or raises vault.VaultLocked
    connection.secrets = {"token": "…"}; services.save(connection, actor)
    secret_names(connection, "secrets")   # which secrets are set, without decrypting

How it works:

* The column holds a vault token (``settings_app.security.vault``): AES-256-GCM under the data key, with
  ``app_label.model.field`` and the row's ``vault_uid`` as associated data. The pk is unknown
  before the first insert, so rows carry a random UUID (``VaultRow.vault_uid``) fixed at
  creation; a ciphertext copied to another row or field does not decrypt.
* Loading a row does **not** decrypt. The attribute holds a :class:`Sealed` token until it is
  read; saving a row whose secret was never read writes the same token back, so non-secret
  edits work while the vault is locked. Reading decrypts (``VaultLocked`` when no master
  password is loaded); assigning a plain value encrypts it on ``save()``.
* An empty secret is stored as ``""`` and reads back as the empty value without the vault.
* Plain values can never reach the database by another road: ``QuerySet.update()``, lookups
  and ``bulk_update`` with a plain value raise ``TypeError``. Exports (``dumpdata``) carry the
  token, never the plaintext. ``repr``/``str`` of a :class:`Sealed` never show the token.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from django.core import checks
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from settings_app.security import vault


class Sealed:
    """A stored secret not yet decrypted. Deliberately opaque in repr/str."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token or ""

    def __repr__(self) -> str:
        return "<Sealed secret>" if self.token else "<Sealed empty>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


EMPTY = Sealed("")


class Imported(Sealed):
    """A token handed over by deserialization (``loaddata``): written back as is, never decrypted."""

    __slots__ = ()


class VaultRow(models.Model):
    """Abstract base for models with encrypted fields: a per-row identity known before insert."""

    vault_uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True

    def __getstate__(self) -> dict[str, Any]:
        # A pickled row (a task payload, a cache entry) carries tokens, never decrypted secrets.
        state = super().__getstate__()
        for field in self._meta.concrete_fields:
            if isinstance(field, EncryptedField) and field.attname in state and not isinstance(state[field.attname], Sealed):
                state = dict(state)
                state[field.attname] = field.seal(self, state[field.attname])
        return state

    def clean_fields(self, exclude: Any = None) -> None:
        # Validating a secret that was never read would force a decryption (and fail while the
        # vault is locked) for nothing: an untouched token is exactly what was validated before.
        exclude = set(exclude or ())
        for field in self._meta.concrete_fields:
            if isinstance(field, EncryptedField) and isinstance(self.__dict__.get(field.attname), Sealed):
                exclude.add(field.name)
        super().clean_fields(exclude=exclude)


class _SecretAttribute(DeferredAttribute):
    field: EncryptedField
    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)  # loads a deferred column
        if isinstance(value, Sealed) and not isinstance(value, Imported):
            value = self.field.unseal(instance, value)
            # Cached on the instance so in-place edits (``conn.secrets["x"] = …``) are saved.
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


if TYPE_CHECKING:
    # A text column to the database, but the attribute holds a str or a dict (the subclass's
    # value); django-stubs would type every encrypted attribute as TextField's str.
    _Column = models.Field[Any, Any]
else:
    _Column = models.TextField


class EncryptedField(_Column):
    """Base: subclasses define how a Python value becomes bytes and back."""

    descriptor_class = _SecretAttribute
    uid_field = "vault_uid"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)  # never in a ModelForm by accident: forms are explicit
        super().__init__(*args, **kwargs)

    # -- subclass hooks --
    def empty_value(self) -> Any:
        raise NotImplementedError

    def is_empty(self, value: Any) -> bool:
        return value in (None, "", {}, [])

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def public_metadata(self, value: Any) -> bytes:
        return b""

    # -- identity --
    def context(self, instance: models.Model) -> str:
        uid = getattr(instance, self.uid_field, None)
        if not uid:
            raise ValueError(f"{self.model._meta.label_lower} has no {self.uid_field}; cannot bind its secret.")
        return f"{self.model._meta.label_lower}.{self.name}:{uid}"

    def describe(self, instance: models.Model) -> str:
        """Human label of this secret for messages (never the value)."""
        return f"{self.model._meta.verbose_name} '{instance}' — {self.verbose_name}"

    # -- sealing --
    def unseal(self, instance: models.Model, sealed: Sealed) -> Any:
        if not sealed.token:
            return self.empty_value()
        return self.decode(vault.unseal(sealed.token, self.context(instance)))

    def seal(self, instance: models.Model, value: Any) -> Sealed:
        if self.is_empty(value):
            return EMPTY
        return Sealed(vault.seal(self.encode(value), self.context(instance), self.public_metadata(value)))

    # -- Django plumbing --
    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        try:
            uid = self.model._meta.get_field(self.uid_field)
        except Exception:  # noqa: BLE001 - FieldDoesNotExist and friends
            uid = None
        if not isinstance(uid, models.UUIDField):
            errors.append(checks.Error(
                f"{self.model._meta.label}.{self.name} is encrypted but the model has no UUIDField "
                f"'{self.uid_field}'.", hint="Inherit from settings_app.security.fields.VaultRow.", obj=self, id="hub.E101",
            ))
        return errors

    def get_default(self) -> Any:
        # A new row's secret starts empty (as a plain value: assigning it needs no vault).
        return self.empty_value()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Sealed:
        return Sealed(value or "")

    def to_python(self, value: Any) -> Any:
        # Only deserialization (loaddata) hands us a raw string: it is a token.
        if isinstance(value, str) and (value == "" or value.startswith(vault.TOKEN_PREFIX + ".")):
            return Imported(value)
        return value

    def pre_save(self, model_instance: models.Model, add: bool) -> Sealed:
        value = model_instance.__dict__.get(self.attname, EMPTY)
        if isinstance(value, Sealed):
            return value  # never read, or read-only access: the same token goes back
        return self.seal(model_instance, value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.token
        if self.is_empty(value):
            return ""  # nothing secret in "no secret" (column defaults in migrations, wipes)
        raise TypeError(
            f"{self.model._meta.label}.{self.name} is encrypted: assign the value on the instance and call save(); "
            "it cannot be written with QuerySet.update() or used in a lookup."
        )

    def value_from_object(self, obj: models.Model) -> Any:
        # Forms, model_to_dict and serializers see the token, never the plaintext.
        value = obj.__dict__.get(self.attname, EMPTY)
        if not isinstance(value, Sealed):
            value = self.seal(obj, value)
            obj.__dict__[self.attname] = value
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return self.value_from_object(obj).token

    def formfield(self, **kwargs: Any) -> None:
        return None  # secrets are edited through dedicated write-only inputs only


class EncryptedTextField(EncryptedField):
    """One secret string (a password, a token)."""


    def empty_value(self) -> str:
        return ""

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"{self.model._meta.label}.{self.name} holds text.")
        return value.encode("utf-8")

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8")


class EncryptedJSONField(EncryptedField):
    """A dict of named secrets (a connector's sensitive parameters). Names travel in clear."""


    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def empty_value(self) -> dict:
        return {}

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, dict):
            raise TypeError(f"{self.model._meta.label}.{self.name} holds an object of named secrets.")
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")

    def decode(self, data: bytes) -> dict:
        return json.loads(data)

    def public_metadata(self, value: Any) -> bytes:
        # The names of the set secrets (authenticated, never the values) so "which are set" can
        # be shown while the vault is locked.
        return json.dumps(sorted(k for k, v in value.items() if v not in (None, ""))).encode()


def _encrypted_field(instance: models.Model, field_name: str) -> EncryptedField:
    field = instance._meta.get_field(field_name)
    if not isinstance(field, EncryptedField):
        raise TypeError(f"{instance._meta.label}.{field_name} is not an encrypted field.")
    return field


def secret_names(instance: models.Model, field_name: str) -> list[str]:
    """Names of the secrets set in an EncryptedJSONField, without decrypting."""
    field = _encrypted_field(instance, field_name)
    value = instance.__dict__.get(field.attname, EMPTY)
    if isinstance(value, Sealed):
        if not value.token:
            return []
        try:
            names = json.loads(vault.parse_public(value.token) or b"[]")
        except ValueError:
            return []
        return [str(n) for n in names] if isinstance(names, list) else []
    return sorted(k for k, v in (value or {}).items() if v not in (None, ""))


def is_secret_set(instance: models.Model, field_name: str) -> bool:
    """Whether an encrypted field holds a value, without decrypting."""
    field = _encrypted_field(instance, field_name)
    value = instance.__dict__.get(field.attname, EMPTY)
    if isinstance(value, Sealed):
        return bool(value.token)
    return not field.is_empty(value)


def encrypted_fields() -> list[EncryptedField]:
    """Every encrypted field of every installed model (reset, leak test, docs)."""
    from django.apps import apps

    return [f for model in apps.get_models() for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
