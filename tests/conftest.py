from __future__ import annotations

import os
import tempfile

import pytest
from rest_framework.test import APIClient

from integrations.connectors import registry
from tests.connector_fixture import ParamsOnlyConnector
from tests.factories import StaffFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(available: bool, reason: str) -> None:
    """Skip when a live service is missing; under CI=true a missing service is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _params_only_connector():
    registry.register(ParamsOnlyConnector)
    yield
    registry.unregister(ParamsOnlyConnector.kind)


# Tests keep their tool tables (SQLite files) under the system's temporary directory; hub
# processes that tests start inherit the same permission through the environment.
TOOL_SQLITE_DIRS = [tempfile.gettempdir()]
os.environ.setdefault("HUB_CONNECTION_SQLITE_DIRS", ",".join(TOOL_SQLITE_DIRS))


@pytest.fixture(autouse=True)
def _tool_sqlite_dirs(settings):
    settings.HUB_CONNECTION_SQLITE_DIRS = TOOL_SQLITE_DIRS


@pytest.fixture(autouse=True)
def _storage_dir(settings, tmp_path_factory):
    """Storage's files (transfer pause, instance-lease record, hub-db.json) per test."""
    from storage import lease

    settings.HUB_DB_DIR = tmp_path_factory.mktemp("db")
    lease.forget()
    yield
    lease.forget()


@pytest.fixture(autouse=True)
def _sync_tasks(settings):
    """django-q2 tasks run inline in unit tests (Conf is read at import, so patch it)."""
    from django_q.conf import Conf

    previous = Conf.SYNC
    Conf.SYNC = True
    yield
    Conf.SYNC = previous


_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _hub_ready(request, settings, tmp_path_factory):
    """Every test runs on a "ready" hub (master password set and loaded, license applied).

    Tests that need a fresh installation use ``@pytest.mark.fresh_install``. Cheap: scrypt is
    run once per session; per test it is one row insert and an in-memory key. Tests without
    database access get only the fast scrypt setting.
    """
    from settings_app.security import vault
    from tasktop_hub import setup_gate
    from tests import ready

    settings.HUB_VAULT_SCRYPT_N = ready.TEST_SCRYPT_N
    settings.HUB_VAULT_DIR = tmp_path_factory.mktemp("vault")  # the stored master password, per test
    settings.HUB_LICENSE_TRUSTED_KEYS = ready.trusted_keys_setting()
    vault.forget()
    setup_gate.reset_cache()
    uses_db = request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(request.fixturenames)
    if uses_db and not request.node.get_closest_marker("fresh_install"):
        request.getfixturevalue("_django_db_helper")
        ready.make_vault_ready()
        ready.make_license_ready()
    yield
    vault.forget()
    setup_gate.reset_cache()


@pytest.fixture
def staff(db):
    return StaffFactory(username="admin-user")


@pytest.fixture
def user(db):
    return UserFactory(username="plain-user")


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def user_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client
