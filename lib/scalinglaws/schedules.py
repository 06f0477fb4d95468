r"""Learning-rate schedules as per-step rate arrays.

Every function returns a float array ``etas`` of length ``T`` where ``etas[s]`` is the rate used
at step ``s`` (``s = 0, ..., T-1``; the loss after ``n`` steps has used ``etas[:n]``).  All
schedules accept a linear warmup of ``warmup`` steps that occupies the first steps of the run:

.. math::  \eta_s = \eta_{\max} \frac{s + 1}{W}, \qquad 0 \le s < W,

which reaches ``eta_max`` at its last step and never uses a zero rate (the exact models of Part I
need every rate in ``(0, 1/3]``).  The post-warmup part occupies steps ``W, ..., T-1``:

* :func:`constant`:  ``eta_max``.
* :func:`cosine`:  ``eta_min + (eta_max - eta_min) (1 + cos(pi (s - W) / (T - W))) / 2``.
* :func:`wsd` (warmup-stable-decay): ``eta_max`` until ``decay_start - 1``, then over the last
  ``D = T - decay_start`` steps either geometric decay
  ``eta_max^((T - s)/D) eta_min^((s - decay_start)/D)`` or linear decay
  ``eta_max (1 - u) + eta_min u`` with ``u = (s - decay_start)/D``.
* :func:`two_stage`:  ``eta_max`` until ``switch - 1``, then ``eta_low``.

These are the conventions of the published 400M-parameter runs of Luo et al. (2025) (their README
gives the same cosine, geometric and linear decays), except that their warmup starts from a
zero rate.

References: Luo et al. (2025), "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
Schedules", arXiv:2503.12811; Hägele et al. (2024) for warmup-stable-decay.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, as_int

__all__ = ["area", "constant", "cosine", "linear_warmup", "two_stage", "wsd"]


def _positive(name: str, value) -> float:
    v = float(as_float_array(name, value))
    if not v > 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def _check_T_warmup(T, warmup) -> tuple[int, int]:
    T = as_int("T", T, minimum=1)
    warmup = as_int("warmup", warmup, minimum=0)
    if warmup >= T:
        raise ValueError(f"warmup must be an integer in [0, T-1] = [0, {T - 1}], got {warmup!r}")
    return T, warmup


def linear_warmup(warmup: int, eta_max: float) -> np.ndarray:
    r"""The warmup ramp ``eta_max (s + 1) / W`` for ``s = 0, ..., W - 1`` (empty if ``W = 0``).

    Parameters
    ----------
    warmup : int >= 0, the number of warmup steps W.
    eta_max : float > 0, the peak rate reached at the last warmup step.

    Examples
    --------
    >>> linear_warmup(4, 0.2).tolist()
    [0.05, 0.1, 0.15000000000000002, 0.2]
    """
    W = as_int("warmup", warmup, minimum=0)
    eta_max = _positive("eta_max", eta_max)
    return eta_max * (np.arange(1, W + 1, dtype=float) / max(W, 1))  # exact eta_max at s = W-1


def constant(T: int, eta_max: float, warmup: int = 0) -> np.ndarray:
    r"""Constant rate ``eta_max`` after a linear warmup of ``warmup`` steps; length ``T``.

    Examples
    --------
    >>> constant(3, 0.1).tolist()
    [0.1, 0.1, 0.1]
    """
    T, W = _check_T_warmup(T, warmup)
    eta_max = _positive("eta_max", eta_max)
    return np.concatenate([linear_warmup(W, eta_max), np.full(T - W, eta_max)])


def cosine(T: int, eta_max: float, eta_min: float = 0.0, warmup: int = 0) -> np.ndarray:
    r"""Cosine decay from ``eta_max`` towards ``eta_min`` after a linear warmup.

    .. math:: \eta_s = \eta_{\min} + \tfrac12 (\eta_{\max} - \eta_{\min})
              \left(1 + \cos\frac{\pi (s - W)}{T - W}\right), \qquad W \le s < T.

    ``eta_s`` never reaches ``eta_min`` (the last step is at angle ``pi (T-W-1)/(T-W)``), so every
    rate is positive even for ``eta_min = 0``.

    Parameters
    ----------
    T : int >= 1;  eta_max : float > 0;  eta_min : float in [0, eta_max];
    warmup : int in [0, T - 1].
    """
    T, W = _check_T_warmup(T, warmup)
    eta_max = _positive("eta_max", eta_max)
    eta_min = float(as_float_array("eta_min", eta_min))
    if not 0 <= eta_min <= eta_max:
        raise ValueError(f"eta_min must lie in [0, eta_max] = [0, {eta_max:.6g}], got {eta_min!r}")
    s = np.arange(T - W, dtype=float)
    # (1 + cos x)/2 = cos^2(x/2): no cancellation near x = pi
    body = eta_min + (eta_max - eta_min) * np.cos(0.5 * np.pi * s / (T - W)) ** 2
    return np.concatenate([linear_warmup(W, eta_max), body])


def wsd(T: int, eta_max: float, decay_start: int, eta_min: float, decay: str = "geometric",
        warmup: int = 0) -> np.ndarray:
    r"""Warmup-stable-decay: ``eta_max`` until ``decay_start - 1``, then decay over ``[decay_start, T)``.

    With ``D = T - decay_start`` and ``u = (s - decay_start)/D`` for ``decay_start <= s < T``:

    * ``decay="geometric"``: ``eta_s = eta_max^(1 - u) eta_min^u`` (needs ``eta_min > 0``);
    * ``decay="linear"``:    ``eta_s = eta_max (1 - u) + eta_min u``.

    ``decay_start = warmup`` gives a pure (geometric or linear) decay after the warmup.

    Parameters
    ----------
    T : int >= 1;  eta_max : float > 0;  decay_start : int in [warmup, T - 1];
    eta_min : float in [0, eta_max] (positive for geometric decay);
    decay : "geometric" or "linear";  warmup : int in [0, T - 1].
    """
    T, W = _check_T_warmup(T, warmup)
    eta_max = _positive("eta_max", eta_max)
    decay_start = as_int("decay_start", decay_start, minimum=0)
    if not W <= decay_start <= T - 1:
        raise ValueError(f"decay_start must be an integer in [warmup, T-1] = [{W}, {T - 1}], "
                         f"got {decay_start!r}")
    eta_min = float(as_float_array("eta_min", eta_min))
    if decay not in ("geometric", "linear"):
        raise ValueError(f"decay must be 'geometric' or 'linear', got {decay!r}")
    low = 0.0 if decay == "linear" else np.nextafter(0.0, 1.0)
    if not low <= eta_min <= eta_max:
        bracket = "[0" if decay == "linear" else "(0"
        raise ValueError(f"eta_min must lie in {bracket}, eta_max] = {bracket}, {eta_max:.6g}] for "
                         f"{decay} decay, got {eta_min!r}")
    D = T - decay_start
    u = np.arange(D, dtype=float) / D
    if decay == "geometric":
        tail = np.exp((1.0 - u) * np.log(eta_max) + u * np.log(eta_min))
    else:
        tail = eta_max * (1.0 - u) + eta_min * u
    return np.concatenate([linear_warmup(W, eta_max), np.full(decay_start - W, eta_max), tail])


def two_stage(T: int, eta_max: float, eta_low: float, switch: int, warmup: int = 0) -> np.ndarray:
    r"""Two-stage schedule: ``eta_max`` for ``s < switch``, ``eta_low`` for ``switch <= s < T``.

    Parameters
    ----------
    T : int >= 1;  eta_max : float > 0;  eta_low : float > 0;
    switch : int in [warmup, T];  warmup : int in [0, T - 1].
    """
    T, W = _check_T_warmup(T, warmup)
    eta_max = _positive("eta_max", eta_max)
    eta_low = _positive("eta_low", eta_low)
    switch = as_int("switch", switch, minimum=0)
    if not W <= switch <= T:
        raise ValueError(f"switch must be an integer in [warmup, T] = [{W}, {T}], got {switch!r}")
    return np.concatenate([linear_warmup(W, eta_max), np.full(switch - W, eta_max),
                           np.full(T - switch, eta_low)])


def area(etas) -> np.ndarray:
    r"""Cumulative learning-rate area ``S1(n) = sum_{s < n} eta_s`` for ``n = 1, ..., T``."""
    etas = as_float_array("etas", etas)
    if etas.ndim != 1:
        raise ValueError(f"etas must be a 1-D array, got shape {etas.shape}")
    return np.cumsum(etas)
