"""The library's one validation layer: every public function checks its arguments here.

Each check returns the argument in canonical form (a Python ``float`` or ``int``, or a float
``ndarray``) or raises :class:`ValueError` with a message that names the argument, says what is
allowed and shows what was given, e.g. ``eta must be a real number in (0, 0.6667), got 0.9``.

The coercion rule (one rule, applied everywhere)
------------------------------------------------
- A *real number* is a Python ``int`` or ``float``, a numpy integer or floating scalar, or a 0-d
  array of such. Booleans (``True``, ``numpy.bool_``), strings (``"0.5"``), ``None``, complex
  numbers and other objects are refused, never converted.
- An *array of reals* is anything ``numpy.asarray`` turns into an integer or floating array (lists,
  tuples, ndarrays); boolean, complex, string and object arrays are refused.
- An *integer* is a real number with an integral value: ``7``, ``numpy.int64(7)`` and ``7.0`` or
  ``1e12`` are accepted (counts are often written in floating notation); ``7.5`` is refused.
- NaN is always refused; infinities are refused unless a function says it accepts them.

Caps on requested work
----------------------
A request whose cost would exceed about a minute of computation or a few GiB of memory on a
2-core machine is refused by :func:`check_work`, with a message that gives the estimate, the limit,
and how to lift it deliberately::

    with scalinglaws.work_limits(operations=1e12, memory_bytes=16 * 2**30):
        scalinglaws.linear1d.simulate(0.1, 10**6, 10**6)

Each function estimates its cost in *elementary operations* (one floating-point update of one
element of a vectorised array counts as one) and in bytes of its largest allocations.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "WorkLimits",
    "check_work",
    "choice",
    "count_text",
    "counts_as_floats",
    "current_limits",
    "describe_interval",
    "flag",
    "integer",
    "integer_array",
    "not_representable",
    "probability_vector",
    "real",
    "real_array",
    "real_or_array",
    "seed",
    "within_doubles",
    "work_limits",
]


# ---------------------------------------------------------------------------------------------
# Work caps
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkLimits:
    """The largest work a single call may request before it is refused.

    ``operations``: elementary vectorised operations (about 3e10 is a minute on a 2-core machine
    for numpy element-wise work). ``memory_bytes``: the largest total allocation (4 GiB).
    """

    operations: float = 3e10
    memory_bytes: float = 4 * 2**30


_LIMITS = [WorkLimits()]
_MAX_DOUBLE = float(np.finfo(float).max)


def current_limits() -> WorkLimits:
    """The limits in force (the innermost :func:`work_limits` context, else the defaults)."""
    return _LIMITS[-1]


@contextlib.contextmanager
def work_limits(operations: float | None = None, memory_bytes: float | None = None) -> Iterator[WorkLimits]:
    """Raise (or lower) the caps on requested work inside a ``with`` block.

    Parameters
    ----------
    operations : float, optional
        New cap on elementary operations per call (default 3e10, about a minute); ``inf`` lifts it.
    memory_bytes : float, optional
        New cap on the bytes one call may allocate (default 4 GiB); ``inf`` lifts it.
    """
    base = current_limits()
    new = WorkLimits(
        operations=base.operations if operations is None else real("operations", operations, low=0,
                                                                    low_open=True, allow_inf=True),
        memory_bytes=base.memory_bytes if memory_bytes is None else real(
            "memory_bytes", memory_bytes, low=0, low_open=True, allow_inf=True),
    )
    _LIMITS.append(new)
    try:
        yield new
    finally:
        _LIMITS.pop()


def check_work(what: str, *, operations: float = 0.0, memory_bytes: float = 0.0, sizes: str = "") -> None:
    """Refuse a call whose estimated cost exceeds :func:`current_limits`.

    Parameters
    ----------
    what : str
        The function, as the user called it (``"linear1d.simulate"``).
    operations, memory_bytes : float
        The call's estimated cost. Python ints of any size are accepted (``T * runs`` may be 1e30).
    sizes : str
        The arguments that set the cost, as the user gave them (``"T * runs = 1e+30"``).
    """
    limits = current_limits()
    where = f" ({sizes})" if sizes else ""
    operations, memory_bytes = _as_cost(operations), _as_cost(memory_bytes)
    if operations > limits.operations:
        raise ValueError(
            f"{what}: the request{where} needs about {operations:.1e} elementary operations, above "
            f"the limit of {limits.operations:.1e} (about a minute on a 2-core machine); to run it anyway, "
            f"call it inside `with scalinglaws.work_limits(operations={_round_up(operations)}):`")
    if memory_bytes > limits.memory_bytes:
        raise ValueError(
            f"{what}: the request{where} needs about {_bytes(memory_bytes)} of memory, above the limit of "
            f"{_bytes(limits.memory_bytes)}; to run it anyway (on a machine that has the memory), call it "
            f"inside `with scalinglaws.work_limits(memory_bytes={_round_up(memory_bytes)}):`")


def _as_cost(x) -> float:
    """A cost as a float; a Python int beyond the largest double (``10**400``) becomes ``inf``."""
    try:
        return float(x)
    except OverflowError:
        return float("inf")


def _round_up(x: float) -> str:
    x = float(x)
    if not np.isfinite(x):
        return "float('inf')"
    exponent = int(np.floor(np.log10(x))) if x > 0 else 0
    return f"{np.ceil(x / 10**exponent):.0f}e{exponent}"


def _bytes(x: float) -> str:
    x = float(x)
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return f"{x:.0f} bytes"


# ---------------------------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------------------------

def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe_interval(low=None, high=None, low_open: bool = False, high_open: bool = False) -> str:
    """Human-readable domain: ``(0, 1/3]``-style for two ends, ``>= 1`` or ``< 2`` for one."""
    if low is not None and high is not None:
        return f"{'(' if low_open else '['}{_num(low)}, {_num(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {_num(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {_num(high)}"
    return "any value"


def _num(x) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, numbers.Integral):
        return str(int(x))
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def _is_real_scalar(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, (numbers.Real, np.integer, np.floating))


def real(name: str, value, *, low=None, high=None, low_open: bool = False, high_open: bool = False,
         allow_inf: bool = False, domain: str | None = None) -> float:
    """Check a real scalar and return it as a Python float.

    ``low``/``high`` bound it (``low_open``/``high_open`` exclude the end); ``domain`` replaces the
    generated description of the allowed values in the message (e.g. ``"in (0, 2B/(B+2)) = (0, 0.667)"``).
    """
    allowed = domain or ("a real number" + ("" if low is None and high is None
                                            else " " + _interval_phrase(low, high, low_open, high_open)))
    if not _is_real_scalar(value):
        raise ValueError(f"{name} must be {allowed}, got {_show(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be {allowed} representable as a float, got an integer of "
                         f"{len(str(abs(int(value))))} digits") from None
    if np.isnan(x) or (np.isinf(x) and not allow_inf):
        raise ValueError(f"{name} must be {'finite, ' if not np.isnan(x) else 'a number, not NaN, '}"
                         f"{allowed}, got {_show(value)}")
    if not _in_interval(x, low, high, low_open, high_open):
        raise ValueError(f"{name} must be {allowed}, got {_show(value)}")
    return x


def _interval_phrase(low, high, low_open, high_open) -> str:
    text = describe_interval(low, high, low_open, high_open)
    return f"in {text}" if low is not None and high is not None else text


def _in_interval(x, low, high, low_open, high_open):
    x = np.asarray(x)
    ok = np.ones(x.shape, dtype=bool)
    if low is not None:
        ok &= (x > low) if low_open else (x >= low)
    if high is not None:
        ok &= (x < high) if high_open else (x <= high)
    return bool(np.all(ok))


def integer(name: str, value, *, low: int | None = 0, high: int | None = None, domain: str | None = None) -> int:
    """Check an integer (integral floats such as ``1e12`` allowed) and return a Python int.

    Python ints of any size are kept exact (``10**30`` stays ``10**30``), so a caller can refuse or
    handle sizes that floats would round.
    """
    allowed = domain or ("an integer" + ("" if low is None and high is None
                                         else " " + _interval_phrase(low, high, False, False)))
    if not _is_real_scalar(value):
        raise ValueError(f"{name} must be {allowed}, got {_show(value)}")
    if isinstance(value, np.ndarray):
        value = value[()]
    if isinstance(value, (numbers.Integral, np.integer)):
        result = int(value)
    else:
        x = float(value)
        if not np.isfinite(x) or x != np.floor(x):
            raise ValueError(f"{name} must be {allowed}, got {_show(value)}")
        result = int(x)
    if (low is not None and result < low) or (high is not None and result > high):
        raise ValueError(f"{name} must be {allowed}, got {_show(value)}")
    return result


def seed(name: str, value) -> int:
    """Check a random seed: an integer in [0, 2**63)."""
    return integer(name, value, low=0, high=2**63 - 1, domain="an integer seed in [0, 2**63)")


def choice(name: str, value, allowed: Sequence[str]) -> str:
    """Check that ``value`` is one of the strings ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {_show(value)}")
    return value


def flag(name: str, value) -> bool:
    """Check a boolean switch (``True``/``False`` or numpy's booleans only; 0 and 1 are refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------

def real_array(name: str, value, *, low=None, high=None, low_open: bool = False, high_open: bool = False,
               allow_inf: bool = False, ndim: int | None = None, min_size: int = 0,
               shape: tuple | None = None, domain: str | None = None) -> np.ndarray:
    """Check an array (or scalar) of reals and return it as a float ndarray.

    ``ndim`` and ``shape`` (``None`` entries are free) constrain the layout; ``min_size`` the number of
    elements; the bounds apply to every element, and the message shows the first offending one.
    """
    allowed = domain or ("real numbers" + ("" if low is None and high is None
                                           else " " + _interval_phrase(low, high, low_open, high_open)))
    if isinstance(value, (str, bytes)) or value is None:
        raise ValueError(f"{name} must be an array of {allowed}, got {_show(value)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of {allowed}, got {_show(value)}") from None
    if raw.dtype.kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
                "O": "objects (ragged or non-numeric)"}.get(raw.dtype.kind, f"dtype {raw.dtype}")
        raise ValueError(f"{name} must be an array of {allowed}, got an array of {what}: {_show(value)}")
    arr = raw.astype(float, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-dimensional array of {allowed}, got shape {arr.shape}")
    if shape is not None and (arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape))):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got {arr.size}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad):
        index = _first(bad)
        raise ValueError(f"{name} must be {'free of NaN' if allow_inf else 'finite'} ({allowed}), "
                         f"got {_at(name, index)} = {float(arr[index])!r}")
    if low is not None or high is not None:
        ok = np.ones(arr.shape, dtype=bool)
        if low is not None:
            ok &= (arr > low) if low_open else (arr >= low)
        if high is not None:
            ok &= (arr < high) if high_open else (arr <= high)
        if not np.all(ok):
            index = _first(~ok)
            raise ValueError(f"{name} must be {allowed}, got {_at(name, index)} = {float(arr[index]):.6g}")
    return arr


def _at(name: str, index: tuple) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def _first(mask: np.ndarray):
    if mask.ndim == 0:
        return ()
    return tuple(int(i) for i in np.argwhere(mask)[0])


def integer_array(name: str, value, *, low=0, high=None, ndim: int | None = None, min_size: int = 0,
                  domain: str | None = None) -> np.ndarray:
    """Check an array of integers (integral floats allowed) and return it as a float ndarray.

    Floats, because the library's closed forms take counts such as T = 1e12 as floats; values
    above 2**53 are not exact and callers that need exact integers use :func:`integer`.
    """
    allowed = domain or ("integers" + ("" if low is None and high is None
                                       else " " + _interval_phrase(low, high, False, False)))
    arr = real_array(name, value, ndim=ndim, min_size=min_size, domain=allowed)
    if np.any(arr != np.floor(arr)):
        index = _first(arr != np.floor(arr))
        raise ValueError(f"{name} must be {allowed}, got {_at(name, index)} = {float(arr[index])!r}")
    return real_array(name, arr, low=low, high=high, domain=allowed)


def real_or_array(name: str, value, one: str, many: str, ndim: int | None = None, **bounds) -> np.ndarray:
    """A real scalar (checked by :func:`real` with domain ``one``) or an array (by :func:`real_array`
    with domain ``many``), returned as an ndarray (0-d for a scalar). ``bounds``: ``low``, ``high``,
    ``low_open``, ``high_open`` as in :func:`real`; ``ndim`` given: an array of that dimension only."""
    if ndim is None and not isinstance(value, (list, tuple)) and np.ndim(value) == 0:
        return np.asarray(real(name, value, domain=one, **bounds))
    return real_array(name, value, domain=many, ndim=ndim, **bounds)


def counts_as_floats(name: str, value, low: int = 0, one: str = "", many: str = "") -> np.ndarray:
    """Integer counts, scalar or array, as a float ndarray: integral floats such as ``1e12`` are
    accepted, and Python integers up to the largest double (about 1.8e308); a larger integer is
    refused with its number of digits. ``one``/``many``: the domain named in the message."""
    one = one or f"an integer >= {low}"
    many = many or f"integers >= {low}"
    within_doubles(name, value, one)
    if not isinstance(value, (list, tuple)) and np.ndim(value) == 0:
        return np.asarray(float(integer(name, value, low=low, domain=one)))
    return integer_array(name, value, low=low, domain=many)


def within_doubles(name: str, value, domain: str) -> None:
    """Refuse a Python integer beyond the largest double (about 1.8e308), saying how many digits it has."""
    if (isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
            and abs(value) > _MAX_DOUBLE):
        raise ValueError(f"{name} must be {domain} up to 1.8e308 (a double), got an integer of "
                         f"{len(str(abs(int(value))))} digits")


def count_text(n) -> str:
    """A count for a message, ``1e+30``; Python integers beyond the doubles too (``1e+400``)."""
    n = int(n)
    return f"{n:.3g}" if n < 10**300 else f"1e+{len(str(n)) - 1}"


def probability_vector(name: str, value, *, atol: float = 1e-9) -> np.ndarray:
    """Check a 1-D array of non-negative reals summing to 1 (within ``atol``)."""
    p = real_array(name, value, low=0, ndim=1, min_size=1, domain="non-negative reals summing to 1")
    if abs(p.sum() - 1) > atol:
        raise ValueError(f"{name} must sum to 1, got a sum of {p.sum()!r}")
    return p


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

def not_representable(what: str, detail: str = "") -> ValueError:
    """The error to raise when the true value exists but does not fit in a double."""
    return ValueError(f"{what} is not representable in double precision" + (f": {detail}" if detail else ""))
