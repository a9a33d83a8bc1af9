"""Each cross-setting rule has a stable id and fires on the misconfiguration it names."""

import pytest
from django.core.checks import run_checks


def _ids():
    return {m.id for m in run_checks(tags=["hub"]) if m.id.startswith("hub.")}


def test_default_configuration_passes():
    assert _ids() == set()


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"retry": 100, "timeout": 200}, "hub.E001"),
        ({"max_attempts": 0}, "hub.E002"),
        ({"ALT_CLUSTERS": None}, "hub.E003"),
        ({"cache": "missing"}, "hub.E004"),
        ({"orm": "elsewhere"}, "hub.E005"),
        ({"workers": 1}, "hub.E007"),
    ],
)
def test_task_queue_rules(settings, change, expected):
    q = dict(settings.Q_CLUSTER)
    for key, value in change.items():
        if value is None:
            q.pop(key, None)
        else:
            q[key] = value
    settings.Q_CLUSTER = q
    assert expected in _ids()


def test_locmem_cache_for_worker_stats_is_refused(settings):
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "hub.E004" in _ids()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_without_immediate_transactions_is_refused(settings):
    db = dict(settings.DATABASES["default"])
    db["OPTIONS"] = {"timeout": 5}
    settings.DATABASES = {**settings.DATABASES, "default": db}
    if db["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the rule concerns SQLite only")
    assert "hub.E006" in _ids()


def test_wildcard_hosts_warn(settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    assert "hub.W001" in _ids()
