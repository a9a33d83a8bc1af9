from __future__ import annotations

import pytest

from integrations.engine import clock
from tests.integrations.engine.helpers import make_rig


@pytest.fixture
def sqlite_urls(tmp_path):
    urls = []
    for name in ("left", "right"):
        path = tmp_path / f"{name}.db"
        path.touch()
        urls.append(f"sqlite:///{path}")
    return urls


@pytest.fixture
def rig(db, sqlite_urls, settings):
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    r = make_rig(*sqlite_urls)
    yield r
    r.left.close()
    r.right.close()


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.reset_clock()
