"""SIGKILL soak of the database transfer: a real hub (gunicorn + qcluster) on SQLite, N kills.

    .venv/bin/python bench/storage_kill_soak.py --kills 10 --rows 60000

Each round starts a transfer to one PostgreSQL database through the API, waits until the job
reaches a randomly chosen phase (snapshot, schema, copy, verify; the drain is too short to hit) plus a random delay,
SIGKILLs the worker process running it, then checks: the hub still runs on the internal
database, the seeded rows are all there, the pause ends, the connection test reports partial
tables (or none) and cleanup removes them. Finally a transfer runs to the end and verifies.
The suite has a one-kill version (tests/system/test_storage_transfer.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from storage_transfer import as_input, base_env, fresh_postgres_db, manage  # noqa: E402

PHASES = ["snapshot", "creating the schema", "copying", "verifying"]
SEED = """
from notifications.models import AuditEvent
AuditEvent.objects.bulk_create([AuditEvent(action="seed", target=f"row:{n}", details={"n": n}) for n in range(%d)],
                               batch_size=5000)
"""


class Api:
    def __init__(self, base):
        self.base, self.token = base, ""

    def __call__(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode() if body is not None else None,
                                     method=method, headers={"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")


def wait(predicate, timeout, what, poll=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            pass
        time.sleep(poll)
    raise SystemExit(f"timed out: {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rows", type=int, default=60000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hub-soak-")) / "home"
    env = dict(base_env(home), HUB_ADMIN_USER="soak", HUB_ADMIN_PASSWORD="soak-Password-1234567",
               HUB_TRANSFER_DRAIN_SECONDS="1", HUB_TRANSFER_HEARTBEAT_SECONDS="3", HUB_MASTER_PASSWORD="soak master password 42")
    issuer = home.parent / "issuer.pem"
    keygen = manage(env, "license", "keygen", "--out", str(issuer))
    env["HUB_LICENSE_TRUSTED_KEYS"] = keygen.stdout.strip().splitlines()[-1]
    manage(env, "hub_setup", "--no-input")
    manage(env, "masterpassword", "set", "--from-environment", "--no-input", check=False)
    key = manage(env, "license", "issue", "--key", str(issuer), "--licensee", "Soak", "--issuer", "Soak",
                 "--max-users", "50", "--expires", "2030-12-31").stdout.strip().splitlines()[-1]
    manage(env, "license", "apply", "--file", "-", stdin=key)
    manage(env, "shell", "-c", SEED % args.rows)
    port = 18000 + random.randrange(1000)
    server = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--bind", f"127.0.0.1:{port}",
                               "--web-workers", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    api = Api(f"http://127.0.0.1:{port}")
    state_file = home / "db" / "transfer.json"
    outcomes = []
    try:
        wait(lambda: api("GET", "/api/health")[0] in (200, 503), 60, "web server")
        api.token = api("POST", "/api/v1/auth/token/", {"username": "soak", "password": "soak-Password-1234567"})[1]["token"]
        with fresh_postgres_db("soak") as url:
            target = as_input(url) | {"password": ""}
            for n in range(args.kills):
                phase = random.choice(PHASES)
                status, body = api("POST", "/api/v1/storage/transfer/", target | {"confirm": "I understand"})
                assert status == 202, body

                job = body["job"]

                def in_phase(phase=phase, job=job, n=n):
                    try:
                        state = json.loads(state_file.read_text())
                    except (FileNotFoundError, ValueError):
                        state = {}
                    if state.get("job") != job:  # the previous round's killed transfer, or none yet
                        state = {}
                    if str(state.get("phase", "")).startswith(phase):
                        return state["pid"]
                    # A short phase can be missed: then the transfer runs to its end (and the hub
                    # switches), which used to look like a hang here (300 s of waiting for the phase).
                    status = api("GET", f"/api/v1/activity/jobs/{job}/")[1].get("status") if not state else None
                    if status in ("succeeded", "failed", "cancelled"):
                        raise SystemExit(f"round {n + 1}: the transfer {status} before phase {phase!r} was seen; "
                                         "use more --rows so each phase lasts longer")
                    return None

                pid = wait(in_phase, 300, f"phase {phase}", poll=0.02)
                time.sleep(random.uniform(0, 0.2))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                wait(lambda: api("GET", "/api/v1/storage/")[1].get("transfer_running") is None, 120, "pause to end")
                st = api("GET", "/api/v1/storage/")[1]
                with sqlite3.connect(home / "db" / "hub.sqlite3") as conn:
                    seeded = conn.execute("SELECT count(*) FROM notifications_auditevent WHERE action='seed'").fetchone()[0]
                report = api("POST", "/api/v1/storage/test/", target)[1]
                # A schema migration started before the kill may still be finishing in its child.
                time.sleep(3)
                cleanup = api("POST", "/api/v1/storage/cleanup/", target)
                after = api("POST", "/api/v1/storage/test/", target)[1]["contents"]
                ok = st["vendor"] == "sqlite" and seeded == args.rows and after == "empty"
                outcomes.append(ok)
                print(f"kill {n + 1:2}: phase {phase:<20} vendor {st['vendor']}, seeded rows {seeded}, target was "
                      f"{report['contents']}, cleanup {cleanup[0]} → {after}: {'OK' if ok else 'PROBLEM'}", flush=True)
            status, body = api("POST", "/api/v1/storage/transfer/", target | {"confirm": "I understand"})
            assert status == 202, body
            job = body["job"]
            final = wait(lambda: (lambda j: j if j.get("status") in ("succeeded", "failed") else None)(
                api("GET", f"/api/v1/activity/jobs/{job}/")[1]), 600, "final transfer")
            print(f"final transfer: {final['status']}, result {final.get('result')}")
            print(f"{sum(outcomes)}/{len(outcomes)} kills left the hub whole; final transfer "
                  f"{'verified' if final.get('result', {}) and final['result'].get('verified') else 'NOT verified'}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
