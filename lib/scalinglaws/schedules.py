r"""Learning-rate schedules as per-step rate arrays.

Every function returns a float array ``etas`` of length ``T`` where ``etas[s]`` is the rate used
at step ``s`` (``s = 0, ..., T-1``; the loss after ``n`` steps has used ``etas[:n]``).  All
schedules accept a linear warmup of ``warmup`` steps that occupies the first steps of the run:

.. math::  \eta_s = \eta_{\max} \frac{s + 1}{W}, \qquad 0 \le s < W,

which reaches ``eta_max`` at its last step and never uses a zero rate (the exact models of Part I
need every rate in ``(0, 1/3]``).  The post-warmup part occupies steps ``W, ..., T-1``; with
``D = T - W`` and ``u = (s - W)/D``:

* :func:`constant`:  ``eta_max``.
* :func:`cosine`:  ``eta_min + (eta_max - eta_min) (1 + cos(pi u)) / 2``.
* :func:`wsd` (warmup-stable-decay): ``eta_max`` until ``decay_start - 1``, then over the last
  ``D' = T - decay_start`` steps either geometric decay
  ``eta_max^((T - s)/D') eta_min^((s - decay_start)/D')`` or linear decay
  ``eta_max (1 - u') + eta_min u'`` with ``u' = (s - decay_start)/D'``.
* :func:`two_stage`:  ``eta_max`` until ``switch - 1``, then ``eta_low``.
* :func:`polynomial_decay`:  ``eta_min + (eta_max - eta_min) (1 - u)^q``.

Every rate is positive whenever ``eta_max > 0`` (the last step sits at ``u = (D-1)/D < 1``); a rate
whose true value is positive but below the smallest double raises ``ValueError`` (not
representable) rather than being returned as 0.

Arguments are checked by the validation layer ``scalinglaws._validation`` (numbers must be numbers; integral floats
such as ``1e6`` are accepted as step counts); an array longer than the memory cap is refused.

These are the conventions of the published 400M-parameter runs of Luo et al. (2025) (their README
gives the same cosine, geometric and linear decays), except that their warmup starts from a
zero rate.

References: Luo et al. (2025), "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
Schedules", arXiv:2503.12811; Hägele et al. (2024) for warmup-stable-decay.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check

__all__ = ["area", "constant", "cosine", "linear_warmup", "polynomial_decay", "two_stage", "wsd"]


def _positive(name: str, value) -> float:
    return check.real(name, value, low=0, low_open=True)


def _check_T_warmup(what: str, T, warmup) -> tuple[int, int]:
    T = check.integer("T", T, low=1)
    # the schedule and two temporaries of its length
    check.check_work(f"schedules.{what}", operations=4.0 * T, memory_bytes=24.0 * T, sizes=f"T = {T}")
    warmup = check.integer("warmup", warmup, low=0, high=T - 1, domain=f"an integer in [0, T-1] = [0, {T - 1}]")
    return T, warmup


def _check_rate_floor(eta_min, eta_max, *, positive: bool = False) -> float:
    if positive:
        return check.real("eta_min", eta_min, low=0, high=eta_max, low_open=True,
                          domain=f"a real number in (0, eta_max] = (0, {eta_max:.6g}]")
    return check.real("eta_min", eta_min, low=0, high=eta_max,
                      domain=f"a real number in [0, eta_max] = [0, {eta_max:.6g}]")


def _representable(etas: np.ndarray, what: str) -> np.ndarray:
    if etas.size and not etas.min() > 0:
        raise check.not_representable(
            f"the smallest rate of this {what} schedule",
            "its true value is positive but below the smallest double; raise eta_max or eta_min")
    return etas


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
    W = check.integer("warmup", warmup, low=0)
    check.check_work("schedules.linear_warmup", operations=2.0 * W, memory_bytes=16.0 * W, sizes=f"warmup = {W}")
    eta_max = _positive("eta_max", eta_max)
    return _ramp(W, eta_max)


def _ramp(W: int, eta_max: float) -> np.ndarray:
    # (s + 1) / W first, then times eta_max: exact eta_max at s = W - 1, and no overflow for huge eta_max
    return _representable(eta_max * (np.arange(1, W + 1, dtype=float) / max(W, 1)), "warmup")


def constant(T: int, eta_max: float, warmup: int = 0) -> np.ndarray:
    r"""Constant rate ``eta_max`` after a linear warmup of ``warmup`` steps; length ``T``.

    Parameters
    ----------
    T : int >= 1;  eta_max : float > 0;  warmup : int in [0, T - 1].

    Examples
    --------
    >>> constant(3, 0.1).tolist()
    [0.1, 0.1, 0.1]
    """
    T, W = _check_T_warmup("constant", T, warmup)
    eta_max = _positive("eta_max", eta_max)
    return np.concatenate([_ramp(W, eta_max), np.full(T - W, eta_max)])


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
    T, W = _check_T_warmup("cosine", T, warmup)
    eta_max = _positive("eta_max", eta_max)
    eta_min = _check_rate_floor(eta_min, eta_max)
    s = np.arange(T - W, dtype=float)
    # (1 + cos x)/2 = cos^2(x/2): no cancellation near x = pi
    body = eta_min + (eta_max - eta_min) * np.cos(0.5 * np.pi * s / (T - W)) ** 2
    return _representable(np.concatenate([_ramp(W, eta_max), body]), "cosine")


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
    T, W = _check_T_warmup("wsd", T, warmup)
    eta_max = _positive("eta_max", eta_max)
    decay_start = check.integer("decay_start", decay_start, low=W, high=T - 1,
                                domain=f"an integer in [warmup, T-1] = [{W}, {T - 1}]")
    decay = check.choice("decay", decay, ("geometric", "linear"))
    eta_min = _check_rate_floor(eta_min, eta_max, positive=decay == "geometric")
    D = T - decay_start
    u = np.arange(D, dtype=float) / D
    if decay == "geometric":
        tail = np.exp((1.0 - u) * np.log(eta_max) + u * np.log(eta_min))
        tail[0] = eta_max                    # exact at the start of the decay
    else:
        tail = eta_max * (1.0 - u) + eta_min * u
    return _representable(np.concatenate([_ramp(W, eta_max), np.full(decay_start - W, eta_max), tail]),
                          f"{decay} WSD")


def two_stage(T: int, eta_max: float, eta_low: float, switch: int, warmup: int = 0) -> np.ndarray:
    r"""Two-stage schedule: ``eta_max`` for ``s < switch``, ``eta_low`` for ``switch <= s < T``.

    Parameters
    ----------
    T : int >= 1;  eta_max : float > 0;  eta_low : float > 0;
    switch : int in [warmup, T];  warmup : int in [0, T - 1].
    """
    T, W = _check_T_warmup("two_stage", T, warmup)
    eta_max = _positive("eta_max", eta_max)
    eta_low = _positive("eta_low", eta_low)
    switch = check.integer("switch", switch, low=W, high=T, domain=f"an integer in [warmup, T] = [{W}, {T}]")
    return np.concatenate([_ramp(W, eta_max), np.full(switch - W, eta_max), np.full(T - switch, eta_low)])


def polynomial_decay(T: int, eta_max: float, power: float, eta_min: float = 0.0, warmup: int = 0) -> np.ndarray:
    r"""Polynomial decay to ``eta_min`` at the end of the run, after a linear warmup.

    .. math:: \eta_s = \eta_{\min} + (\eta_{\max} - \eta_{\min})
              \Bigl(1 - \frac{s - W}{T - W}\Bigr)^{q}, \qquad W \le s < T,

    with ``q = power``; ``q = 1`` is the linear decay.  The last rate is
    ``eta_min + (eta_max - eta_min) (T - W)^{-q} > 0``.

    Parameters
    ----------
    T : int >= 1;  eta_max : float > 0;  power : float > 0;  eta_min : float in [0, eta_max];
    warmup : int in [0, T - 1].
    """
    T, W = _check_T_warmup("polynomial_decay", T, warmup)
    eta_max = _positive("eta_max", eta_max)
    power = check.real("power", power, low=0, low_open=True)
    eta_min = _check_rate_floor(eta_min, eta_max)
    D = T - W
    remaining = (D - np.arange(D, dtype=float)) / D          # 1 - u, in [1/D, 1]
    body = eta_min + (eta_max - eta_min) * np.exp(power * np.log(remaining))
    return _representable(np.concatenate([_ramp(W, eta_max), body]), "polynomial-decay")


def area(etas) -> np.ndarray:
    r"""Cumulative learning-rate area ``S1(n) = sum_{s < n} eta_s`` for ``n = 1, ..., T``.

    Parameters
    ----------
    etas : 1-D array of rates >= 0 (an empty array gives an empty area).
    """
    etas = check.real_array("etas", etas, ndim=1, low=0, domain="learning rates >= 0")
    with np.errstate(over="ignore"):     # an overflow is reported below, as not representable
        out = np.cumsum(etas)
    if out.size and not np.all(np.isfinite(out)):
        raise check.not_representable("the cumulative area", "it exceeds the largest double")
    return out
