"""The worker: the only process that runs a submission's code (inside the sandbox).

It executes the notebook's code cells in one namespace, looks up the graded names, and
calls them on the inputs the grader sends, answering with the returned value and the
arguments as they are after the call.  It decides nothing: whether a call changed its
inputs, what is correct and what scores are all computed by the grader from what comes
back (student code can rewrite anything in this process, this module included).

The policy is enforced here too, not only by the grader's static inspection: forbidden
module prefixes are unimportable (a meta-path finder), and forbidden library functions are
neutralised in place (their code object is replaced, so that a reference found through
``gc`` or ``__subclasses__`` refuses as well).  Packages outside the assignment's allow-list
are not even in this process's file system (:mod:`.sandbox`).

Run as ``python -S -m course_lib.grading.worker READ_FD WRITE_FD``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import sys
import traceback
import types

from .protocol import alias_map, arrays_of, decode, encode, recv, send

_MISSING = object()


class _NoIPython:
    """``get_ipython()`` in the worker: magics and shell escapes do nothing."""

    def __getattr__(self, name):
        return lambda *a, **k: None


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, prefixes, reason):
        self.prefixes, self.reason = tuple(prefixes), reason

    def find_spec(self, name, path=None, target=None):
        if any(name == p or name.startswith(p + ".") for p in self.prefixes):
            raise ImportError(f"{name} is not available while grading: {self.reason}")
        return None


def _refusal(what: str, reason: str, n_free: int = 0):
    """A function that raises the refusal; its code has ``n_free`` (unused) free variables,
    so that it can replace the code of a function with a closure of that size."""
    message = f"{what} is not available while grading: {reason}"
    names = [f"_free{i}" for i in range(n_free)]
    body = "".join(f"    {n} = None\n" for n in names) or "    pass\n"
    inner = f"    def _refused(*args, **kwargs):\n        {'; '.join(names) + '; ' if names else ''}" \
            f"raise RuntimeError({message!r})\n"
    src = f"def _make():\n{body}{inner}    return _refused\n"
    scope: dict = {}
    exec(compile(src, "<grading policy>", "exec"), scope)
    return scope["_make"]()


def _neutralise(owner, attr: str, what: str, reason: str) -> None:
    """Make ``owner.attr`` refuse.  A Python function also gets the refuser's code object,
    so that every other reference to it (found through ``gc``, a closure, a subclass) refuses
    as well; anything else is replaced on its owner."""
    obj = vars(owner).get(attr, getattr(owner, attr, None)) if hasattr(owner, "__dict__") else None
    if obj is None:
        return
    target = getattr(obj, "__func__", obj)
    if isinstance(target, types.FunctionType):
        target.__code__ = _refusal(what, reason, len(target.__code__.co_freevars)).__code__
    try:
        setattr(owner, attr, _refusal(what, reason))
    except (AttributeError, TypeError):
        pass


def _resolve(dotted: str):
    """The object a dotted name refers to (a module or an attribute of one), or None."""
    try:
        return importlib.import_module(dotted)
    except ImportError:
        head, _, tail = dotted.rpartition(".")
        try:
            return getattr(importlib.import_module(head), tail)
        except (ImportError, AttributeError, ValueError):
            return None


def _python_source(source: str) -> str:
    """IPython syntax (magics, ``!cmd``) as plain Python calling ``get_ipython()`` (a no-op
    here).  IPython's parser runs here, in the sandbox, under its time limit: it is as
    untrusted as the code it parses."""
    if "%" not in source and "!" not in source and "?" not in source:
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - not IPython syntax either: compile() reports it
        return source


def _message(err: BaseException) -> str:
    try:
        return str(err)[:2000]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "(the error message could not be read)"


def _one_line(err: BaseException) -> str:
    try:
        return traceback.format_exception_only(type(err), err)[-1].strip()[:2000]
    except BaseException:  # noqa: BLE001
        return type(err).__name__


def serve(rfd: int, wfd: int) -> None:  # pragma: no cover - runs in the sandbox
    namespace = types.ModuleType("__main__")
    ns = namespace.__dict__
    ns["get_ipython"] = lambda: _NoIPython()
    ns["display"] = lambda *a, **k: None
    drivers: dict = {}

    def setup(msg):
        forbidden = [str(p) for p in msg.get("forbidden", [])]
        reason = str(msg.get("reason", "write this part yourself"))
        if msg.get("drivers"):
            drivers.update(importlib.import_module(str(msg["drivers"])).DRIVERS)
        for name in list(sys.modules):
            if any(name == p or name.startswith(p + ".") for p in forbidden):
                del sys.modules[name]
        importlib.invalidate_caches()
        sys.meta_path.insert(0, _Refuse(forbidden, reason))
        for dotted, attr in msg.get("poison", []):
            owner = _resolve(str(dotted))
            if owner is None:
                continue
            # "*": the functions and classes the module itself defines (not what it imports)
            names = [n for n, v in vars(owner).items() if isinstance(v, (types.FunctionType, type))
                     and getattr(v, "__module__", None) == getattr(owner, "__name__", "")] \
                if attr == "*" else [str(attr)]
            for n in names:
                _neutralise(owner, n, f"{dotted}.{n}", reason)

    def make_callback(k):
        def callback(*args, **kwargs):
            tree, out = encode({"args": args, "kwargs": kwargs}, strict=False)
            send(wfd, {"op": "cb", "id": k, "value": tree}, out)
            reply, rb = recv(rfd)
            if reply.get("op") == "cbret":
                return decode(reply.get("value"), rb)
            raise RuntimeError(f"{reply.get('type')}: {reply.get('msg')}")
        return callback

    def reply_result(value, args, kwargs, received):
        # The value first (results that are one of the arguments come back as references
        # to them), then the arguments as they are now, marking the arrays that are still
        # the ones received: the grader compares them with what it sent.
        tree, out = encode(value, aliases=alias_map(args, kwargs), strict=False)
        after, extra = encode({"args": args, "kwargs": kwargs}, strict=False,
                              same={id(a) for a in received})
        send(wfd, {"op": "result", "value": tree, "after": _shift(after, len(out))}, out + extra)

    sys.modules["__main__"] = namespace
    while True:
        try:
            msg, bufs = recv(rfd)
        except EOFError:
            import os

            os._exit(0)
        op = msg.get("op")
        try:
            if op == "hello":
                send(wfd, {"op": "ready"})
            elif op == "setup":
                setup(msg)
                send(wfd, {"op": "ok"})
            elif op == "exec":
                error = None
                try:
                    code = compile(_python_source(str(msg["source"])), f"<{msg.get('label', 'cell')}>", "exec")
                    exec(code, ns)
                except BaseException as err:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
                    error = _one_line(err)
                send(wfd, {"op": "done", "error": error})
            elif op == "lookup":
                out = {}
                for n in msg.get("names", []):
                    v = ns.get(n, _MISSING)
                    out[n] = "missing" if v is _MISSING else ("callable" if callable(v) else type(v).__name__)
                send(wfd, {"op": "names", "v": out})
            elif op in ("call", "drive"):
                fn = ns.get(msg.get("name"), _MISSING)
                try:
                    payload = decode(msg.get("value"), bufs, make_callback=make_callback)
                    args, kwargs = tuple(payload["args"]), dict(payload["kwargs"])
                    received = arrays_of(args, kwargs)  # alive until the reply: ids stay unique
                    if fn is _MISSING:
                        raise NameError(f"name {msg.get('name')!r} is not defined")
                    value = fn(*args, **kwargs) if op == "call" else drivers[msg["key"]](fn, *args, **kwargs)
                except BaseException as err:  # noqa: BLE001
                    send(wfd, {"op": "error", "type": type(err).__name__, "msg": _message(err)})
                    continue
                reply_result(value, args, kwargs, received)
            else:
                send(wfd, {"op": "error", "type": "ProtocolError", "msg": f"unknown op {op!r}"})
        except (BrokenPipeError, OSError):
            import os

            os._exit(3)
        except BaseException as err:  # noqa: BLE001 - e.g. an unencodable value: report, go on
            try:
                send(wfd, {"op": "error", "type": type(err).__name__, "msg": _message(err)})
            except BaseException:  # noqa: BLE001
                import os

                os._exit(3)


def _shift(tree, k: int):
    """Renumber the buffer indices of an encoded tree by ``k`` (to append two trees' buffers)."""
    if isinstance(tree, list):
        return [_shift(v, k) for v in tree]
    if isinstance(tree, dict):
        out = {key: _shift(v, k) for key, v in tree.items()}
        if tree.get("t") in ("nd", "sc") and isinstance(tree.get("i"), int):
            out["i"] = tree["i"] + k
        return out
    return tree


if __name__ == "__main__" and len(sys.argv) == 3:
    serve(int(sys.argv[1]), int(sys.argv[2]))
