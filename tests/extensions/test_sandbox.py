"""The sandbox: escape and abuse attempts fail cleanly with a clear message, and the pool stays
healthy (the next call works) after each. Real quickjs-ng children, no mocks."""

from __future__ import annotations

import threading

import pytest

from extensions.sandbox.pool import Pool

OK = "function transform(v, f) { return v + 1 }"


@pytest.fixture(scope="module")
def pool():
    p = Pool(2)
    yield p
    p.close()


ABUSE = [
    ("read a file", "function transform(v) { return std.loadFile('/etc/passwd') }", "error", "std is not defined"),
    ("os module", "function transform(v) { return os.open('/etc/passwd') }", "error", "os is not defined"),
    ("require", "function transform(v) { return require('fs').readFileSync('/etc/passwd') }", "error",
     "require is not defined"),
    ("static import", "import * as std from 'std';\nfunction transform(v) { return 1 }", "error", "SyntaxError"),
    ("dynamic import", "function transform(v) { return import('std') }", "error", "returned a Promise"),
    ("network", "function transform(v) { return fetch('http://127.0.0.1:1/') }", "error", "fetch is not defined"),
    ("xhr", "function transform(v) { return new XMLHttpRequest() }", "error", "XMLHttpRequest is not defined"),
    ("process env", "function transform(v) { return process.env.HOME }", "error", "process is not defined"),
    ("clock", "function transform(v) { return Date.now() }", "error", "clock is not available"),
    ("clock via new Date", "function transform(v) { return new Date().getTime() }", "error", "clock is not available"),
    ("infinite loop", "function transform(v) { while (true) {} }", "time", "longer than its 1.0 s limit"),
    ("memory bomb", "function transform(v) { const a = []; while (true) a.push('x'.repeat(1 << 20) + a.length) }",
     "memory", "more memory than its limit"),
    ("deep recursion", "function transform(v) { function r(n) { return r(n + 1) + 1 } return r(0) }", "stack",
     "recursed too deep"),
    ("huge output", "function transform(v) { return 'x'.repeat(3 * 1024 * 1024) }", "output", "larger than"),
    ("async", "async function transform(v) { return 1 }", "error", "returned a Promise"),
]


@pytest.mark.parametrize("label, source, kind, message", ABUSE, ids=[a[0] for a in ABUSE])
def test_abuse_fails_cleanly_and_the_pool_stays_healthy(pool, label, source, kind, message):
    result = pool.run(source, "transform", [1, {}])
    assert not result.ok
    assert result.kind == kind, result
    assert message in result.message
    assert pool.run(OK, "transform", [41, {}]).result == 42


def test_a_script_that_redefines_json_cannot_change_its_input_or_output(pool):
    source = ("JSON.parse = () => ({ hacked: true }); JSON.stringify = () => '\"hacked\"';\n"
              "function transform(v, f) { return { got: v, summary: f.summary } }")
    result = pool.run(source, "transform", [7, {"summary": "s"}])
    assert result.ok and result.result == {"got": 7, "summary": "s"}


def test_errors_name_the_script_line_and_console_is_captured_bounded(pool):
    source = "function transform(v) {\n  console.log('seen', v, {a: 1});\n  throw new Error('bad value ' + v)\n}"
    result = pool.run(source, "transform", [3, {}])
    assert (result.kind, result.line, result.message) == ("error", 3, "Error: bad value 3")
    assert result.logs == ['seen 3 {"a":1}']
    noisy = pool.run("function transform(v) { for (let i = 0; i < 5000; i++) console.log('x'.repeat(2000)); return 1 }",
                     "transform", [1, {}])
    assert noisy.ok and len(noisy.logs) == 101 and noisy.logs[-1].startswith("… 4900 more lines")
    assert all(len(line) <= 501 for line in noisy.logs[:-1])


def test_a_fresh_context_per_call(pool):
    source = "var n = (typeof n === 'number' ? n : 0) + 1; globalThis.seen = (globalThis.seen || 0) + 1;\n" \
             "function transform(v) { return [n, globalThis.seen] }"
    assert [pool.run(source, "transform", [0, {}]).result for _ in range(3)] == [[1, 1]] * 3


def test_a_nondeterministic_transform_is_detected(pool):
    result = pool.run("function transform(v) { return v + Math.random() }", "transform", [1, {}], twice=True)
    assert result.kind == "nondeterministic" and "not deterministic" in result.message
    assert pool.run("function transform(v) { return v * 2 }", "transform", [2, {}], twice=True).result == 4


def test_a_killed_child_is_replaced(pool):
    # A child that dies mid-call (here: killed from outside) fails that call and is replaced.
    assert pool.run(OK, "transform", [1, {}]).ok
    for _ in range(pool.size):
        c = pool.idle.get()
        if c is not None:
            c.proc.kill()
            c.proc.wait()
        pool.idle.put(c)
    assert pool.run(OK, "transform", [1, {}]).result == 2


def test_threads_share_the_pool(pool):
    results: dict[int, int] = {}

    def work(i: int) -> None:
        results[i] = pool.run("function transform(v) { return v * 3 }", "transform", [i, {}]).result

    threads = [threading.Thread(target=work, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i * 3 for i in range(24)}


def test_the_child_runs_isolated_under_limits(pool):
    # The child is `python -I` with an address-space limit: its interpreter flags and limits show it.
    pool.run(OK, "transform", [1, {}])
    child = pool.idle.get()
    pool.idle.put(child)
    with open(f"/proc/{child.proc.pid}/cmdline", "rb") as fh:
        assert b"-I" in fh.read().split(b"\0")
    with open(f"/proc/{child.proc.pid}/limits") as fh:
        limits = fh.read()
    assert "Max address space" in limits and "536870912" in limits
    with open(f"/proc/{child.proc.pid}/environ", "rb") as fh:
        assert b"HUB_" not in fh.read()


def test_a_child_killed_mid_call_fails_that_call_and_is_replaced(pool):
    # The script spins with a generous time limit; its child is killed from outside meanwhile.
    import os
    import signal
    import time

    for _ in range(pool.size):
        pool.run(OK, "transform", [1, {}])  # both children started
    children = [pool.idle.get() for _ in range(pool.size)]
    for c in children:
        pool.idle.put(c)
    box = {}

    def spin() -> None:
        box["result"] = pool.run("function transform(v) { while (true) {} }", "transform", [1, {}], time_limit=30)

    t = threading.Thread(target=spin)
    t.start()
    while pool.idle.qsize() == pool.size:  # until the call has taken its child
        time.sleep(0.01)
    idle = [pool.idle.get() for _ in range(pool.size - 1)]
    busy = next(c for c in children if c not in idle)
    for c in idle:
        pool.idle.put(c)
    time.sleep(0.2)  # the request is in the child
    os.kill(busy.proc.pid, signal.SIGKILL)
    t.join()
    assert box["result"].kind == "crash" and "replaced" in box["result"].message
    assert [pool.run(OK, "transform", [i, {}]).result for i in range(pool.size + 1)] == list(range(1, pool.size + 2))
