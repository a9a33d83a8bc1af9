"""Regenerate docs/screenshots/: start a hub on a throwaway HUB_HOME, fill it with demo data through
its own commands and API, and photograph every screen with Debian's chromium (Playwright).

    make screenshots                      # or: .venv/bin/python tools/screenshots.py [--out DIR]

Nothing of the caller's hub is touched: the hub runs with its own HUB_HOME, database and port,
and is stopped (its whole process group) at the end. The demo data: two database-table
connections (SQLite files in the temporary directory), their collections, an integration with a
route that has synchronized a few rows, a gateway collection, a conflict on Activity, background jobs, the example
extensions, email notification settings. PNGs are 1280 px wide; `pngquant` and `optipng` shrink
them when installed (apt-get install pngquant optipng).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ADMIN, PASSWORD = "admin", "correct horse battery staple"
MASTER_PASSWORD = "demo master password for screenshots"
VIEWPORT = {"width": 1280, "height": 800}

# (file name, caption, path, what to do before the photograph or None, full page)
Shot = tuple[str, str, str, Callable[[Any], None] | None, bool]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A hub of its own: HUB_HOME, tool tables and port in a temporary directory."""

    def __init__(self, workdir: Path) -> None:
        self.home = workdir / "home"
        self.tools = workdir / "tools"
        self.tools.mkdir(parents=True)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_")) and k != "DATABASE_URL"}
        env.update(HUB_HOME=str(self.home), HUB_CONNECTION_SQLITE_DIRS=str(self.tools), HUB_ADMIN_USER=ADMIN,
                   HUB_ADMIN_PASSWORD=PASSWORD, HUB_BIND=f"127.0.0.1:{self.port}", HUB_WEB_WORKERS="2")
        self.env = env
        self.server: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()

    def manage(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        self.manage("hub_setup", "--no-input")
        log = open(self.home / "serve.log", "wb")
        self.server = subprocess.Popen([sys.executable, "manage.py", "serve"], cwd=ROOT, env=self.env,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait(lambda: requests.get(f"{self.base}/admin/login/", timeout=5).status_code == 200, "the web server")

    def stop(self) -> None:
        if self.server is None:
            return
        try:
            os.killpg(self.server.pid, signal.SIGTERM)  # serve stops its web server and cluster
            self.server.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.server.pid, signal.SIGKILL)

    @staticmethod
    def wait(ready: Callable[[], bool], what: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit(f"Timed out waiting for {what}.")

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        r = self.session.request(method, f"{self.base}/api/v1/{path}", json=body, timeout=60)
        if r.status_code >= 400:
            raise SystemExit(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _write_rows(db: Path, rows: list[tuple[str, str, str]]) -> None:
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO items (project, summary, status, updated_at) VALUES (?, ?, ?, ?)",
                         [(p, s, st, _now()) for p, s, st in rows])


def set_up(hub: Hub) -> None:
    """The first start, as the README tells it: master password, then a license from our own issuer."""
    hub.manage("masterpassword", "set", "--password-file", "-", "--no-input", stdin=MASTER_PASSWORD + "\n")
    issuer = hub.home / "issuer.pem"
    hub.manage("license", "keygen", "--out", str(issuer))
    hub.manage("license", "issue", "--key", str(issuer), "--licensee", "Example Corp", "--issuer", "Example IT",
               "--description", "Demo license for the screenshots", "--max-users", "25", "--expires", "2030-12-31",
               "--apply")
    hub.manage("hub_settings", "set", "--instance-label", "Demo", "--change-detection-interval", "10")


def seed(hub: Hub) -> None:
    """Connections, collections, an integration that has synchronized, Activity, extensions, email."""
    token = requests.post(f"{hub.base}/api/v1/auth/token/", json={"username": ADMIN, "password": PASSWORD},
                          timeout=30).json()["token"]
    hub.session.headers["Authorization"] = f"Token {token}"
    hub.manage("shell", "-c", (
        "from integrations.connectors.database.schema import create_work_item_table\n"
        f"for name in ('team-a.db', 'team-b.db'):\n"
        f"    path = '{hub.tools}/' + name; open(path, 'a').close()\n"
        "    create_work_item_table(f'sqlite:///{path}', 'items', ['summary', 'status'])\n"))
    a, b = hub.tools / "team-a.db", hub.tools / "team-b.db"
    _write_rows(a, [("ALPHA", "Login fails on Safari", "open"), ("ALPHA", "Export to CSV drops accents", "open"),
                    ("ALPHA", "Dark mode for the dashboard", "in progress")])
    _write_rows(b, [("ALPHA", "Slow search on large projects", "open")])
    conns = [hub.api("POST", "connections/", {"name": name, "kind": "database", "url": f"sqlite:///{db}",
                                              "options": {"table": "items", "projects": "ALPHA"}})
             for name, db in (("Team A tracker", a), ("Team B tracker", b))]
    for c in conns:
        hub.api("POST", f"connections/{c['id']}/test/")
    cols = [hub.api("POST", "collections/", {"name": name, "connection": c["id"], "projects": ["ALPHA"],
                                             "field_mapping": {"summary": "summary", "status": "status"}})
            for name, c in (("Team A items", conns[0]), ("Team B items", conns[1]))]
    integration = hub.api("POST", "integrations/", {"name": "Team A and Team B in step", "template": "synchronize",
                                                    "left_collection": cols[0]["id"], "right_collection": cols[1]["id"]})
    hub.api("POST", "routes/", {"integration": integration["id"], "left_project": "ALPHA", "right_project": "ALPHA"})
    hub.api("POST", f"integrations/{integration['id']}/run/")
    hub.wait(lambda: hub.api("GET", "pairs/?limit=10")["results"].__len__() >= 4, "the first synchronization")
    # A conflict (both sides changed the same field) and a full scan, for Activity.
    for db, text in ((a, "Login fails on Safari 17"), (b, "Login fails on Safari and Firefox")):
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE items SET summary = ?, updated_at = ? WHERE summary = 'Login fails on Safari'",
                         (text, _now()))
    hub.wait(lambda: hub.api("GET", "activity/errors/?limit=1")["results"] != [], "the conflict on Activity")
    gateway = hub.api("POST", "connections/", {"name": "Monitoring alerts", "kind": "gateway"})
    hub.api("POST", "collections/", {"name": "Alerts", "connection": gateway["id"], "projects": ["ALERTS"],
                                     "field_mapping": {"summary": "summary", "status": "status"}})
    hub.api("POST", f"integrations/{integration['id']}/full-scan/")
    hub.api("POST", "activity/jobs/", {"kind": "support_report"})
    hub.manage("extensions", "examples")
    hub.manage("notifications", "set", "--to", "ops@example.com", "--from", "hub@example.com",
               "--server-url", hub.base, "--host", "smtp.example.com", "--protocol", "SMTP_STARTTLS")
    hub.wait(lambda: all(j["status"] in ("succeeded", "failed") for j in hub.api("GET", "activity/jobs/")["results"]),
             "the background jobs")
    hub.manage("hub_settings", "set", "--change-detection-interval", "60")  # the screens show the default


def _first_link(selector: str) -> Callable[[Any], None]:
    def go(page: Any) -> None:
        page.locator(selector).first.click()
        page.wait_for_load_state("load")
    return go


SHOTS: list[Shot] = [
    ("admin-home.png", "The admin home: Settings, Activity and the API, then the lists by app", "/admin/", None, False),
    ("settings.png", "The Settings screen (top)", "/admin/settings/", None, False),
    ("settings-configuration-form.png", "Configuration: the polling and concurrency form",
     "/admin/settings_app/hubsettings/", None, False),
    ("settings-email.png", "Email Notifications: server and notification settings", "/admin/settings/email/", None, True),
    ("settings-logging.png", "Logging: Troubleshooting for a while", "/admin/settings/logging/", None, False),
    ("settings-license-apply.png", "License: apply a new key", "/admin/security/license/apply/", None, False),
    ("settings-master-password-change.png", "Master password: change", "/admin/security/master-password/change/",
     None, False),
    ("settings-move-routes.png", "Move routes between integrations", "/admin/settings/move-routes/", None, False),
    ("settings-import-pairs.png", "Import artifact pairs", "/admin/settings/import-pairs/", None, False),
    ("settings-storage.png", "Storage: use an external database", "/admin/storage/external/", None, False),
    ("activity-errors.png", "Activity: errors", "/admin/activity/?tab=errors", None, False),
    ("activity-issues.png", "Activity: issues", "/admin/activity/?tab=issues", None, False),
    ("activity-jobs.png", "Activity: background jobs", "/admin/activity/?tab=jobs", None, False),
    ("background-job.png", "A background job: progress and log", "/admin/activity/?tab=jobs",
     _first_link("#content table a[href*='/backgroundjob/']"), False),
    ("connections.png", "Repository connections", "/admin/integrations/repositoryconnection/", None, False),
    ("connection.png", "A repository connection", "/admin/integrations/repositoryconnection/",
     _first_link("#result_list tbody a"), False),
    ("collections.png", "Collections (a gateway collection among them)", "/admin/integrations/collection/", None,
     False),
    ("collection.png", "A collection", "/admin/integrations/collection/", _first_link("#result_list tbody a"), False),
    ("integrations.png", "Integrations", "/admin/integrations/integration/", None, False),
    ("integration.png", "An integration", "/admin/integrations/integration/", _first_link("#result_list tbody a"),
     False),
    ("artifact-pairs.png", "Artifact pairs", "/admin/integrations/artifactpair/", None, False),
    ("extensions.png", "Extensions", "/admin/extensions/extension/", None, False),
    ("extension.png", "An extension in the editor", "/admin/extensions/extension/",
     _first_link("#result_list tbody a"), False),
    ("audit-events.png", "The audit trail", "/admin/notifications/auditevent/", None, False),
    ("api-docs.png", "The API in Swagger UI (served by the hub)", "/api/docs/",
     lambda page: page.wait_for_selector(".swagger-ui .opblock"), False),
]


def _optimise(paths: list[Path]) -> str:
    done = []
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality", "75-95", "--ext", ".png",
                        *map(str, paths)], check=False)
        done.append("pngquant")
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o1", *map(str, paths)], check=True)
        done.append("optipng")
    return " + ".join(done) or "not optimised (install pngquant, optipng)"


def photograph(hub: Hub, out: Path, skipped: list[str]) -> list[tuple[str, str]]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    taken: list[tuple[str, str]] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=VIEWPORT)
        page.on("request", lambda r: None if r.url.startswith((hub.base, "data:")) else outside.append(r.url))
        page.goto(f"{hub.base}/admin/login/")
        page.screenshot(path=str(out / "login.png"))
        taken.append(("login.png", "Sign in"))
        page.fill("#id_username", ADMIN)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{hub.base}/admin/")
        # The admin's navigation sidebar closed (its own toggle, kept in localStorage): more of each screen shows.
        page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        for name, caption, path, before, full in SHOTS:
            try:
                page.goto(hub.base + path, wait_until="networkidle")
                if before:
                    before(page)
                page.screenshot(path=str(out / name), full_page=full)
                taken.append((name, caption))
            except PlaywrightError as exc:  # a screen changed under the script: the others still get taken
                skipped.append(f"{name}: {str(exc).splitlines()[0]}")
        # Each panel of the Settings screen on its own.
        page.goto(f"{hub.base}/admin/settings/")
        for panel in page.locator("section.hub-panel").all():
            key = (panel.get_attribute("id") or "").removeprefix("panel-")
            title = panel.locator("h2").first.inner_text() if panel.locator("h2").count() else key
            name = f"panel-{key.replace('_', '-')}.png"
            panel.screenshot(path=str(out / name))
            taken.append((name, f"Settings → {title}"))
        browser.close()
    if outside:
        raise SystemExit(f"Pages made requests outside the hub: {outside}")
    return taken


def _setup_page(hub: Hub, out: Path) -> None:
    """The first-run page, photographed before the master password and license are set."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{hub.base}/admin/login/")
        page.fill("#id_username", ADMIN)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / "setup.png"), full_page=True)
        browser.close()


def _index(out: Path, taken: list[tuple[str, str]], optimised: str) -> None:
    lines = ["# Screenshots", "",
             "Generated by `make screenshots` (`tools/screenshots.py`): a hub on a throwaway `HUB_HOME` with demo",
             "data, photographed with Debian's chromium at 1280×800. Do not edit by hand; run the command again",
             f"after changing a screen. PNGs {optimised}.", "",
             "| Screen | File |", "|---|---|"]
    lines += [f"| {caption} | [{name}]({name}) |" for name, caption in taken]
    (out / "README.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hub-screenshots-") as tmp:
        hub = Hub(Path(tmp))
        try:
            hub.start()
            _setup_page(hub, out)
            set_up(hub)
            seed(hub)
            taken = [("setup.png", "First start: the setup page (master password, license)"),
                     *photograph(hub, out, skipped)]
        finally:
            hub.stop()
    shots = sorted(out.glob("*.png"))
    optimised = _optimise(shots)
    _index(out, taken, optimised)
    total = sum(p.stat().st_size for p in shots)
    print(f"{len(shots)} screenshots in {out} ({total // 1024} KiB; {optimised}).")
    if skipped:
        raise SystemExit("Not taken (fix the script's selector for the changed screen):\n  " + "\n  ".join(skipped))


if __name__ == "__main__":
    main()
