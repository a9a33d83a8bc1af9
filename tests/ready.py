"""Putting the hub into its "ready" state cheaply, for tests (used by tests/conftest.py).

The vault key is wrapped once per session with cheap scrypt parameters; each test only inserts
the row and installs the data key in memory.
"""

from __future__ import annotations

from functools import lru_cache

from settings_app.security import vault

TEST_MASTER_PASSWORD = "test master password: correct horse"
TEST_SCRYPT_N = 2**14  # vault.MIN_SCRYPT_N: the floor; production uses 2**17


@lru_cache(maxsize=1)
def _wrapped() -> tuple[vault.WrappedKey, bytes]:
    from django.test import override_settings

    with override_settings(HUB_VAULT_SCRYPT_N=TEST_SCRYPT_N):
        return vault.new_wrapped_key(TEST_MASTER_PASSWORD)


def make_vault_ready() -> None:
    from settings_app.models import VaultKey

    record, data_key = _wrapped()
    VaultKey.objects.update_or_create(
        pk=VaultKey.SINGLETON_PK,
        defaults={"key_id": record.key_id, "wrapped_key": record.wrapped, "kdf_salt": record.salt,
                  "kdf_n": record.n, "kdf_r": record.r, "kdf_p": record.p},
    )
    vault.install(record.key_id, data_key, "entered")


@lru_cache(maxsize=1)
def issuer_key():
    """The test issuer's Ed25519 private key (one per session)."""
    from licensing import keys

    return keys.generate_private_key()


def trusted_keys_setting() -> list[str]:
    from licensing import keys

    return [keys.public_key_text(issuer_key().public_key())]


def issue_key(**overrides) -> str:
    """A license key signed by the trusted test issuer; fields overridable."""
    from datetime import date

    from licensing import keys

    fields = {"type": "Enterprise", "description": "Test license", "max_users": 1000,
              "created": date(2026, 1, 1), "expires": date(2099, 12, 31), "issuer": "Test Issuer",
              "licensee": "Test Co"}
    private_key = overrides.pop("private_key", None) or issuer_key()
    fields.update(overrides)
    return keys.issue(private_key, keys.LicenseDocument(**fields))


@lru_cache(maxsize=1)
def _fixture_license_key() -> str:
    from datetime import date

    return issue_key(max_users=1000, created=date(2026, 1, 1), expires=date(2099, 12, 31))


def make_license_ready() -> None:
    """Insert the session's license row directly (signed once per session; no Activity side effects)."""
    from datetime import date

    from licensing.models import License

    License.objects.create(
        key=_fixture_license_key(), license_id="test", license_type="Enterprise", description="Test license",
        max_users=1000, created=date(2026, 1, 1), expires=date(2099, 12, 31), issuer="Test Issuer",
        licensee="Test Co", issuer_key_id="0" * 16,
    )


SYSTEM_MASTER_PASSWORD = "system test master password 42"


def prepare_process_hub(hub) -> None:
    """Make a hub run as real processes (tests/system) "ready": master password and license.

    Uses the real commands, as an operator would: ``masterpassword set`` and ``license apply``
    with a key from the session's trusted test issuer (put into the hub's environment).
    """
    hub.env["HUB_LICENSE_TRUSTED_KEYS"] = trusted_keys_setting()[0]
    done = hub.manage("masterpassword", "set", "--password-file", "-", "--no-input", input=SYSTEM_MASTER_PASSWORD)
    assert done.returncode == 0, done.stdout + done.stderr
    done = hub.manage("license", "apply", "--file", "-", input=issue_key(licensee="System tests"))
    assert done.returncode == 0, done.stdout + done.stderr
