"""Kill a process and every descendant, whatever process group or session they put themselves in.

`manage.py serve` starts gunicorn and the cluster in their own sessions (so a terminal's Ctrl-C
reaches only serve), so `killpg` on serve's group no longer reaches them: a test's "kill -9 of the
hub" must walk the tree instead.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the command may contain spaces and parentheses
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGSTOP the whole tree first (nobody respawns or reparents mid-walk), then SIGKILL it."""
    victims = [pid, *descendants(pid)]
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for victim in victims:
            try:
                os.kill(victim, sig)
            except ProcessLookupError:
                pass
