"""The wire format between the grader and the sandboxed worker (both directions).

A message is a fixed 16-byte prefix (header length, buffer length), a JSON header, and raw
array buffers.  The decoder accepts only a fixed set of tagged node types and numeric
dtypes; it never unpickles and never calls anything named in the data, so a hostile worker
can at worst send wrong values.  Sizes are checked before anything is allocated: a reply is
at most ``MAX_HEADER`` bytes of JSON and ``MAX_BUFFERS`` bytes of arrays, and each buffer
backs at most one array (many nodes aliasing one large buffer would otherwise be copied
once each).  The grader's side never blocks: :func:`send` and :func:`recv` take a deadline.
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import sys
from typing import Any, Callable

import numpy as np

__all__ = ["ProtocolError", "Opaque", "Same", "encode", "decode", "send", "recv", "write_back",
           "alias_map", "arrays_of", "resolve_path", "MAX_HEADER", "MAX_BUFFERS"]

MAX_HEADER = 4 << 20  # bytes of JSON per message (a few MB of Python objects at most)
MAX_BUFFERS = 64 << 20  # bytes of array data per message
#: what one decoded message may amount to: the bytes of its arrays plus those of the
#: arguments its references point to (N references to one large argument are N times its
#: size to any code that copies the result), its nodes, and the entries of one dict (keys
#: that all hash alike make building a dict quadratic)
MAX_DECODED_BYTES = 64 << 20
MAX_NODES = 200_000
MAX_DICT = 1_000
_DTYPES = {
    np.dtype(t).str
    for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64", "complex64", "complex128")
}
_HEAD = struct.Struct("<QQ")


class ProtocolError(Exception):
    """A message from the worker was malformed, too large, or out of sequence."""




class Opaque:
    """Stands for a value the worker returned that has no wire encoding (a generator, a
    module, ...): it compares equal to nothing and converts to an object array, so a check
    fails on it with "expected a numeric array"."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


# ----------------------------------------------------------------------------- codec


def _torch():
    return sys.modules.get("torch")


class Same:
    """An argument's array that is still the same object after the call (possibly changed
    in place), as opposed to one the call replaced by a new array: :func:`write_back`
    changes the caller's array only for this one."""

    def __init__(self, value):
        self.value = value


def encode(obj: Any, *, callbacks: list | None = None, aliases: dict | None = None,
           strict: bool = True, same: dict | None = None):
    """Turn ``obj`` into ``(tree, buffers)``: a JSON-able tree and a list of array buffers.

    ``callbacks``: when given, callables become ``{"t": "cb", "id": k}`` and are appended
    to it (the grader's side); otherwise a callable is unsupported.  ``aliases`` maps
    ``id(object)`` to a path into the call's arguments, so that a result that *is* one of
    the arguments (or part of one) comes back as a reference to it.  ``strict``: raise
    ``TypeError`` on an unsupported value (grader side) instead of sending an opaque
    placeholder (worker side).  ``same`` (worker side, for the arguments after a call): the
    ids of the arrays the call received; those still there come as ``{"t": "same"}`` nodes.
    """
    buffers: list = []
    torch = _torch()

    def array_node(a: np.ndarray, tag: str) -> dict:
        if a.dtype.str not in _DTYPES:
            raise TypeError(f"unsupported dtype {a.dtype}")
        buffers.append(a.tobytes(order="C"))
        return {"t": tag, "i": len(buffers) - 1, "d": a.dtype.str, "s": list(a.shape)}

    def enc(x: Any, depth: int) -> Any:
        if depth > 64:
            raise TypeError("nesting deeper than 64 levels")
        if aliases is not None and isinstance(x, (np.ndarray, list, dict)) and id(x) in aliases:
            return {"t": "ref", "p": aliases[id(x)]}
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, (int, float)) and type(x) in (int, float):
            return x
        if isinstance(x, np.ndarray):
            if same is not None and id(x) in same:
                return {"t": "same", "v": array_node(x, "nd")}
            return array_node(x, "nd")
        if isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_, np.void)):
            return array_node(np.asarray(x), "sc")
        if isinstance(x, complex):
            return {"t": "complex", "v": [x.real, x.imag]}
        if isinstance(x, list):
            return [enc(v, depth + 1) for v in x]
        if isinstance(x, tuple):
            return {"t": "tuple", "v": [enc(v, depth + 1) for v in x]}
        if isinstance(x, dict):
            return {"t": "dict", "v": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
        if torch is not None:
            if isinstance(x, torch.Tensor):
                return {"t": "torch", "v": array_node(x.detach().cpu().numpy(), "nd")}
            if isinstance(x, torch.device):
                return {"t": "device", "v": str(x)}
            if isinstance(x, torch.dtype):
                return {"t": "tdtype", "v": str(x).replace("torch.", "")}
        if callbacks is not None and callable(x):
            callbacks.append(x)
            return {"t": "cb", "id": len(callbacks) - 1}
        if strict:
            raise TypeError(f"cannot send a {type(x).__name__} to the sandbox")
        return {"t": "opaque", "v": type(x).__name__[:80]}

    return enc(obj, 0), buffers


def decode(tree: Any, buffers: list, *, make_callback: Callable | None = None,
           resolve: Callable | None = None, allow_same: bool = False):
    """Inverse of :func:`encode`.  Accepts only the node types listed there and the numeric
    dtypes in ``_DTYPES``; anything else raises :class:`ProtocolError`.
    ``make_callback(id)`` builds the stub for a callback node (worker side); ``resolve(path)``
    returns the argument object a ``ref`` node points to (grader side)."""

    used: set = set()
    spent = {"bytes": 0, "nodes": 0}

    def charge(nbytes: int) -> None:
        spent["bytes"] += nbytes
        if spent["bytes"] > MAX_DECODED_BYTES:
            raise ProtocolError(f"the message amounts to more than {MAX_DECODED_BYTES} bytes "
                                "(its arrays and the arguments it refers to)")

    def arr(node: dict) -> np.ndarray:
        d, s, i = node.get("d"), node.get("s"), node.get("i")
        if d not in _DTYPES or not isinstance(s, list) or not isinstance(i, int):
            raise ProtocolError(f"bad array node {str(node)[:80]}")
        if len(s) > 32 or not all(isinstance(n, int) and 0 <= n < 1 << 40 for n in s):
            raise ProtocolError("bad array shape")
        if not 0 <= i < len(buffers):
            raise ProtocolError("bad buffer index")
        if i in used:  # so that decoding allocates at most the bytes that were received
            raise ProtocolError("a buffer is used by two arrays")
        used.add(i)
        dt = np.dtype(d)
        raw = buffers[i]
        if math.prod(s) * dt.itemsize != len(raw):  # Python ints: no overflow
            raise ProtocolError("array size does not match its buffer")
        charge(len(raw))
        return np.frombuffer(raw, dtype=dt).reshape(s).copy()

    def dec(x: Any, depth: int) -> Any:
        if depth > 64:
            raise ProtocolError("nesting deeper than 64 levels")
        spent["nodes"] += 1
        if spent["nodes"] > MAX_NODES:
            raise ProtocolError(f"the message has more than {MAX_NODES} values")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [dec(v, depth + 1) for v in x]
        if not isinstance(x, dict):
            raise ProtocolError(f"unexpected node {type(x).__name__}")
        t = x.get("t")
        if t == "nd":
            return arr(x)
        if t == "sc":
            a = arr(x)
            if a.shape != ():
                raise ProtocolError("scalar node with a shape")
            return a[()]
        if t == "tuple":
            return tuple(dec(v, depth + 1) for v in _list(x.get("v")))
        if t == "dict":
            out = {}
            pairs = _list(x.get("v"))
            if len(pairs) > MAX_DICT:
                raise ProtocolError(f"a dict of more than {MAX_DICT} entries")
            for pair in pairs:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict item")
                k = dec(pair[0], depth + 1)
                try:
                    out[k] = dec(pair[1], depth + 1)
                except TypeError:
                    raise ProtocolError("unhashable dict key") from None
            return out
        if t == "complex":
            v = _list(x.get("v"))
            if len(v) != 2 or not all(isinstance(p, (int, float)) for p in v):
                raise ProtocolError("bad complex node")
            return complex(v[0], v[1])
        if t == "torch":
            torch = _torch()
            a = arr(_dict(x.get("v")))
            if torch is None:
                return a
            return torch.from_numpy(a)
        if t == "device":
            torch = _torch()
            return torch.device(str(x.get("v"))) if torch is not None else str(x.get("v"))
        if t == "tdtype":
            torch = _torch()
            name = str(x.get("v"))
            dt = getattr(torch, name, None) if torch is not None else None
            if not isinstance(dt, getattr(torch, "dtype", ())):
                raise ProtocolError(f"unknown torch dtype {name[:40]!r}")
            return dt
        if t == "cb":
            if make_callback is None or not isinstance(x.get("id"), int):
                raise ProtocolError("unexpected callback node")
            return make_callback(x["id"])
        if t == "ref":
            if resolve is None:
                raise ProtocolError("unexpected reference node")
            target = resolve(_list(x.get("p")))
            charge(sum(a.nbytes for a in arrays_of((target,), {})) + 64)
            return target
        if t == "same":
            if not allow_same:
                raise ProtocolError("unexpected same-object node")
            return Same(arr(_dict(x.get("v"))))
        if t == "opaque":
            return Opaque(str(x.get("v"))[:80])
        raise ProtocolError(f"unknown node type {str(t)[:40]!r}")

    try:
        return dec(tree, 0)
    except ProtocolError:
        raise
    except (RecursionError, ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
        raise ProtocolError(f"malformed value ({type(err).__name__})") from None


def _list(v):
    if not isinstance(v, list):
        raise ProtocolError("expected a list")
    return v


def _dict(v):
    if not isinstance(v, dict):
        raise ProtocolError("expected a dict")
    return v


def alias_map(args: tuple, kwargs: dict) -> dict:
    """``id(obj) -> path`` for every array, list and dict reachable from the arguments (the
    worker uses it so that results aliasing an argument come back as references)."""
    out: dict = {}

    def walk(x, path, depth):
        if depth > 16 or not isinstance(x, (np.ndarray, list, dict, tuple)):
            return
        if not isinstance(x, tuple):
            out.setdefault(id(x), path)
        if isinstance(x, dict):
            for k, v in x.items():
                if isinstance(k, (str, int)) and not isinstance(k, bool):
                    walk(v, path + [k], depth + 1)
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, path + [i], depth + 1)

    for i, a in enumerate(args):
        walk(a, ["a", i], 0)
    for k, v in kwargs.items():
        walk(v, ["k", k], 0)
    return out


def arrays_of(args: tuple, kwargs: dict) -> list:
    """Every array reachable from the arguments (the worker keeps them alive through a call,
    so that the ids it reports as "the same object" cannot be reused by new arrays)."""
    out, stack = [], [(v, 0) for v in (*args, *kwargs.values())]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, np.ndarray):
            out.append(x)
        elif depth < 16 and isinstance(x, dict):
            stack.extend((v, depth + 1) for v in x.values())
        elif depth < 16 and isinstance(x, (list, tuple)):
            stack.extend((v, depth + 1) for v in x)
    return out


def resolve_path(args: tuple, kwargs: dict, path: list):
    """The argument (or the part of one) a ``ref`` node names.  Every step is a plain int or
    str key into a list, tuple or dict (the paths :func:`alias_map` makes): never an index
    into an array, where a list would be fancy indexing, a copy as large as the attacker
    likes, made before any budget could count it."""
    if len(path) < 2 or path[0] not in ("a", "k") or len(path) > 18 or not all(
            type(step) in (int, str) for step in path[1:]):
        raise ProtocolError("bad reference path")
    try:
        obj = args[path[1]] if path[0] == "a" else kwargs[path[1]]
        for step in path[2:]:
            if not isinstance(obj, (list, tuple, dict)):
                raise TypeError
            obj = obj[step]
    except (IndexError, KeyError, TypeError):
        raise ProtocolError("reference to a missing argument") from None
    return obj


def write_back(orig: Any, after: Any) -> Any:
    """Apply the worker's changes of one argument to the grader's copy ``orig``, keeping
    object identity (so aliasing behaves as if the function had run here): an array that is
    still the same object there (:class:`Same`) is changed in place here; one the call
    replaced is replaced here too, leaving the old array as it was.  Returns the object to
    use in place of ``orig`` (``orig`` itself when it could be updated in place)."""
    if isinstance(after, Same):
        value = after.value
        if isinstance(orig, np.ndarray) and orig.shape == value.shape and orig.dtype == value.dtype \
                and orig.flags.writeable:
            if not np.array_equal(orig, value, equal_nan=True):
                orig[...] = value
            return orig
        return value
    if isinstance(orig, dict) and isinstance(after, dict):
        for k in list(orig):
            if k not in after:
                del orig[k]
        for k, v in after.items():
            orig[k] = write_back(orig[k], v) if k in orig else v
        return orig
    if isinstance(orig, list) and isinstance(after, list):
        if len(orig) == len(after):
            for i, v in enumerate(after):
                orig[i] = write_back(orig[i], v)
        else:
            orig[:] = after
        return orig
    if isinstance(orig, tuple) and isinstance(after, tuple) and len(orig) == len(after):
        new = tuple(write_back(o, a) for o, a in zip(orig, after))
        return orig if all(n is o for n, o in zip(new, orig)) else new
    return after


# ----------------------------------------------------------------------------- framing


def send(fd: int, header: dict, buffers: list = (), deadline=None) -> None:
    """Write one message.  With a ``deadline`` (a budget with ``left()``), ``fd`` must be
    non-blocking: a peer that stops reading makes this raise ``TimeoutError`` when the
    deadline passes instead of blocking forever."""
    header = dict(header, bufs=[len(b) for b in buffers])
    head = json.dumps(header).encode()
    data = b"".join([_HEAD.pack(len(head), sum(len(b) for b in buffers)), head, *buffers])
    view = memoryview(data)
    while view:
        if deadline is not None:
            left = deadline.left()
            if left <= 0:
                raise TimeoutError
            _, ready, _ = select.select([], [fd], [], left)
            if not ready:
                continue  # the budget decides, with the time now, whether time is up
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[n:]


def _read_exact(fd: int, n: int, deadline) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline.left()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline=None) -> tuple[dict, list]:
    """Read one message; its sizes are checked against the limits before it is read."""
    n_head, n_buf = _HEAD.unpack(_read_exact(fd, _HEAD.size, deadline))
    if n_head > MAX_HEADER or n_buf > MAX_BUFFERS:
        raise ProtocolError(f"a message of {n_head + n_buf} bytes is larger than the limit "
                            f"({MAX_HEADER} bytes of header, {MAX_BUFFERS} of arrays)")
    try:
        header = json.loads(_read_exact(fd, n_head, deadline))
    except (ValueError, RecursionError):
        raise ProtocolError("message header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ProtocolError("message header is not an object")
    sizes = header.get("bufs", [])
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes) \
            or sum(sizes) != n_buf:
        raise ProtocolError("buffer sizes do not add up")
    raw = _read_exact(fd, n_buf, deadline) if n_buf else b""
    buffers, pos = [], 0
    for s in sizes:
        buffers.append(raw[pos:pos + s])
        pos += s
    return header, buffers
