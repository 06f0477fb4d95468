"""Argument checks shared by the library: each error names the argument, its value and the domain."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(name: str, value) -> np.ndarray:
    """Return ``value`` as a float array, refusing NaN, infinities and non-numbers."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or an array of them, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def as_real(name: str, value, allowed: str, ok) -> float:
    """Return ``value`` as a finite float for which ``ok(value)`` holds; else ValueError naming ``allowed``."""
    message = f"{name} must be {allowed}, got {value!r}"
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not np.isfinite(result) or not ok(result):
        raise ValueError(message)
    return result


def as_count_array(name: str, value, minimum: int = 0) -> np.ndarray:
    """Return ``value`` as a float array of integers >= ``minimum`` (floats such as 1e12 allowed)."""
    arr = as_float_array(name, value)
    if np.any(arr != np.floor(arr)) or np.any(arr < minimum):
        raise ValueError(f"{name} must be an integer >= {minimum} (or an array of them), got {value!r}")
    return arr


def as_int(name: str, value, minimum: int = 0) -> int:
    """Return a Python int >= ``minimum``; integral floats (1e5) are accepted, 2.5 and True are not."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if not np.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value
