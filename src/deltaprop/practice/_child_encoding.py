"""What ``deltaprop check``'s child sends back: the learner's values and errors as JSON data.

Loaded by path by ``_child.py`` (the child never imports deltaprop) when it starts, before
any learner's code; standard library only (NumPy is passed in as ``np``).  Plan values become
the learner's arguments (:func:`_decode`); return values become arrays of numbers, sequences,
None or 'unreadable' (:func:`_encode`); an exception becomes its kind, message and line in
the learner's file (:func:`_describe_error`); snapshots tell whether a call changed its
inputs in place (:func:`_changed`).
"""

import linecache
import os
import sys
import traceback

MAX_ELEMENTS = 100_000               # numbers sent back per call, at most
MAX_DEPTH = 4                        # nesting of tuples / lists in a return value
MAX_ITEMS = 1000                     # a longer sequence is sent as one array
_PATH = [""]                         # the learner's file, once known


def _locate(error, path):
    """The deepest line of the learner's file in the traceback of ``error``."""
    if isinstance(error, SyntaxError) and type(error.lineno) is int \
            and isinstance(error.filename, str) and os.path.abspath(error.filename) == path:
        return error.lineno, str(error.text or "").strip()
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.abspath(frame.filename) == path:
            line = frame.lineno
    if line is None:
        return None, ""
    return line, linecache.getline(path, line).strip()


def _describe_error(error, path):
    """``{kind, message, line, source}`` of an exception, located in the learner's file."""
    try:
        line, source = _locate(error, path)
    except BaseException:  # noqa: BLE001 - a learner's SyntaxError may carry anything
        line, source = None, ""
    try:
        if isinstance(error, SyntaxError):
            message = str(error.msg)
        elif isinstance(error, SystemExit):
            message = repr(error.code)
        else:
            message = str(error)
    except BaseException:  # noqa: BLE001 - a learner's __str__ / __repr__ may raise too
        message = "(its message could not be read)"
    return {"kind": type(error).__name__, "message": message[:2000], "line": line,
            "source": source[:500]}


def _frame_line(path):
    """The innermost line of the learner's file on the current stack, if any."""
    frame = sys._getframe(1)
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename) == path:
            return frame.f_lineno, linecache.getline(path, frame.f_lineno).strip()
        frame = frame.f_back
    return None, ""


def _decode(value, np):
    """A plan value -> the argument the learner receives."""
    if "array" in value:
        spec = value["array"]
        return np.array(spec["data"], dtype=spec["dtype"]).reshape(spec["shape"])
    if "list" in value:
        return [_decode(item, np) for item in value["list"]]
    return value["number"]


def _encode(value, np, budget, depth=0):
    """A learner's return value -> JSON data: arrays, sequences, None or 'unreadable'."""
    if value is None:
        return {"none": True}
    if isinstance(value, (tuple, list)) and depth < MAX_DEPTH and len(value) <= MAX_ITEMS:
        items = [_encode(item, np, budget, depth + 1) for item in list(value)]
        return {"seq": items, "tuple": isinstance(value, tuple)}
    try:
        array = np.asarray(value)
    except Exception as error:
        found = _describe_error(error, _PATH[0])
        if found["line"] is not None:
            raise                    # the learner's own __array__ / __len__ raised
        return {"unreadable": f"not an array of numbers ({type(value).__name__}: "
                              f"{found['message'][:200]})", "dtype": "none"}
    kind = array.dtype.kind
    if kind == "c":
        return {"unreadable": f"complex numbers (dtype {array.dtype})", "dtype": "complex"}
    if kind not in "biuf":
        return {"unreadable": f"not an array of numbers (dtype {array.dtype}, "
                              f"{type(value).__name__})", "dtype": str(array.dtype)}
    if array.size > budget[0]:
        return {"unreadable": f"far too large (shape {list(array.shape)})",
                "shape": list(array.shape)}
    budget[0] -= array.size
    array = array.astype(np.float64)
    if isinstance(value, np.ma.MaskedArray):     # a masked entry has no value: NaN
        array[np.ma.getmaskarray(value)] = np.nan
    data = array.ravel().tolist()
    return {"array": {"shape": list(array.shape), "data": data}}


def _snapshot(value, np):
    """What an argument holds, to tell afterwards whether the call changed it in place."""
    if isinstance(value, list):
        return ("list", len(value), [_snapshot(item, np) for item in value])
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    return ("other", repr(value))


def _changed(names, before, args, np):
    changed = []
    for name, snapshot, arg in zip(names, before, args):
        try:
            if _snapshot(arg, np) != snapshot:
                changed.append(name)
        except BaseException:  # noqa: BLE001 - an input turned into something unreadable
            changed.append(name)
    return changed
