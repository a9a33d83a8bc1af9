"""A route move under the real worker, SIGKILLed at random moments and run again.

Shared by the suite (``test_route_move_kills.py``, a few kills) and the soak script
(``bench/route_move_soak.py``, ten). The hub's database is a fresh PostgreSQL database, the
tools two ``database`` tables on PostgreSQL; the worker is ``manage.py qcluster``.

Set-up: N artifacts kept in step in both tools, their pairs imported into integration
"source" (route ALPHA), established by a run. The move of ALPHA to "target" (same
connections) is started as a background job, the worker killed after a random delay, and the
same move started again, K times; then it is let finish. After every kill the pairs are
counted: all N, each in exactly one integration (none lost, none doubled). At the end both
integrations run with edits on both sides: no artifact is created and every edit arrives.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.system.conftest import Hub
from tests.system.engine_procs import clusters_running_in, table

FIELDS = ["summary", "status", "assignee", "priority"]

CONFIGURE = """
import json, sys
from integrations.models import Collection, Integration, RepositoryConnection, Route
spec = json.loads(sys.stdin.read())
cols = []
for name, url in (("left", spec["left"]), ("right", spec["right"])):
    conn = RepositoryConnection.objects.create(name=name + "-db", kind="database", url=url,
                                               options={"table": "items", "projects": "ALPHA,BETA"})
    cols.append(Collection.objects.create(name=name + "-items", connection=conn, projects=["ALPHA", "BETA"],
                                          field_mapping={f: f for f in spec["fields"]}))
for name, project in (("source", "ALPHA"), ("target", "BETA")):
    i = Integration.objects.create(name=name, left_collection=cols[0], right_collection=cols[1],
                                   run_state="running", change_detection_interval=10, conflict_strategy="left_wins")
    Route.objects.create(integration=i, left_project=project, right_project=project)
"""

IMPORT = """
import json, sys
from integrations import pairs_io
rows = json.loads(sys.stdin.read())
text = "integration,left_connection,left_id,right_connection,right_id,left_project,right_project\\n" + "".join(
    f"source,left-db,{a},right-db,{b},ALPHA,ALPHA\\n" for a, b in rows)
report = pairs_io.dry_run(text, "csv")
assert report.ok, report.as_dict()
print(pairs_io.apply(report, None))
"""

STATE = """
import json
from integrations.models import ArtifactPair, Integration, RouteMove
from notifications.models import BackgroundJob
by = {i.name: i.pk for i in Integration.objects.all()}
print(json.dumps({
    "pairs": {n: ArtifactPair.objects.filter(integration_id=pk).count() for n, pk in by.items()},
    "left_ids": ArtifactPair.objects.values_list("left_id", flat=True).distinct().count(),
    "unestablished": ArtifactPair.objects.filter(establish_base=True).count(),
    "route_of_alpha": Integration.objects.get(routes__left_project="ALPHA").name,
    "moves": list(RouteMove.objects.values_list("status", flat=True)),
    "jobs": list(BackgroundJob.objects.filter(kind="integrations.move_routes").values_list("status", flat=True)),
    "twins": [[p.left_id, p.right_id] for p in ArtifactPair.objects.all()],
}))
"""

SET_RUN_STATE = """
import sys
from integrations.models import Integration
Integration.objects.update(run_state=sys.stdin.read().strip())
"""

START_MOVE = """
from integrations.models import Integration, Route
from notifications import jobs
src, tgt = Integration.objects.get(name="source"), Integration.objects.get(name="target")
route = Route.objects.get(left_project="ALPHA")
from django.core.exceptions import ValidationError
if route.integration_id == src.pk:
    try:
        job = jobs.enqueue("integrations.move_routes", {"source": src.pk, "target": tgt.pk, "routes": [route.pk]})
        print("queued", job.pk)
    except ValidationError as exc:  # the killed move's leases: until they expire (a zombie holder looks alive)
        print("refused", exc.messages)
else:
    print("moved already")
"""


def start_move(hub: Hub, log: Path) -> None:
    """Start (or resume) the move; refused while the killed attempt's leases have not expired."""
    wait(lambda: not shell(hub, START_MOVE).startswith("refused"), 60, "the move to be accepted again", log)


def shell(hub: Hub, code: str, stdin: str = "") -> str:
    done = hub.manage("shell", "-c", code, input=stdin)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def state(hub: Hub) -> dict:
    return json.loads(shell(hub, STATE))


def _running(worker) -> int:
    return clusters_running_in(worker.log)


def wait(predicate: Callable[[], object], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"timed out: {what}\n{log.read_text()[-4000:] if log.exists() else ''}")


def soak(hub: Hub, worker, left_url: str, right_url: str, *, pairs: int, kills: int,
         seed: int | None = None, max_delay: float = 6.0,
         report: Callable[[str], None] = lambda line: None) -> dict:
    rnd = random.Random(seed)
    for url in (left_url, right_url):
        create_work_item_table(url, "items", FIELDS)
    left = DatabaseConnector(left_url, {"table": "items"}, {})
    right = DatabaseConnector(right_url, {"table": "items"}, {})
    try:
        twins = []
        for n in range(pairs):
            values = {"summary": f"item {n}", "status": "New"}
            twins.append((left.create("ALPHA", values, hub_key="").id, right.create("ALPHA", values, hub_key="").id))
        shell(hub, CONFIGURE, json.dumps({"left": left_url, "right": right_url, "fields": FIELDS}))
        shell(hub, IMPORT, json.dumps(twins))
        worker.start()
        wait(lambda: state(hub)["unestablished"] == 0, 300, "imported pairs established", worker.log)
        worker.kill9()
        shell(hub, SET_RUN_STATE, "stopped")  # recommended before a move; runs are held off anyway
        versions = {s: {i: a.version for i, a in table(c).items()} for s, c in (("left", left), ("right", right))}
        outcomes = []
        for k in range(kills):
            start_move(hub, worker.log)
            clusters = _running(worker)
            worker.start()
            while _running(worker) == clusters:  # a random point of the worker's life, not of its start-up
                time.sleep(0.1)
            delay = rnd.uniform(0.2, max_delay)
            time.sleep(delay)
            worker.kill9()
            s = state(hub)
            # None lost, none doubled: every pair is in exactly one of the two integrations.
            assert sum(s["pairs"].values()) == pairs == s["left_ids"], s["pairs"]
            mid = s["pairs"]["target"] > 0 and s["pairs"]["source"] > 0
            line = (f"kill {k + 1} {delay:.1f} s after the cluster ran: pairs {s['pairs']}"
                    f"{' (mid-move)' if mid else ''}, moves {s['moves']}")
            outcomes.append(line)
            report(line)
        start_move(hub, worker.log)
        worker.start()
        wait(lambda: state(hub)["route_of_alpha"] == "target", 300, "the move finished", worker.log)
        s = state(hub)
        assert s["pairs"] == {"source": 0, "target": pairs}, s["pairs"]
        assert s["moves"] and set(s["moves"]) == {"done"}
        # Nothing was written to either tool by the move, and nothing created.
        assert {sd: {i: a.version for i, a in table(c).items()} for sd, c in (("left", left), ("right", right))} \
            == versions
        shell(hub, SET_RUN_STATE, "running")
        twin = dict(s["twins"])
        edited_l = rnd.sample(sorted(twin), min(20, pairs))
        edited_r = rnd.sample(sorted(twin), min(20, pairs))
        for a in edited_l:
            left.update(a, {"status": "edited on the left"})
        for a in edited_r:
            right.update(twin[a], {"priority": "edited on the right"})

        def arrived() -> bool:
            lrows, rrows = table(left), table(right)
            return all(rrows[twin[a]].fields["status"] == "edited on the left" for a in edited_l) and \
                all(lrows[a].fields["priority"] == "edited on the right" for a in edited_r)

        wait(arrived, 300, "every edit after the move arrived", worker.log)
        assert len(table(left)) == len(table(right)) == pairs  # no artifact created on either side
        return {"outcomes": outcomes, "pairs": pairs, "kills": kills}
    finally:
        worker.stop()
        left.close()
        right.close()
