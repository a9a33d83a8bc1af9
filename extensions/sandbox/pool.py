"""A small pool of long-lived sandbox children, shared safely by the engine's threads.

Each child is ``python -I extensions/sandbox/child.py`` with address-space, core and file limits;
it runs one call at a time in a fresh quickjs-ng context. A call takes an idle child from a
queue, so threads never share a context. A child that overruns its wall-clock budget, dies or
answers garbage is killed and replaced before the next call; the call fails with a clear reason.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("child.py")
# Over the script's own limit (CPU seconds, enforced by quickjs) before the parent kills the child.
# Generous: on a busy machine one CPU second can take several wall-clock seconds.
GRACE_SECONDS = 10.0


@dataclass
class Result:
    ok: bool
    result: Any = None
    kind: str = ""  # error kind: error | time | memory | stack | output | crash
    message: str = ""
    line: int | None = None
    logs: list[str] = field(default_factory=list)
    ms: float = 0.0
    undefined: bool = False
    step: int = 0  # of a chained call, the step that failed (or the last one)


@dataclass
class Call:
    """One call of a batch: ``steps`` are scripts run in turn, each in its own fresh context, a
    later one receiving the previous one's result as its first argument."""

    steps: list[str]
    entry: str | None
    args: list[Any]
    twice: bool = False


class _Child:
    def __init__(self) -> None:
        # -I: isolated mode (no PYTHONPATH, no user site, no current directory on sys.path).
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(CHILD)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.to_child, self.from_child = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        # Non-blocking writes: a request larger than the pipe to a child that stopped reading
        # must run into the deadline, not block the calling thread for ever.
        os.set_blocking(self.to_child, False)
        self.poller = select.poll()
        self.rest = b""  # bytes read past the last answer (none: one answer per request)

    def _wait(self, fd: int, event: int, deadline: float) -> None:
        self.poller.register(fd, event)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                if self.poller.poll(left * 1000):
                    return
        finally:
            self.poller.unregister(fd)

    def call(self, request: dict, timeout: float) -> dict:
        """Send one request line and read one answer line, within ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        out = memoryview(json.dumps(request).encode() + b"\n")
        while out:
            try:
                out = out[os.write(self.to_child, out):]
            except BlockingIOError:
                self._wait(self.to_child, select.POLLOUT, deadline)
        chunks, chunk = [], self.rest
        while (end := chunk.find(b"\n")) < 0:
            chunks.append(chunk)
            self._wait(self.from_child, select.POLLIN, deadline)
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise EOFError
        chunks.append(chunk[:end])  # only the new chunk is searched: a large answer stays linear
        self.rest = chunk[end + 1:]
        return json.loads(b"".join(chunks))

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return  # already gone


class Pool:
    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.idle: queue.Queue[_Child | None] = queue.Queue()
        for _ in range(size):
            self.idle.put(None)  # started on first use
        self.replaced = 0  # children killed and replaced (shown by the bench and tests)

    def run(self, source: str, entry: str | None, args: list[Any], *, time_limit: float = 1.0,
            memory: int = 32 * 1024 * 1024, stack: int = 256 * 1024, twice: bool = False) -> Result:
        """Call ``entry(*args)`` in a fresh context (``entry`` None: only evaluate the script);
        ``twice``: call it a second time and fail unless both results agree."""
        return self.run_batch([Call([source], entry, args, twice)], time_limit=time_limit, memory=memory,
                              stack=stack)[0]

    def run_batch(self, calls: list[Call], tail: list[Any] | None = None, *, time_limit: float = 1.0,
                  memory: int = 32 * 1024 * 1024, stack: int = 256 * 1024) -> list[Result]:
        """Several calls in one round trip to one child (each step of each call still in its own
        fresh context, with the limits per step); ``tail`` is appended to every call's arguments
        (sent once: e.g. the artifact's fields that every transform of it receives)."""
        if not calls:
            return []
        request = {"calls": [{"steps": c.steps, "entry": c.entry, "args": c.args, "twice": c.twice} for c in calls],
                   "tail": tail or [], "time": time_limit, "memory": memory, "stack": stack}
        steps = sum(len(c.steps) for c in calls)
        child = self.idle.get()
        try:
            if child is None or child.proc.poll() is not None:
                child = _Child()
            try:
                answer = child.call(request, time_limit * steps + GRACE_SECONDS)
                results = [Result(**r) for r in answer["results"]] if "results" in answer else [Result(**answer)] * len(calls)
                if len(results) != len(calls):
                    raise ValueError("wrong number of answers")
            except (TimeoutError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
                child.kill()
                child = None
                self.replaced += 1
                reason = ("did not finish in time" if isinstance(exc, TimeoutError)
                          else "stopped (it exceeded the sandbox's limits)")
                failed = Result(ok=False, kind="crash", message=f"The sandbox process {reason}; it was replaced")
                return [failed] * len(calls)
            return results
        finally:
            self.idle.put(child)

    def close(self) -> None:
        for _ in range(self.size):
            child = self.idle.get()
            if child is not None:
                child.kill()
            self.idle.put(None)


_pool: Pool | None = None
_pool_pid = 0
_lock = threading.Lock()


def get_pool() -> Pool:
    """This process's pool (a forked worker starts its own: children are not shared across forks)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            from django.conf import settings

            _pool = Pool(settings.HUB_EXTENSION_PROCESSES)
            _pool_pid = os.getpid()
        return _pool
