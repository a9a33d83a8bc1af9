"""A thin ctypes layer over quickjs-ng's C API, as exported by the ``quickjs`` wheel's library.

Why not the wheel's ``quickjs.Context``: each of those is a whole runtime, and it can only evaluate
source text, so every call paid for a new runtime, compiling the prelude and compiling the script
again (≈ 0.3 ms of the child's CPU for a one-line transform). Here one runtime lives as long as the
child; each call still gets a fresh **context** (a realm: its own global object and built-ins, so
nothing a script does is seen by the next call), and the prelude and each script are compiled once
to bytecode and then only loaded. The limits are the runtime's: memory and stack are set before
each call, the time limit is an interrupt handler checking this process's CPU clock.

Only the sandbox child imports this (``python -I``, no hub code); every value created here is freed
here: a leak would not cross calls (contexts are separate) but would grow the child.
"""

from __future__ import annotations

import ctypes
import time
from collections import OrderedDict
from typing import Any

import _quickjs  # the wheel's extension module: the library that exports the C API

TAG_INT, TAG_BOOL, TAG_UNDEFINED, TAG_EXCEPTION, TAG_STRING = 0, 1, 3, 6, -7
EVAL_GLOBAL_COMPILE_ONLY = 1 << 5
OBJ_BYTECODE = 1 << 0  # JS_WRITE_OBJ_BYTECODE and JS_READ_OBJ_BYTECODE


class _Payload(ctypes.Union):
    _fields_ = [("int32", ctypes.c_int32), ("float64", ctypes.c_double), ("ptr", ctypes.c_void_p)]


class JSValue(ctypes.Structure):
    """quickjs-ng's value on 64-bit builds (no NaN boxing): a payload and a tag, 16 bytes."""

    _fields_ = [("u", _Payload), ("tag", ctypes.c_int64)]


_P, _SIZE = ctypes.c_void_p, ctypes.c_size_t
_lib = ctypes.PyDLL(_quickjs.__file__)  # PyDLL: the GIL stays held (one thread; the handler is Python)
INTERRUPT = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P)

# The value layout and signatures below are quickjs-ng 0.17's (constraints.txt pins the package):
# another version must be checked against its quickjs.h before it is allowed here.
_lib.JS_GetVersion.restype = ctypes.c_char_p
VERSION = (_lib.JS_GetVersion() or b"").decode()
if not VERSION.startswith("0.17."):
    raise ImportError(f"The extension sandbox is built for quickjs-ng 0.17, not {VERSION or 'an unknown version'}")


def _fn(name: str, restype: Any, *argtypes: Any) -> Any:
    f = getattr(_lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


new_runtime = _fn("JS_NewRuntime", _P)
free_runtime = _fn("JS_FreeRuntime", None, _P)
set_memory_limit = _fn("JS_SetMemoryLimit", None, _P, _SIZE)
set_max_stack = _fn("JS_SetMaxStackSize", None, _P, _SIZE)
update_stack_top = _fn("JS_UpdateStackTop", None, _P)
set_interrupt = _fn("JS_SetInterruptHandler", None, _P, INTERRUPT, _P)
run_gc = _fn("JS_RunGC", None, _P)
jobs_pending = _fn("JS_IsJobPending", ctypes.c_bool, _P)  # C bool: only the low byte is set
new_context_raw = _fn("JS_NewContextRaw", _P, _P)
# The standard built-ins a script may use. Left out: WeakRef/FinalizationRegistry (they let a
# script observe the garbage collector: not deterministic), performance (a clock) and
# DOMException (not JavaScript's; a fifth of a context's cost).
INTRINSICS = [_fn(f"JS_AddIntrinsic{name}", None, _P) for name in (
    "BaseObjects", "Date", "Eval", "RegExpCompiler", "RegExp", "JSON", "Proxy", "MapSet", "TypedArrays", "Promise",
    "BigInt", "AToB")]
free_context = _fn("JS_FreeContext", None, _P)
eval_ = _fn("JS_Eval", JSValue, _P, ctypes.c_char_p, _SIZE, ctypes.c_char_p, ctypes.c_int)
write_object = _fn("JS_WriteObject", _P, _P, ctypes.POINTER(_SIZE), JSValue, ctypes.c_int)
read_object = _fn("JS_ReadObject", JSValue, _P, ctypes.c_char_p, _SIZE, ctypes.c_int)
eval_function = _fn("JS_EvalFunction", JSValue, _P, JSValue)
js_free = _fn("js_free", None, _P, _P)
free_value = _fn("JS_FreeValue", None, _P, JSValue)
get_exception = _fn("JS_GetException", JSValue, _P)
global_object = _fn("JS_GetGlobalObject", JSValue, _P)
get_property = _fn("JS_GetPropertyStr", JSValue, _P, JSValue, ctypes.c_char_p)
new_string = _fn("JS_NewStringLen", JSValue, _P, ctypes.c_char_p, _SIZE)
call_ = _fn("JS_Call", JSValue, _P, JSValue, JSValue, ctypes.c_int, ctypes.POINTER(JSValue))
to_cstring = _fn("JS_ToCStringLen2", _P, _P, ctypes.POINTER(_SIZE), JSValue, ctypes.c_int)
free_cstring = _fn("JS_FreeCString", None, _P, _P)

LOG_MEMORY = 4 * 1024 * 1024  # on top of the call's limit, to read its console after it ran out
UNDEFINED = JSValue(_Payload(int32=0), TAG_UNDEFINED)


class ScriptError(Exception):
    """The script threw (or was stopped): the text is the exception and its stack, as JS shows them."""


class Runtime:
    """One quickjs runtime; ``call`` runs one entry function in a fresh context."""

    MAX_CACHED = 64  # compiled scripts kept (by source text): extension versions in use

    def __init__(self, prelude: str) -> None:
        self.prelude = prelude  # run first in every context (compiled once)
        self.spare: tuple[int, list[JSValue]] | None = None
        self.rt = new_runtime()
        self.deadline = float("inf")
        # Kept referenced: quickjs holds only the C pointer.
        self._handler = INTERRUPT(lambda rt, opaque: 1 if time.process_time() > self.deadline else 0)
        set_interrupt(self.rt, self._handler, None)
        self.cache: OrderedDict[str, bytes] = OrderedDict()
        self.memory, self.time_limit = 0, 1.0
        self.tainted = False  # a call ran out of time/memory/stack or left jobs: start a new runtime

    def close(self) -> None:
        if self.spare is not None:
            ctx, fns = self.spare
            for f in fns:
                free_value(ctx, f)
            free_context(ctx)
            self.spare = None
        if self.rt:
            free_runtime(self.rt)
            self.rt = None

    # -- values ---------------------------------------------------------------------------------

    def _text(self, ctx: int, value: JSValue) -> str | None:
        size = _SIZE()
        ptr = to_cstring(ctx, ctypes.byref(size), value, 0)
        if not ptr:
            free_value(ctx, get_exception(ctx))  # toString itself threw: drop that exception
            return None
        try:
            return ctypes.string_at(ptr, size.value).decode("utf-8", "replace")
        finally:
            free_cstring(ctx, ptr)

    def _raise(self, ctx: int) -> None:
        exc = get_exception(ctx)
        try:
            text = self._text(ctx, exc) or "an exception that cannot be shown"
            stack = get_property(ctx, exc, b"stack")
            if stack.tag == TAG_STRING:
                text += "\n" + (self._text(ctx, stack) or "")
            elif stack.tag == TAG_EXCEPTION:
                free_value(ctx, get_exception(ctx))
            free_value(ctx, stack)
        finally:
            free_value(ctx, exc)
        raise ScriptError(text)

    def _check(self, ctx: int, value: JSValue) -> JSValue:
        if value.tag == TAG_EXCEPTION:
            self._raise(ctx)
        return value

    def _string(self, ctx: int, text: str) -> JSValue:
        raw = text.encode()
        return new_string(ctx, raw, len(raw))

    # -- scripts --------------------------------------------------------------------------------

    def _compile(self, ctx: int, source: str, filename: bytes) -> bytes:
        raw = source.encode()
        fun = self._check(ctx, eval_(ctx, raw, len(raw), filename, EVAL_GLOBAL_COMPILE_ONLY))
        size = _SIZE()
        ptr = write_object(ctx, ctypes.byref(size), fun, OBJ_BYTECODE)
        free_value(ctx, fun)
        if not ptr:
            self._raise(ctx)
        try:
            return ctypes.string_at(ptr, size.value)
        finally:
            js_free(ctx, ptr)

    def _run(self, ctx: int, source: str, filename: bytes) -> None:
        """Evaluate a global script in ``ctx`` from its cached bytecode (compiled on first use)."""
        code = self.cache.get(source)
        if code is None:
            code = self._compile(ctx, source, filename)
            self.cache[source] = code
            while len(self.cache) > self.MAX_CACHED:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(source)
        fun = self._check(ctx, read_object(ctx, code, len(code), OBJ_BYTECODE))
        free_value(ctx, self._check(ctx, eval_function(ctx, fun)))  # eval_function frees fun

    # -- one call -------------------------------------------------------------------------------

    def _fresh(self) -> tuple[int, list[JSValue]]:
        """A new context with the prelude run in it, and the prelude's two functions (held before
        any script runs: a script that replaces them changes nothing here)."""
        ctx = new_context_raw(self.rt)
        if not ctx:
            self.tainted = True
            raise ScriptError("InternalError: out of memory", "")
        for add in INTRINSICS:
            add(ctx)
        try:
            self.deadline = float("inf")
            self._run(ctx, self.prelude, b"<prelude>")
            glob = global_object(ctx)
            try:
                return ctx, [get_property(ctx, glob, b"__hub_call"), get_property(ctx, glob, b"__hub_logs")]
            finally:
                free_value(ctx, glob)
        except BaseException:
            free_context(ctx)
            raise

    def prepare(self) -> None:
        """Make the next call's context now, while the child waits for work (off the round trip)."""
        if self.spare is None and self.rt:
            self.spare = self._fresh()

    def call(self, source: str, entry: str | None, args_json: str, twice: bool, *,
             time_limit: float, memory: int, stack: int) -> tuple[str | None, str | None]:
        """Run ``source`` in a fresh context (the prelude run in it first) and call the prelude's
        ``__hub_call`` (``entry`` None: only evaluate). Returns (the call's JSON answer, which
        carries the console, or None; the console as JSON when only evaluating); raises
        ``ScriptError`` with the console as its second argument."""
        self.memory, self.time_limit = memory, time_limit
        set_memory_limit(self.rt, memory)
        set_max_stack(self.rt, stack)
        update_stack_top(self.rt)
        ctx, fns = self.spare or self._fresh()  # never used before: made by prepare() or now
        self.spare = None
        try:
            # Held before the script runs: a script that replaces them changes nothing here.
            self.deadline = time.process_time() + time_limit
            try:
                self._run(ctx, source, b"<input>")
                if entry is None:
                    return None, self._logs(ctx, fns[1])
                argv = (JSValue * 3)(self._string(ctx, entry), self._string(ctx, args_json),
                                     JSValue(_Payload(int32=int(twice)), TAG_BOOL))
                try:
                    result = self._check(ctx, call_(ctx, fns[0], UNDEFINED, 3, argv))
                finally:
                    free_value(ctx, argv[0])
                    free_value(ctx, argv[1])
                try:  # the answer carries the console lines
                    return (self._text(ctx, result) if result.tag == TAG_STRING else None), None
                finally:
                    free_value(ctx, result)
            except ScriptError as exc:
                raise ScriptError(exc.args[0], self._logs(ctx, fns[1])) from None
        finally:
            self.deadline = float("inf")
            for f in fns:
                free_value(ctx, f)
            free_context(ctx)
            if jobs_pending(self.rt):
                self.tainted = True  # a promise job holds the old context: drop the runtime with it
            run_gc(self.rt)  # the context's cycles: the next call's memory limit starts from empty

    def _logs(self, ctx: int, logs_of: JSValue) -> str:
        """The console lines (JSON) of the context; a script that broke its console gets none."""
        # The call may have ended out of memory or time: reading the console gets its own budget
        # (the prelude's code, but a script can hook what it calls, e.g. Object.prototype.toJSON).
        set_memory_limit(self.rt, self.memory + LOG_MEMORY)
        self.deadline = time.process_time() + self.time_limit
        value = call_(ctx, logs_of, UNDEFINED, 0, None)
        if value.tag != TAG_STRING:
            if value.tag == TAG_EXCEPTION:
                free_value(ctx, get_exception(ctx))
            free_value(ctx, value)
            return '{"logs": [], "dropped": 0}'
        try:
            return self._text(ctx, value) or '{"logs": [], "dropped": 0}'
        finally:
            free_value(ctx, value)
