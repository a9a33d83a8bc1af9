"""The sandbox child: runs extension scripts in quickjs-ng, one fresh context per call.

Started by ``extensions.sandbox.pool`` as ``python -I child.py`` (no user site, no PYTHONPATH,
no environment-driven imports). It reads one JSON request per line on stdin and writes one JSON
answer per line on stdout; nothing else is printed. It imports no hub code: a script that escaped
quickjs would find a bare interpreter under address-space and CPU limits, not the hub.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import time
from typing import Any

qjs: Any = None  # the ctypes layer over quickjs-ng, imported by main() after the limits

ADDRESS_SPACE = 512 * 1024 * 1024  # the whole child; quickjs's own memory limit is far below it
MAX_OUTPUT = 1024 * 1024  # characters of JSON a script may return
MAX_LOG_LINES, MAX_LOG_CHARS = 100, 500

# Runs before the user's script, in the same fresh context. It keeps its own references to JSON
# and the globals it needs, so a script that redefines JSON (or anything else) cannot change how
# its arguments arrive or how its result leaves. It removes the clock (no Date.now, no
# argument-less Date) so a script sees nothing of the machine but its input.
PRELUDE = r"""
(function () {
  const parse = JSON.parse, stringify = JSON.stringify, geval = eval, str = String;
  const logs = [];
  class __hub_Nondeterministic extends Error {}
  __hub_Nondeterministic.prototype.name = "NondeterministicError";
  let logChars = 0, dropped = 0;
  function __hub_log(...parts) {
    if (logs.length >= %(lines)d) { dropped++; return; }
    let line = parts.map(p => {
      try { return typeof p === "string" ? p : stringify(p); } catch (e) { return str(p); }
    }).join(" ");
    if (line.length > %(chars)d) line = line.slice(0, %(chars)d) + "…";
    logs.push(line);
  }
  const log = __hub_log;
  globalThis.console = Object.freeze({ log: log, info: log, warn: log, error: log, debug: log });
  const RealDate = Date;
  function __hub_Date(...args) {
    if (args.length === 0) throw new Error("The clock is not available to extensions (Date needs an argument).");
    return new.target ? new RealDate(...args) : RealDate(...args);
  }
  const HubDate = __hub_Date;
  HubDate.UTC = RealDate.UTC; HubDate.parse = RealDate.parse; HubDate.prototype = RealDate.prototype;
  HubDate.now = function __hub_now() { throw new Error("The clock is not available to extensions (Date.now)."); };
  globalThis.Date = HubDate;
  delete globalThis.performance;
  globalThis.__hub_call = function __hub_call(entry, argsJson, twice) {
    const fn = geval("typeof " + entry + " === 'function' ? " + entry + " : undefined");
    if (fn === undefined) throw new TypeError("The script defines no function '" + entry + "'.");
    const result = fn(...parse(argsJson));
    if (result instanceof Promise)
      throw new TypeError(entry + "() returned a Promise; extensions run synchronously (no async, no import()).");
    const out = result === undefined ? undefined : stringify(result);
    if (twice) {
      // A transform must give the same answer for the same input (the engine compares its
      // output with the stored base): a second call in this context must agree with the first.
      const again = fn(...parse(argsJson));
      const out2 = again === undefined ? undefined : stringify(again);
      if (out2 !== out) throw new __hub_Nondeterministic(entry + "() is not deterministic: it returned " +
        str(out).slice(0, 80) + " and then " + str(out2).slice(0, 80) + " for the same input");
    }
    return stringify({ result: out === undefined ? null : out, undefined: out === undefined,
                       logs: logs, dropped: dropped });
  };
  globalThis.__hub_logs = function () { return stringify({ logs: logs, dropped: dropped }); };
})();
""".replace("%(lines)d", str(MAX_LOG_LINES)).replace("%(chars)d", str(MAX_LOG_CHARS))

# A stack frame "at name (<input>:line:column)"; the prelude's own functions are named __hub_*.
FRAME = re.compile(r"at (\S*) ?\(?<input>:(\d+)")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))  # stdin, stdout, stderr and a few for Python


def _cpu_budget(seconds: float) -> None:
    """A CPU ceiling for this call on top of what the child has used: quickjs's own time limit
    stops a loop first; this stops a call stuck outside it (the kernel sends SIGXCPU)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    resource.setrlimit(resource.RLIMIT_CPU, (int(spent + seconds) + 3, resource.RLIM_INFINITY))


def _error(kind: str, message: str, logs: list[str] | None = None) -> dict:
    line = next((int(n) for name, n in FRAME.findall(message) if not name.startswith("__hub_")), None)
    first = message.strip().splitlines()[0] if message.strip() else kind
    return {"ok": False, "kind": kind, "message": first, "line": line, "logs": logs or []}


def _kind(text: str) -> tuple[str, str]:
    """The error kind and the message to show for a script's exception text."""
    if "interrupted" in text:
        return "time", ""
    if "out of memory" in text:
        return "memory", "The script used more memory than its limit"
    if "stack overflow" in text or "Maximum call stack size exceeded" in text:
        return "stack", "Maximum call stack size exceeded (the script recursed too deep)"
    if text.startswith("NondeterministicError"):
        return "nondeterministic", text.partition(": ")[2]
    return "error", text


def _logs(raw: str) -> list[str]:
    try:
        got = json.loads(raw)
        return got["logs"] + ([f"… {got['dropped']} more lines not kept"] if got["dropped"] else [])
    except Exception:  # noqa: BLE001 - a script that broke its console still gets its answer
        return []


def run_chain(runtime: Any, call: dict, tail: list, limits: dict) -> dict:
    """One call: each source in ``steps`` in its own fresh context, in order; a later step receives
    the previous one's result as its first argument (a field's "read" then "write" transform).
    The answer names the failing step."""
    started = time.perf_counter()
    args = list(call.get("args", [])) + tail
    logs: list[str] = []
    result, undefined = None, False
    for step, source in enumerate(call["steps"]):
        if step:
            args = [result, *args[1:]]
        try:
            raw, console = runtime.call(source, call.get("entry"), json.dumps(args), bool(call.get("twice")),
                                        **limits)
        except qjs.ScriptError as exc:
            kind, message = _kind(exc.args[0])
            if kind in ("time", "memory", "stack"):
                runtime.tainted = True  # quickjs recovers from these, but the next call gets a new runtime
            if kind == "time":
                message = f"The script ran longer than its {limits['time_limit']} s limit"
            answer = _error(kind, message, logs + _logs(exc.args[1] if len(exc.args) > 1 else ""))
            answer["step"] = step
            return answer
        if call.get("entry") is None:
            logs += _logs(console or "")
            continue  # compile check only
        if raw is None or len(raw) > MAX_OUTPUT + 4096:
            return {**_error("output", f"The script's result is larger than {MAX_OUTPUT} characters", logs), "step": step}
        answer = json.loads(raw)
        if answer["result"] is not None and len(answer["result"]) > MAX_OUTPUT:
            return {**_error("output", f"The script's result is larger than {MAX_OUTPUT} characters", logs), "step": step}
        logs += answer["logs"] + ([f"… {answer['dropped']} more lines not kept"] if answer["dropped"] else [])
        undefined = answer["undefined"]
        result = None if undefined else json.loads(answer["result"])
        if undefined and step < len(call["steps"]) - 1:
            break  # nothing to pass on: the caller reports the step that returned nothing
    return {"ok": True, "result": result, "undefined": undefined, "logs": logs, "step": step,
            "ms": (time.perf_counter() - started) * 1000}


def serve(runtime: Any, request: dict) -> tuple[dict, Any]:
    """A batch of calls (one round trip for several, e.g. all the fields of one artifact); each
    call is as isolated from the others as from the calls of other requests."""
    calls = request["calls"]
    limits = {"time_limit": float(request.get("time", 1.0)), "memory": int(request.get("memory", 32 * 1024 * 1024)),
              "stack": int(request.get("stack", 256 * 1024))}
    _cpu_budget(limits["time_limit"] * sum(len(c["steps"]) for c in calls))
    results = []
    for call in calls:
        results.append(run_chain(runtime, call, request.get("tail", []), limits))
        if runtime.tainted:  # stopped, out of memory or left promise jobs: the next call starts afresh
            runtime.close()
            runtime = qjs.Runtime(PRELUDE)
    return {"results": results}, runtime


def main() -> None:
    _limits()
    global qjs
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
    runtime: Any = None
    try:
        import qjs  # after the limits: the engine's own allocations count too

        runtime = qjs.Runtime(PRELUDE)
        broken = ""
    except Exception as exc:  # noqa: BLE001 - answered to every request, not a crash loop
        broken = f"The sandbox cannot start quickjs-ng: {exc}"
    out = sys.stdout
    for line in sys.stdin:
        try:
            if broken:
                raise RuntimeError(broken)
            request = json.loads(line)
            answer, runtime = serve(runtime, request)
        except MemoryError:
            answer = _error("memory", "The script used more memory than the sandbox allows")
        except Exception as exc:  # noqa: BLE001 - the child must answer every request
            answer = _error("error", f"{type(exc).__name__}: {exc}")
        out.write(json.dumps(answer) + "\n")
        out.flush()
        if broken:
            continue
        try:
            runtime.prepare()  # the next call's fresh context, made while no one waits for it
        except Exception:  # noqa: BLE001 - then the next call makes its own (and reports why not)
            runtime.spare = None


if __name__ == "__main__":
    main()
