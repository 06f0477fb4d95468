r"""One-dimensional SGD on linear regression: the exact expected test loss and its optimum.

The model of Part I, chapter 1.  Data ``x ~ N(0, 1)``, ``y | x ~ N(3x, 1)``; model ``f_w(x) = w x``;
start ``w_0 = 0``; each step draws a fresh mini-batch of ``B`` examples and takes

.. math::  w_{t+1} = w_t - \eta \frac{1}{B} \sum_{i=1}^{B} (w_t x_i - y_i) x_i .

With ``u_t = w_t - 3`` the second moment ``m_t = E[u_t^2]`` obeys the linear recursion

.. math::  m_{t+1} = r\, m_t + \eta^2 / B, \qquad r = 1 - 2\eta + \eta^2 (B + 2)/B,

so ``m_T = m_* + (9 - m_*) r^T`` with ``m_* = \eta / (2B - \eta (B + 2))``, and the expected test
loss is ``(1 + m_T) / 2``.  The recursion contracts iff ``0 < eta < 2B/(B+2)`` (the stable range);
``r`` is smallest at ``eta = B/(B+2)`` (1/3 for B = 1), and every rate above that is beaten at every
T by its mirror image ``2B/(B+2) - eta``, which has the same ``r`` and a smaller ``m_*``.

References: the exam problem restated in SPEC.md (seed 000); Robbins and Monro (1951).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy.optimize import brentq

from ._validation import as_count_array, as_float_array, as_int

__all__ = [
    "stable_rate_bound",
    "fastest_rate",
    "contraction_factor",
    "stationary_second_moment",
    "second_moment",
    "expected_loss",
    "expected_weight",
    "optimal_loss",
    "optimal_loss_mp",
    "asymptotic_optimal_loss",
    "asymptotic_optimal_rate",
    "simulate_weights",
    "simulate",
]

W_STAR = 3.0  # the true slope
INITIAL_SECOND_MOMENT = 9.0  # (w_0 - 3)^2 with w_0 = 0


def stable_rate_bound(batch_size: int = 1) -> float:
    """Upper end of the stable range ``0 < eta < 2B/(B+2)`` (exclusive); 2/3 for B = 1."""
    B = as_int("batch_size", batch_size, minimum=1)
    return 2.0 * B / (B + 2.0)


def fastest_rate(batch_size: int = 1) -> float:
    """The rate ``B/(B+2)`` that minimises the contraction factor r; 1/3 for B = 1.

    Rates in ``(B/(B+2), 2B/(B+2))`` are dominated (same r as ``2B/(B+2) - eta``, larger noise
    floor), which is why the problem restricts eta to ``(0, 1/3]`` for B = 1.
    """
    B = as_int("batch_size", batch_size, minimum=1)
    return B / (B + 2.0)


def _check_eta(eta, B: int) -> np.ndarray:
    eta = as_float_array("eta", eta)
    bound = 2.0 * B / (B + 2.0)
    if np.any(eta <= 0) or np.any(eta >= bound):
        raise ValueError(
            f"eta must lie in the stable range (0, 2B/(B+2)) = (0, {bound:.6g}) for batch_size={B}, "
            f"got {eta if eta.ndim else float(eta)!r}")
    return eta


def _two_product(a: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's error-free product: a*b == p + e exactly (Veltkamp splitting)."""
    p = a * b
    split = 134217729.0  # 2**27 + 1
    t = split * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = split * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def _gap(eta: np.ndarray, B: int) -> np.ndarray:
    """D = 2B - eta (B+2), computed without cancellation near the stability edge."""
    p, e = _two_product(eta, float(B + 2))
    return (2.0 * B - p) - e  # 2B - p is exact (Sterbenz) wherever it could cancel


def contraction_factor(eta, batch_size: int = 1) -> np.ndarray:
    r"""Contraction of the second moment per step, ``r = 1 - 2 eta + eta^2 (B+2)/B``.

    Domain: ``0 < eta < 2B/(B+2)``, ``batch_size = B >= 1``; then ``0 < r < 1``.
    """
    B = as_int("batch_size", batch_size, minimum=1)
    eta = _check_eta(eta, B)
    return 1.0 - eta * _gap(eta, B) / B


def stationary_second_moment(eta, batch_size: int = 1) -> np.ndarray:
    r"""Fixed point of the recursion, ``m_* = eta / (2B - eta (B+2))`` = lim E[(w_t - 3)^2].

    Domain: ``0 < eta < 2B/(B+2)``.
    """
    B = as_int("batch_size", batch_size, minimum=1)
    eta = _check_eta(eta, B)
    return eta / _gap(eta, B)


def second_moment(eta, T, batch_size: int = 1) -> np.ndarray:
    r"""Exact ``E[(w_T - 3)^2] = m_* (1 - r^T) + 9 r^T``, vectorised over eta and T.

    Evaluated as ``m_* * (-expm1(T log1p(-x))) + 9 exp(T log1p(-x))`` with ``x = 1 - r``, a sum of
    non-negative terms, so it keeps full relative precision for T up to 1e12 and beyond.

    Domain: ``0 < eta < 2B/(B+2)``; T an integer >= 0 (floats such as 1e12 allowed).
    """
    B = as_int("batch_size", batch_size, minimum=1)
    eta = _check_eta(eta, B)
    T = as_count_array("T", T)
    gap = _gap(eta, B)
    log_r = np.log1p(-eta * gap / B)
    T_log_r = T * log_r
    result = (eta / gap) * (-np.expm1(T_log_r)) + INITIAL_SECOND_MOMENT * np.exp(T_log_r)
    return result if result.ndim else float(result)


def expected_loss(eta, T, batch_size: int = 1):
    r"""Exact expected test loss after T steps, ``Lbar(eta, T) = (1 + E[(w_T - 3)^2]) / 2``.

    .. math:: \bar L(\eta, T) = \tfrac12\left(1 + m_* + (9 - m_*) r^T\right),\quad
              r = 1 - 2\eta + \eta^2\tfrac{B+2}{B},\quad m_* = \frac{\eta}{2B - \eta(B+2)}.

    Parameters
    ----------
    eta : float or array, in the stable range ``(0, 2B/(B+2))`` (``(0, 2/3)`` for B = 1).
    T : int or array of ints >= 0 (floats such as 1e12 allowed).
    batch_size : int >= 1.

    Notes
    -----
    Relative accuracy about 1e-15 over the whole domain, T up to 1e12 included.

    Examples
    --------
    >>> expected_loss(0.1, 0)
    5.0
    >>> round(expected_loss(1/3, 10**6), 12)   # the noise floor (1 + 1/3) / 2
    0.666666666667
    """
    m = second_moment(eta, T, batch_size)
    return 0.5 * (1.0 + m)


def expected_weight(eta, T, batch_size: int = 1):
    r"""Exact ``E[w_T] = 3 (1 - (1 - eta)^T)`` (the mean is independent of B).

    Domain as :func:`expected_loss`.
    """
    B = as_int("batch_size", batch_size, minimum=1)
    eta = _check_eta(eta, B)
    T = as_count_array("T", T)
    result = -W_STAR * np.expm1(T * np.log1p(-eta))
    return result if result.ndim else float(result)


def _loss_slope(eta: float, T: float, B: int) -> float:
    """d Lbar / d eta, written out: m_*' (1 - q) + (9 - m_*) q T r'/r, halved."""
    gap = float(_gap(np.asarray(eta), B))
    r = 1.0 - eta * gap / B
    q = math.exp(T * math.log1p(-eta * gap / B))
    m_star = eta / gap
    dm_star = 2.0 * B / gap**2
    dr = -2.0 + 2.0 * eta * (B + 2.0) / B
    return 0.5 * (dm_star * (-math.expm1(T * math.log(r))) + (INITIAL_SECOND_MOMENT - m_star) * q * T * dr / r)


def optimal_loss(T, batch_size: int = 1):
    r"""The tuned rate: ``(inf_{0 < eta <= B/(B+2)} Lbar(eta, T), argmin)``.

    For T >= 1 the minimiser is interior (the slope is negative as eta -> 0 and positive at
    ``eta = B/(B+2)``, where dr/deta = 0), so it is the root of dLbar/deta, found by Brent's method
    in log(eta).  The infimum has about 15 correct digits; the argmin about 14.

    Parameters
    ----------
    T : int >= 1 or array of them (floats such as 1e12 allowed).
    batch_size : int >= 1.

    Returns
    -------
    (loss, eta) : floats, or arrays shaped like T.
    """
    B = as_int("batch_size", batch_size, minimum=1)
    T_arr = as_count_array("T", T, minimum=1)
    upper = math.log(B / (B + 2.0))
    lower = math.log(1e-300)
    etas = np.empty(T_arr.shape)
    for index, t in np.ndenumerate(T_arr):
        u = brentq(lambda u: _loss_slope(math.exp(u), float(t), B), lower, upper,
                   xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
        etas[index] = math.exp(u)
    losses = expected_loss(etas, T_arr, B)
    if T_arr.ndim == 0:
        return float(losses), float(etas)
    return losses, etas


def optimal_loss_mp(T, dps: int = 50):
    r"""High-precision ``(inf_eta Lbar(eta, T), argmin)`` for B = 1, as mpmath numbers.

    Solves ``dLbar/deta = 0`` with ``mpmath.findroot`` at ``dps`` decimal digits, started from
    the double-precision root of :func:`optimal_loss`.  Needed because ``inf Lbar - g(T)`` is of
    order (log T)^2 / T^2, far below double precision once T exceeds about 1e7.

    Domain: T an integer >= 1; dps >= 20.
    """
    T_int = as_int("T", T, minimum=1)
    dps = as_int("dps", dps, minimum=20)
    _, eta0 = optimal_loss(T_int)
    with mpmath.workdps(dps):
        Tm = mpmath.mpf(T_int)

        def loss(eta):
            r = 1 - 2 * eta + 3 * eta**2
            m_star = eta / (2 - 3 * eta)
            return (1 + m_star + (9 - m_star) * r**Tm) / 2

        def slope(eta):  # d loss / d eta, written out (m_*' = 2 / (2 - 3 eta)^2, r' = 6 eta - 2)
            r = 1 - 2 * eta + 3 * eta**2
            m_star = eta / (2 - 3 * eta)
            q = r**Tm
            return (2 / (2 - 3 * eta) ** 2 * (1 - q) + (9 - m_star) * Tm * q * (6 * eta - 2) / r) / 2

        eta = mpmath.findroot(slope, mpmath.mpf(eta0), solver="newton", df=lambda e: mpmath.diff(slope, e),
                              tol=mpmath.mpf(10) ** (-2 * dps + 20), verify=False)
        if abs(slope(eta)) > mpmath.mpf(10) ** (-dps // 2):
            raise ArithmeticError(f"optimal_loss_mp: Newton did not converge for T={T_int}")
        return +loss(eta), +eta


def asymptotic_optimal_loss(T):
    r"""The derived asymptote ``g(T) = 1/2 + (1 + log(36 T)) / (8 T)``.

    ``|inf_eta Lbar(eta, T) - g(T)| = O((log T)^2 / T^2)`` as T -> infinity (chapter "the tuned
    learning rate").  Domain: T > 0 (real).
    """
    T = as_float_array("T", T)
    if np.any(T <= 0):
        raise ValueError(f"T must be positive, got {T if T.ndim else float(T)!r}")
    result = 0.5 + (1.0 + np.log(36.0 * T)) / (8.0 * T)
    return result if result.ndim else float(result)


def asymptotic_optimal_rate(T):
    r"""The leading-order tuned rate ``eta*(T) ~ log(36 T) / (2 T)``.  Domain: T > 0 (real)."""
    T = as_float_array("T", T)
    if np.any(T <= 0):
        raise ValueError(f"T must be positive, got {T if T.ndim else float(T)!r}")
    result = np.log(36.0 * T) / (2.0 * T)
    return result if result.ndim else float(result)


def simulate_weights(eta: float, T: int, runs: int, seed: int = 0, batch_size: int = 1) -> np.ndarray:
    r"""Final weights ``w_T`` of ``runs`` independent SGD runs of the real process.

    Each step draws, per run, B fresh examples ``x ~ N(0,1)``, ``y = 3x + noise``, ``noise ~ N(0,1)``,
    and applies ``w <- w - eta * mean((w x - y) x)``.  Vectorised over runs; the random numbers come
    from ``numpy.random.default_rng(seed)``, so a seed fixes the result.

    Domain: eta in ``(0, 2B/(B+2))``; T integer >= 0; runs integer >= 1; batch_size integer >= 1.
    """
    B = as_int("batch_size", batch_size, minimum=1)
    eta = float(_check_eta(eta, B))
    T = as_int("T", T, minimum=0)
    runs = as_int("runs", runs, minimum=1)
    rng = np.random.default_rng(seed)
    w = np.zeros(runs)
    draws = np.empty((2, B, runs))
    x, noise = draws[0], draws[1]
    residual = np.empty((B, runs))
    step = eta / B
    for _ in range(T):
        rng.standard_normal(out=draws)
        # (w x - y) x with y = 3x + noise, i.e. ((w - 3) x - noise) x
        np.multiply(x, w - W_STAR, out=residual)
        residual -= noise
        residual *= x
        w -= step * (residual[0] if B == 1 else residual.sum(axis=0))
    return w


def simulate(eta: float, T: int, runs: int, seed: int = 0, batch_size: int = 1) -> np.ndarray:
    r"""Test loss ``((w_T - 3)^2 + 1) / 2`` of each of ``runs`` independent SGD runs.

    The expectation over a fresh test pair (x, y) is taken exactly, ``E[(w x - y)^2]/2 =
    ((w - 3)^2 + 1)/2``; the randomness of training is simulated (see :func:`simulate_weights`).
    Its mean estimates :func:`expected_loss`; its standard error is ``std / sqrt(runs)``.
    """
    w = simulate_weights(eta, T, runs, seed=seed, batch_size=batch_size)
    return 0.5 * ((w - W_STAR) ** 2 + 1.0)
