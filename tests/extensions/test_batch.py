"""The sandbox's batch path (all the transforms of one artifact in one round trip): each call of a
batch fails or succeeds on its own, sees nothing of the others, and has its own limits; chained
steps (a field's "read" then "write") each run in a fresh context. Real quickjs-ng children."""

from __future__ import annotations

import pytest

from extensions import runtime
from extensions import services as ext_services
from extensions.sandbox.pool import Call, Pool

OK = "function transform(v, f) { return v + 1 }"


@pytest.fixture(scope="module")
def pool():
    p = Pool(1)  # one child: every call of these batches runs in the same process
    yield p
    p.close()


def _batch(pool, *sources, tail=None, **limits):
    return pool.run_batch([Call([s], "transform", [i], twice=True) for i, s in enumerate(sources)], tail, **limits)


def test_each_call_of_a_batch_answers_for_itself(pool):
    results = _batch(pool, OK, "function transform(v, f) {\n  console.log('got', v);\n  throw new Error('no ' + v)\n}",
                     "function transform(v, f) { return v * 10 + f.k }", tail=[{"k": 3}])
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].result == 1 and results[2].result == 23
    assert (results[1].kind, results[1].line, results[1].message, results[1].logs) == ("error", 3, "Error: no 1",
                                                                                         ["got 1"])


def test_calls_of_a_batch_share_no_state(pool):
    # The first call pollutes everything it can reach; the same script again, and another one,
    # see none of it (each call its own context; the compiled script is shared, its state is not).
    polluter = ("var n = (typeof n === 'number' ? n : 0) + 1; globalThis.leak = (globalThis.leak || 0) + 1;\n"
                "Object.prototype.polluted = 'yes'; Array.prototype.push = function () { return 'hijacked' };\n"
                "Math.random = () => 4; JSON.stringify = () => 'hacked';\n"
                "function transform(v, f) { return [n, globalThis.leak] }")
    probe = ("function transform(v, f) { const a = []; a.push(1); "
             "return [typeof leak, ({}).polluted === undefined, a.length, Math.random() < 1] }")
    results = _batch(pool, polluter, probe, polluter, probe)
    assert [r.result for r in results] == [[1, 1], ["undefined", True, 1, True], [1, 1],
                                           ["undefined", True, 1, True]]


def test_a_promise_job_left_behind_runs_in_no_later_call(pool):
    late = "function transform(v, f) { Promise.resolve().then(() => { globalThis.late = 1 }); return v }"
    probe = "function transform(v, f) { return typeof late }"
    assert [r.result for r in _batch(pool, late, probe)] == [0, "undefined"]


@pytest.mark.parametrize("source, kind", [
    ("function transform(v, f) { while (true) {} }", "time"),
    ("function transform(v, f) { const a = []; while (true) a.push('x'.repeat(1 << 20) + a.length) }", "memory"),
    ("function transform(v, f) { function r(n) { return r(n + 1) + 1 } return r(0) }", "stack"),
    ("function transform(v, f) { return 'x'.repeat(1100 * 1024) }", "output"),
    ("function transform(v, f) { return v + Math.random() }", "nondeterministic"),
], ids=["time", "memory", "stack", "output", "nondeterministic"])
def test_limits_hold_per_call_within_a_batch(pool, source, kind):
    # The runaway call stops at its own limit; the calls after it get theirs in full (after a
    # memory bomb, one that needs a third of the limit still gets it: the bomb's memory is freed).
    big = "function transform(v, f) { const a = []; for (let i = 0; i < 10; i++) a.push('y'.repeat(1 << 20) + i); " \
          "return a.length }"
    replaced = pool.replaced
    results = _batch(pool, OK, source, big if kind == "memory" else OK, OK, time_limit=0.3)
    assert [r.ok for r in results] == [True, False, True, True], results
    assert results[1].kind == kind
    assert results[2].result == (10 if kind == "memory" else 3) and results[3].result == 4
    assert pool.replaced == replaced  # the limits are quickjs's: the child itself stayed healthy


def test_chained_steps_each_run_fresh_and_the_failing_step_is_named(pool):
    read = "globalThis.mark = 'read'; function transform(v, f) { return v + '>read' }"
    write = "function transform(v, f) { return v + '>write:' + (typeof mark) + ':' + f.k }"
    broken = "function transform(v, f) {\n  return v.nope.deeper\n}"
    results = pool.run_batch([Call([read, write], "transform", ["a"], True), Call([read, broken], "transform", ["b"], True),
                              Call([broken, write], "transform", ["c"], True)], [{"k": 1}])
    assert results[0].ok and results[0].result == "a>read>write:undefined:1"
    assert (results[1].ok, results[1].step, results[1].line) == (False, 1, 2)
    assert (results[2].ok, results[2].step, results[2].line) == (False, 0, 2)


@pytest.mark.django_db
def test_transform_many_names_extension_version_and_field_of_each_failure():
    good = ext_services.create(None, name="upper", type="transform",
                               source="function transform(v, f) { return String(v).toUpperCase() }")
    bad = ext_services.create(None, name="fragile", type="transform",
                              source="function transform(v, f) {\n  return v.length + f.missing.x\n}")
    silent = ext_services.create(None, name="silent", type="transform", source="function transform(v, f) { }")
    out = runtime.transform_many([("summary", [good]), ("status", [good, bad]), ("priority", [silent])],
                                 ["a", "b", "c"], {"summary": "a"})
    assert out[0] == "A"
    assert isinstance(out[1], runtime.ExtensionFailure)
    assert str(out[1]).startswith("Extension 'fragile' version 1 failed on field 'status' at line 2: TypeError")
    assert isinstance(out[2], runtime.ExtensionFailure)
    assert "Extension 'silent' version 1 failed on field 'priority'" in str(out[2]) and "returned nothing" in str(out[2])


def test_requests_and_answers_larger_than_the_pipe_cross_it(pool):
    big = "x" * 300_000  # the request is several times a pipe's 64 KiB
    source = "function transform(v, f) { return v.length + ':' + f.k.length + ':' + 'y'.repeat(900000) }"
    result = pool.run(source, "transform", [big, {"k": big}])
    assert result.ok and result.result == "300000:300000:" + "y" * 900_000
    assert pool.run(OK, "transform", [1, {}]).result == 2


def test_a_child_killed_mid_batch_fails_the_batch_and_is_replaced(pool):
    import os
    import signal
    import threading
    import time

    pool.run(OK, "transform", [1, {}])
    child = pool.idle.get()  # the pool's only child: the one the batch will take
    pool.idle.put(child)
    box = {}
    spin = "function transform(v, f) { while (true) {} }"
    worker = threading.Thread(target=lambda: box.update(results=_batch(pool, OK, spin, OK, time_limit=30)))
    worker.start()
    while pool.idle.qsize():  # until the batch has taken the child
        time.sleep(0.01)
    time.sleep(0.3)  # the request is in the child, spinning in its second call
    os.kill(child.proc.pid, signal.SIGKILL)
    worker.join()
    assert [r.kind for r in box["results"]] == ["crash"] * 3 and "replaced" in box["results"][0].message
    assert [r.result for r in _batch(pool, OK, OK)] == [1, 2]
