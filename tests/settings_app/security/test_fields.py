"""The encrypted field: round trip, binding to row and field, write-only roads, locked vault."""

from __future__ import annotations

import pickle

import pytest
from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import connection as db_connection

from integrations import services
from integrations.models import RepositoryConnection
from settings_app.security import vault
from settings_app.security.fields import Sealed, encrypted_fields, is_secret_set
from tests.factories import ConnectionFactory
from tests.ready import TEST_MASTER_PASSWORD

pytestmark = pytest.mark.django_db

PLANT = "tok-ZX81-very-distinctive"


def _raw(pk: int) -> str:
    with db_connection.cursor() as cur:
        cur.execute("SELECT secrets FROM integrations_repositoryconnection WHERE id = %s", [pk])
        return cur.fetchone()[0]


def test_round_trip_and_ciphertext_at_rest():
    conn = ConnectionFactory(secrets={"token": PLANT})
    raw = _raw(conn.pk)
    assert PLANT not in raw and raw.startswith("hv1.")
    fresh = RepositoryConnection.objects.get(pk=conn.pk)
    assert fresh.secrets == {"token": PLANT}
    assert fresh.secret_names == ["token"]


def test_loading_does_not_decrypt_and_untouched_secret_survives_locked_save():
    conn = ConnectionFactory(secrets={"token": PLANT})
    vault.forget()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vault, "ensure_loaded", lambda: False)
        fresh = RepositoryConnection.objects.get(pk=conn.pk)
        assert fresh.secret_names == ["token"]  # known without the key
        assert is_secret_set(fresh, "secrets")
        fresh.url = "http://elsewhere.example"
        services.save(fresh, None)  # a non-secret edit works while locked
        with pytest.raises(vault.VaultLocked):
            _ = fresh.secrets
    vault.unlock(TEST_MASTER_PASSWORD)
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": PLANT}


def test_ciphertext_swapped_between_rows_is_refused():
    a = ConnectionFactory(secrets={"token": PLANT})
    b = ConnectionFactory(secrets={"token": "other"})
    RepositoryConnection.objects.filter(pk=b.pk).update(secrets=Sealed(_raw(a.pk)))
    fresh_b = RepositoryConnection.objects.get(pk=b.pk)
    with pytest.raises(vault.SecretUnreadable, match="copied from another row"):
        _ = fresh_b.secrets


def test_tampered_ciphertext_is_refused():
    a = ConnectionFactory(secrets={"token": PLANT})
    token = _raw(a.pk)
    body = token.rsplit(".", 1)
    flipped = body[0] + "." + ("A" if body[1][5] != "A" else "B").join((body[1][:5], body[1][6:]))
    RepositoryConnection.objects.filter(pk=a.pk).update(secrets=Sealed(flipped))
    with pytest.raises(vault.SecretUnreadable):
        _ = RepositoryConnection.objects.get(pk=a.pk).secrets


def test_plain_values_cannot_reach_the_database_by_update_or_lookup():
    ConnectionFactory(secrets={"token": PLANT})
    with pytest.raises(TypeError, match="encrypted"):
        RepositoryConnection.objects.update(secrets={"token": "x"})
    with pytest.raises(TypeError, match="encrypted"):
        list(RepositoryConnection.objects.filter(secrets={"token": PLANT}))


def test_in_place_edit_is_saved():
    conn = ConnectionFactory(secrets={"token": PLANT})
    fresh = RepositoryConnection.objects.get(pk=conn.pk)
    fresh.secrets["token"] = "changed-value"
    fresh.save()
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": "changed-value"}


def test_secrets_validated_against_connector_parameters_without_echoing_values():
    conn = ConnectionFactory.build(secrets={"bogus": PLANT, "token": 42})
    with pytest.raises(ValidationError) as info:
        conn.full_clean()
    text = str(info.value.message_dict["secrets"])
    assert "bogus: Unknown parameter" in text and "token: Must be text." in text
    assert PLANT not in text


def test_export_and_pickle_carry_tokens_not_plaintext():
    conn = ConnectionFactory(secrets={"token": PLANT})
    fresh = RepositoryConnection.objects.get(pk=conn.pk)
    assert fresh.secrets["token"] == PLANT  # decrypted and cached on the instance
    dumped = serializers.serialize("json", [fresh])
    assert PLANT not in dumped and "hv1." in dumped
    assert PLANT.encode() not in pickle.dumps(fresh)
    assert pickle.loads(pickle.dumps(fresh)).secrets == {"token": PLANT}
    assert PLANT not in repr(RepositoryConnection.objects.get(pk=conn.pk).__dict__)


def test_loaddata_round_trip_keeps_the_token():
    conn = ConnectionFactory(secrets={"token": PLANT})
    dumped = serializers.serialize("json", [RepositoryConnection.objects.get(pk=conn.pk)])
    RepositoryConnection.objects.filter(pk=conn.pk).update(secrets=Sealed(""))
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {"token": PLANT}


def test_empty_secrets_need_no_vault():
    conn = ConnectionFactory()
    vault.forget()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(vault, "ensure_loaded", lambda: False)
        assert RepositoryConnection.objects.get(pk=conn.pk).secrets == {}


def test_registry_lists_connection_secrets():
    assert "integrations.repositoryconnection.secrets" in {
        f"{f.model._meta.label_lower}.{f.name}" for f in encrypted_fields()
    }
