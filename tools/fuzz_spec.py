"""Argument specifications for the public-API fuzz (used by tools/fuzz_registry.py).

An :class:`Arg` says what kind of value a parameter takes (a real, an integer, an array of reals, a
choice, a flag, an object, a mapping of reals, or something custom) and its domain *given the other
arguments of the example call it belongs to*. From it, :func:`perturbations` derives the values the
fuzz substitutes for that one argument, each labelled with what a correct library must do:

- ``"invalid"``: NaN, infinities, wrong types, values outside the domain; the call must raise a
  ``ValueError`` whose message names the argument;
- ``"valid"``: extreme but valid values (domain edges, 1e300, 10**30 for a size, numpy scalar types);
  the call must return a finite, plausible result or refuse with a ``ValueError`` that names an
  argument, states a work limit (``check_work``) or says the value is not representable;
- ``"probe"``: values whose validity the registry does not decide; any result or named error is fine,
  a crash, hang, unnamed error or NaN is not.

Perturbations marked ``core`` are the fast set that ``tests/test_public_api.py`` checks on every
numeric argument: NaN, inf, a string, None, True and the first out-of-domain value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "IA",
    "RA",
    "Arg",
    "Choice",
    "Custom",
    "Example",
    "Flag",
    "I",
    "Mapping",
    "Obj",
    "Perturbation",
    "R",
    "Seed",
    "perturbations",
    "show",
]


@dataclass
class Arg:
    """Domain of one argument. See the module docstring; build with R, I, RA, ... below."""

    kind: str                      # real, int, seed, reals, ints, choice, flag, object, mapping, custom
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    inf: bool = False              # +-inf are in the domain (where the bounds allow them)
    none: bool = False             # None is a valid value (an optional argument)
    scalar_ok: bool = True         # arrays: a plain scalar is accepted
    ndim: int | None = None        # arrays: required number of dimensions
    min_size: int = 0              # arrays: fewest elements (an empty array is a probe when 0)
    size: bool = False             # integers that set the amount of work: also try 10**9 .. 10**30
    scale: bool = False            # arrays: multiplying every element by 1e±150 stays in the domain
    bad: tuple = ()                # extra out-of-domain values (or callables base -> value)
    extreme: tuple = ()            # extra valid extreme values (or callables base -> value)
    probe: tuple = ()              # extra values of undecided validity (or callables base -> value)
    options: tuple = ()            # choice: the allowed strings
    keys: dict = field(default_factory=dict)  # mapping: key -> Arg (kind real)
    numeric: bool = True           # checked by the fast test for NaN/inf/str/None/True/out-of-domain
    aliases: tuple = ()            # other names a message may use for this argument (keys of a dict argument)
    nan: bool = False              # arrays: NaN entries are in the domain (documented as "missing")
    note: str = ""


def R(low=None, high=None, low_open=False, high_open=False, **kw) -> Arg:
    """A real scalar."""
    return Arg("real", low, high, low_open, high_open, **kw)


def I(low=0, high=None, **kw) -> Arg:
    """An integer scalar (integral floats such as 1e12 accepted)."""
    return Arg("int", low, high, **kw)


def Seed(**kw) -> Arg:
    return Arg("seed", 0, 2**63 - 1, **kw)


def RA(low=None, high=None, low_open=False, high_open=False, **kw) -> Arg:
    """An array of reals (each element in the domain); a scalar too unless scalar_ok=False."""
    return Arg("reals", low, high, low_open, high_open, **kw)


def IA(low=0, high=None, **kw) -> Arg:
    """An array of integers."""
    return Arg("ints", low, high, **kw)


def Choice(*options, **kw) -> Arg:
    return Arg("choice", options=tuple(options), numeric=False, **kw)


def Flag(**kw) -> Arg:
    return Arg("flag", numeric=False, **kw)


def Obj(**kw) -> Arg:
    """An object of a library type (a problem, a trajectory, a generator)."""
    kw.setdefault("numeric", False)
    return Arg("object", **kw)


def Mapping(keys: dict, **kw) -> Arg:
    """A mapping of named reals (e.g. fitted parameters)."""
    return Arg("mapping", keys=keys, **kw)


def Custom(bad=(), extreme=(), probe=(), **kw) -> Arg:
    """Anything else: only the explicit bad / extreme / probe values are tried."""
    kw.setdefault("numeric", False)
    return Arg("custom", bad=tuple(bad), extreme=tuple(extreme), probe=tuple(probe), **kw)


@dataclass
class Example:
    """One valid call of a public function and the domains of its arguments.

    ``kwargs`` builds the keyword arguments (called in the worker, so it may create library objects).
    ``check(result, kwargs)`` is a cheap oracle: it returns a description of what is obviously wrong,
    or None. ``nonfinite_ok`` names outputs documented to hold NaN or inf (e.g. "steps never reached").
    ``cost``: "cheap" or "slow" (slow examples get fewer valid-extreme perturbations).
    """

    kwargs: Callable[[], dict]
    args: dict[str, Arg]
    check: Callable[[Any, dict], str | None] | None = None
    nonfinite_ok: bool = False
    cost: str = "cheap"
    note: str = ""


@dataclass
class Perturbation:
    arg: str
    label: str                     # how the value is shown (and its identity in a run)
    value: Any
    expect: str                    # invalid | valid | probe
    core: bool = False             # part of the fast pytest set
    names: tuple = ()              # names that count as naming the argument (arg, mapping key)


def show(value, limit: int = 60) -> str:
    """A short, Python-like rendering of a value for the findings tables."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"np.array({show(value[()])})"
        flat = value.ravel()[:5].tolist()
        body = ", ".join(show(v, 12) for v in flat[:4]) + (", ..." if value.size > 4 else "")
        kind = "" if value.dtype.kind == "f" else f", dtype={value.dtype}"
        if value.ndim == 1 and value.size <= 4:
            return f"np.array([{body}]{kind})"
        return f"array(shape={value.shape}{kind}, [{body}])"
    if isinstance(value, (bool, np.bool_)):
        return ("np.bool_(" + str(bool(value)) + ")") if isinstance(value, np.bool_) else str(value)
    if isinstance(value, (np.floating, np.integer)):
        return f"np.{type(value).__name__}({show(value.item())})"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        short = f"{value:.6g}"
        return text if len(text) <= 12 or float(short) != value else short
    if isinstance(value, int):
        if abs(value) >= 10**6 and value % 10 == 0:
            exp = len(str(abs(value))) - 1
            if value == (1 if value > 0 else -1) * 10**exp:
                return ("-" if value < 0 else "") + f"10**{exp}"
        if abs(value) > 2**40:
            for base in (2,):
                exp = abs(value).bit_length() - 1
                if abs(value) == 2**exp:
                    return ("-" if value < 0 else "") + f"2**{exp}"
        return str(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show(v, 20) for v in list(value)[:4]) + (", ..." if len(value) > 4 else "")
        text = f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
        return text if len(text) <= limit else text[:limit - 4] + "...]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k!r}: {show(v, 12)}" for k, v in list(value.items())[:7])
        return "{" + inner + (", ..." if len(value) > 7 else "") + "}"
    if value is None or isinstance(value, (str, complex)):
        return repr(value)
    name = type(value).__name__
    return f"<{name}>"


# ---------------------------------------------------------------------------------------------
# Deriving the perturbations of one argument
# ---------------------------------------------------------------------------------------------

def _resolve(v, base):
    return v(base) if callable(v) and not isinstance(v, type) else v


def _simple(x: float) -> bool:
    """Whether a bound is (very likely) exact in binary: 1, 0.5, 1e15, 0.01... but not 2/3 or 1/3."""
    return x == round(x, 12)


def _outside(arg: Arg) -> list:
    """Scalar values just outside [low, high] (respecting open ends), most telling first.

    An open end such as 2/3 is not a double: its nearest double may lie inside the interval, so the
    value tried is the next double beyond it.
    """
    out = []
    if arg.low is not None and math.isfinite(arg.low):
        lo = arg.low
        if arg.low_open:
            out.append(lo if _simple(lo) else float(np.nextafter(lo, -np.inf)))
        else:
            out.append(lo - 1 if arg.kind in ("int", "ints", "seed") else lo - max(abs(lo), 1.0) * 0.5)
        if lo >= 0 and -1 not in out and -1.0 not in out:
            out.append(-1 if arg.kind in ("int", "ints", "seed") else -1.0)
    if arg.high is not None and math.isfinite(arg.high):
        hi = arg.high
        if arg.kind in ("int", "ints", "seed"):
            out.append(int(hi) + 1)
        elif arg.high_open:
            out.append(hi if _simple(hi) else float(np.nextafter(hi, np.inf)))
        else:
            out.append(hi + max(abs(hi), 1.0) * 0.5)
    return out


def _inside_extremes(arg: Arg) -> list:
    """Valid scalar extremes: the edges of the domain and, where unbounded, huge magnitudes."""
    out = []
    is_int = arg.kind in ("int", "ints", "seed")
    if arg.low is not None and math.isfinite(arg.low):
        if arg.low_open:
            # (denormals such as 5e-324 are left out: their underflows say little about the library)
            out.append(1e-300 if arg.low == 0 else float(np.nextafter(arg.low, np.inf)))
        else:
            out.append(int(arg.low) if is_int else float(arg.low))
    if arg.high is not None and math.isfinite(arg.high):
        if arg.high_open:
            out.append(float(np.nextafter(arg.high, -np.inf)))
        else:
            out.append(int(arg.high) if is_int else float(arg.high))
    if arg.high is None:
        if is_int:
            out += [10**9, 10**12, 1e12, 10**18, 10**30, 1e30] if arg.size else [10**9, 10**30]
        else:
            out += [1e10, 1e100, 1e300, 1.7976931348623157e308]
    if arg.low is None:
        out += [-1e300] if not is_int else [-(10**30)]
    if arg.inf:
        if arg.high is None:
            out.append(math.inf)
        if arg.low is None:
            out.append(-math.inf)
    return out


def _within(arg: Arg, x) -> bool:
    if arg.low is not None and (x < arg.low or (arg.low_open and x == arg.low)):
        return False
    if arg.high is not None and (x > arg.high or (arg.high_open and x == arg.high)):
        return False
    return True


def _with_element(base, value):
    """``base`` as a float array with its first element replaced by ``value``."""
    arr = np.array(base, dtype=float, copy=True)
    if arr.ndim == 0:
        return value
    arr.flat[0] = value
    return arr


def perturbations(name: str, arg: Arg, base) -> list[Perturbation]:
    """Every value the fuzz substitutes for argument ``name`` whose valid example value is ``base``."""
    P = []

    def add(label, value, expect, core=False, names=(name,)):
        P.append(Perturbation(name, label, value, expect, core, tuple(names) + tuple(arg.aliases)))

    kind = arg.kind
    if kind in ("real", "int", "seed"):
        is_int = kind != "real"
        add("nan", math.nan, "invalid", core=True)
        if not arg.inf:
            add("inf", math.inf, "invalid", core=True)
            add("-inf", -math.inf, "invalid")
        elif arg.low is not None:
            add("-inf", -math.inf, "invalid")
        text = str(base) if base is not None else "1"
        add(repr(text), text, "invalid", core=True)
        if not arg.none:
            add("None", None, "invalid", core=True)
        add("True", True, "invalid", core=True)
        add("1+0j", 1 + 0j, "invalid")
        if is_int:
            add("2.5", 2.5, "invalid")
        first = True
        for v in _outside(arg) + [_resolve(b, base) for b in arg.bad]:
            add(show(v), v, "invalid", core=first)
            first = False
        if kind == "seed":
            add("2**64", 2**64, "invalid")
        for v in _inside_extremes(arg) + [_resolve(e, base) for e in arg.extreme]:
            add(show(v), v, "valid")
        if base is not None and isinstance(base, (int, float)) and not isinstance(base, bool):
            add(show(np.float64(base) if not is_int else np.int64(base)),
                np.float64(base) if not is_int else np.int64(base), "valid")
            if is_int:
                add(show(float(base)), float(base), "valid")
            else:
                add(show(np.array(base)), np.array(base), "valid")
        for v in arg.probe:
            v = _resolve(v, base)
            add(show(v), v, "probe")
    elif kind in ("reals", "ints"):
        is_int = kind == "ints"
        b = np.asarray(1.0 if base is None else base, dtype=float)
        add(show(_with_element(b, math.nan)), _with_element(b, math.nan), "probe" if arg.nan else "invalid",
            core=not arg.nan)
        if not arg.inf:
            add(show(_with_element(b, math.inf)), _with_element(b, math.inf), "invalid", core=True)
        add("'abc'", "abc", "invalid", core=True)
        if not arg.none:
            add("None", None, "invalid", core=True)
        bools = np.ones(b.shape, dtype=bool) if b.ndim else np.bool_(True)
        add(show(bools) if b.ndim else "True", bools if b.ndim else True, "invalid", core=True)
        add("complex", b.astype(complex) + 1j, "invalid")
        if b.ndim >= 1:
            add("ragged [[1], [1, 2]]", [[1.0], [1.0, 2.0]], "invalid")
            add("np.array([])", np.array([]), "invalid" if arg.min_size >= 1 else "probe")
            if arg.ndim is not None:
                add(f"{b.ndim + 1}-D", b[None], "invalid")
            if not arg.scalar_ok:
                add(show(float(b.flat[0])), float(b.flat[0]), "invalid")
        if is_int:
            add(show(_with_element(b, 2.5)), _with_element(b, 2.5), "invalid")
        first = True
        for v in _outside(arg):
            add(show(_with_element(b, v)), _with_element(b, v), "invalid", core=first)
            first = False
        for v in arg.bad:
            v = _resolve(v, base)
            add(show(v), v, "invalid", core=first)
            first = False
        if b.ndim == 0:
            for v in _inside_extremes(arg):
                add(show(v), v, "valid")
        if b.ndim >= 1:
            add("as list", b.tolist(), "valid")
            if arg.scale:
                for f in (1e150, 1e-150):
                    scaled = b * f
                    if np.all([_within(arg, x) for x in scaled.ravel()]) and np.all(np.isfinite(scaled)):
                        add(f"{show(b)} * {f:g}", scaled, "valid")
        for v in arg.extreme:
            v = _resolve(v, base)
            add(show(v), v, "valid")
        for v in arg.probe:
            v = _resolve(v, base)
            add(show(v), v, "probe")
    elif kind == "choice":
        add("'bogus'", "bogus", "invalid")
        if not arg.none:
            add("None", None, "invalid")
        add("1", 1, "invalid")
        if isinstance(base, str) and base.upper() != base:
            add(repr(base.upper()), base.upper(), "invalid")
        for o in arg.options:
            if o != base:
                add(repr(o), o, "valid")
    elif kind == "flag":
        add("1", 1, "invalid")
        add("'True'", "True", "invalid")
        if not arg.none:
            add("None", None, "invalid")
        add("np.bool_(" + str(bool(base)) + ")", np.bool_(bool(base)), "valid")
        add(str(not bool(base)), not bool(base), "valid")
    elif kind == "object":
        if not arg.none:
            add("None", None, "invalid")
        add("'x'", "x", "invalid")
        add("1.5", 1.5, "invalid")
        for v in arg.bad:
            v = _resolve(v, base)
            add(show(v), v, "invalid")
        for v in arg.extreme:
            v = _resolve(v, base)
            add(show(v), v, "valid")
    elif kind == "mapping":
        if not arg.none:
            add("None", None, "invalid", core=True)
        add("'x'", "x", "invalid", core=True)
        keys = list(arg.keys)
        if keys:
            missing = {k: v for k, v in dict(base).items() if k != keys[0]}
            add(f"without {keys[0]!r}", missing, "invalid")
        for key, sub in arg.keys.items():
            names = (name, key)

            def swap(v, key=key):
                d = dict(base)
                d[key] = v
                return d

            add(f"{key}=nan", swap(math.nan), "invalid", core=True, names=names)
            if not sub.inf:
                add(f"{key}=inf", swap(math.inf), "invalid", core=True, names=names)
            add(f"{key}='1'", swap("1"), "invalid", core=True, names=names)
            add(f"{key}=None", swap(None), "invalid", names=names)
            first = True
            for v in _outside(sub) + [_resolve(b, base) for b in sub.bad]:
                add(f"{key}={show(v)}", swap(v), "invalid", core=first, names=names)
                first = False
            for v in _inside_extremes(sub) + [_resolve(e, base) for e in sub.extreme]:
                add(f"{key}={show(v)}", swap(v), "valid", names=names)
    elif kind == "custom":
        for v in arg.bad:
            v = _resolve(v, base)
            add(show(v), v, "invalid")
        for v in arg.extreme:
            v = _resolve(v, base)
            add(show(v), v, "valid")
        for v in arg.probe:
            v = _resolve(v, base)
            add(show(v), v, "probe")
    else:  # pragma: no cover
        raise ValueError(f"unknown kind {kind!r}")
    # labels identify a perturbation within a run: make them unique
    seen: dict[str, int] = {}
    for p in P:
        if p.label in seen:
            seen[p.label] += 1
            p.label = f"{p.label} #{seen[p.label]}"
        else:
            seen[p.label] = 1
    return P
