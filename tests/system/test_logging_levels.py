"""Troubleshooting reaches a running web server and a running worker without a restart, and stops."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.system

ENQUEUE = "from django_q.tasks import async_task; async_task('settings_app.tasks.email_digest', task_name='{name}')"
DONE = "from django_q.models import Task; print(Task.objects.filter(name='{name}').exists())"
DEBUG = re.compile(r" DEBUG (\d+) settings_app\.hublog: (web request|worker task) ")


def debug_lines(text):
    return [(m.group(2), m.group(1)) for m in DEBUG.finditer(text)]


def test_troubleshooting_switches_web_and_worker_and_reverts(running_hub):
    hub = running_hub
    log_file = hub.home / "logs" / "hub.log"
    hub.wait_for(lambda: hub.request("GET", "/api/health")[0] in (200, 503), 30, "the web server")
    assert debug_lines(log_file.read_text()) == []  # Normal: no DEBUG from either

    switched = hub.manage("logging", "troubleshoot", "--for", "1h")
    assert switched.returncode == 0 and "Troubleshooting until" in switched.stdout, switched.stderr
    start = log_file.stat().st_size

    def both_in_debug():
        hub.request("GET", "/api/health")
        hub.manage("shell", "-c", ENQUEUE.format(name=f"t-{start}"))
        kinds = {kind for kind, _ in debug_lines(log_file.read_text()[start:])}
        return kinds == {"web request", "worker task"}

    hub.wait_for(both_in_debug, 60, "DEBUG lines from the web server and the worker")
    pids = dict(debug_lines(log_file.read_text()[start:]))
    assert pids["web request"] != pids["worker task"]  # two processes, no restart in between

    reverted = hub.manage("logging", "normal")
    assert reverted.returncode == 0 and "Normal" in reverted.stdout
    # Each process re-reads the level before it logs a request or a task (the command took
    # longer than the refresh period), so nothing after this point may be DEBUG.
    after = log_file.stat().st_size
    hub.request("GET", "/api/health")
    hub.manage("shell", "-c", ENQUEUE.format(name="after"))
    hub.wait_for(lambda: "True" in hub.manage("shell", "-c", DONE.format(name="after")).stdout, 60, "a task")
    hub.request("GET", "/api/health")
    assert debug_lines(log_file.read_text()[after:]) == []
