"""Admin list pages of the artifact-pair table at 100,000 rows: p50/p99 per page.

    .venv/bin/python bench/admin_lists_bench.py [N] [REPEATS] [--uncapped]
    # default 100000 rows, 30 requests per page; --uncapped: Django's own paginator and full count (before)

The hub's own database is SQLite in a temporary HUB_HOME (with DATABASE_URL set, that database).
Pairs are inserted with bulk_create on one integration; each page is requested REPEATS times
through Django's test client as a signed-in administrator (the whole admin stack, no network).
The API's offset pages are measured beside them for reference.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOME = Path(tempfile.mkdtemp(prefix="admin-lists-bench-"))
os.environ["HUB_HOME"] = str(HOME / "hub")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasktop_hub.settings")
os.environ.setdefault("HUB_LOG_LEVEL", "WARNING")
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route  # noqa: E402
from tasktop_hub import setup_gate  # noqa: E402
from tests import ready  # noqa: E402


def populate(n: int) -> Integration:
    conns = [RepositoryConnection.objects.create(name=f"{s}-conn", kind="jira",
                                                 url="http://tracker.example", options={}) for s in ("left", "right")]
    colls = [Collection.objects.create(name=f"{c.name}-items", connection=c, projects=["ALPHA"],
                                       field_mapping={"summary": "summary"}) for c in conns]
    integration = Integration.objects.create(name="bench", left_collection=colls[0], right_collection=colls[1])
    route = Route.objects.create(integration=integration, left_project="ALPHA", right_project="ALPHA")
    batch = 5000
    for start in range(0, n, batch):
        ArtifactPair.objects.bulk_create([
            ArtifactPair(integration=integration, route=route, left_id=f"L{k}", right_id=f"R{k}")
            for k in range(start, min(n, start + batch))
        ])
    return integration


def measure(client: Client, url: str, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    repeats = int(args[1]) if len(args) > 1 else 30
    if "--uncapped" in sys.argv:
        from django.contrib import admin
        from django.core.paginator import Paginator

        pair_admin = admin.site._registry[ArtifactPair]
        pair_admin.paginator = Paginator
        pair_admin.show_full_result_count = True
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    with override_settings(HUB_VAULT_SCRYPT_N=ready.TEST_SCRYPT_N, HUB_LICENSE_TRUSTED_KEYS=ready.trusted_keys_setting()):
        ready.make_vault_ready()
        ready.make_license_ready()
        setup_gate.reset_cache()
        integration = populate(n)
        admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench password 1")
        web = Client()
        web.force_login(admin)
        api = APIClient()
        api.force_authenticate(admin)
        print(f"hub database: {connection.vendor}; {ArtifactPair.objects.count():,} pairs; {repeats} requests per page"
              f"{'; uncapped (Django paginator, full count)' if '--uncapped' in sys.argv else ''}")
        pages = [
            ("admin pairs, page 1", web, "/admin/integrations/artifactpair/"),
            ("admin pairs, page 100 (last under the count cap)", web, "/admin/integrations/artifactpair/?p=99"),
            ("admin pairs, filtered by integration", web,
             f"/admin/integrations/artifactpair/?integration__id__exact={integration.pk}"),
            ("admin pairs, search", web, "/admin/integrations/artifactpair/?q=L4242"),
            ("API pairs, limit 100 offset 0", api, "/api/v1/pairs/?limit=100"),
            (f"API pairs, limit 100 offset {n - 100}", api, f"/api/v1/pairs/?limit=100&offset={n - 100}"),
        ]
        print(f"| {n:,} pairs | p50 ms | p99 ms |\n|---|---:|---:|")
        for label, client, url in pages:
            p50, p99 = measure(client, url, repeats)
            print(f"| {label} | {p50:.0f} | {p99:.0f} |", flush=True)


if __name__ == "__main__":
    main()
