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

Domain and accuracy.  Every function accepts the whole stable range, decided exactly for the double
given (so ``2/3 = 0.6666666666666666``, which lies below two thirds, is a valid rate for B = 1 and the
next double is not), any ``T`` up to the largest double and batch sizes up to 1e15 (``B + 2`` must be
exact in double precision), and returns results
with a relative error of a few units in the last place: ``r`` is evaluated as ``1 - eta D / B``
(``D = 2B - eta (B+2)`` from an error-free product) when that is above 1/2 and as the sum of squares
``(1 - eta)^2 + 2 eta^2 / B`` when it is below, so neither form cancels.

References: the exam problem and its worked solution, :cite:p:`src-mrgr-linear`; Robbins and Monro (1951).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy.optimize import brentq

from . import _validation as check

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
MAX_BATCH_SIZE = 10**15  # B + 2 must be an exact double for the error-free product in _gap
_SMALLEST_RATE = 5e-324  # the smallest positive double: the lower end of every root bracket
_BRENT_OPERATIONS = 5e4  # cost of one scalar root search, in elementary operations


# ----------------------------------------------------------------------------- argument checks
def _batch(batch_size) -> int:
    return check.integer("batch_size", batch_size, low=1, high=MAX_BATCH_SIZE,
                         domain="an integer in [1, 1e15] (B + 2 must be exact in double precision)")


def _rates(eta, B: int, name: str = "eta") -> np.ndarray:
    """Rates in the open stable range, decided exactly (the float 2B/(B+2) itself may be inside it)."""
    bound = 2.0 * B / (B + 2.0)
    domain = f"in the stable range (0, 2B/(B+2)) = (0, {bound:.6g}) for batch_size={B}"
    eta = check.real_or_array(name, eta, "a rate " + domain, "rates " + domain, low=0, high=2, low_open=True, high_open=True)
    outside = ~(_gap(eta, B) > 0)
    if np.any(outside):
        index = tuple(int(i) for i in np.argwhere(outside)[0]) if outside.ndim else ()
        where = f"{name}[{', '.join(map(str, index))}]" if index else name
        raise ValueError(f"{name} must be {'rates' if eta.ndim else 'a rate'} {domain}, "
                         f"got {where} = {float(eta[index])!r}")
    return eta


def _check_elements(what: str, *arrays, per_element: float = 10.0, bytes_per_element: float = 64.0) -> tuple:
    """Refuse broadcasts too large for the machine before allocating them; returns the shape."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    size = float(np.prod(shape, dtype=float))
    check.check_work(what, operations=size * per_element, memory_bytes=size * bytes_per_element,
                     sizes=f"{size:.3g} elements after broadcasting")
    return shape


def _scalar_or_array(result: np.ndarray):
    return result if result.ndim else float(result)


# ----------------------------------------------------------------------------- exact arithmetic
def _two_product(a, b: float):
    """Dekker's error-free product: a*b == p + e exactly (Veltkamp splitting); a scalar or array."""
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


def _gap(eta, B: int):
    """D = 2B - eta (B+2), computed without cancellation near the stability edge (eta in (0, 2))."""
    p, e = _two_product(eta, np.add(B, 2.0))   # B an int or an array of them
    return (2.0 * B - p) - e  # 2B - p is exact (Sterbenz) wherever it could cancel


def _log_contraction(eta, B: int):
    """(log r, r, D): ``r = 1 - eta D / B`` where r >= 1/2, ``(1 - eta)^2 + 2 eta^2 / B`` below.

    The first form keeps full relative precision of log r as eta -> 0 (log1p), the second of r as
    it approaches its minimum 2/(B+2), which is about 1e-15 for the largest batch sizes.
    """
    gap = _gap(eta, B)
    x = eta * gap / B  # 1 - r, in (0, B/(B+2)]
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = (1.0 - eta) ** 2 + 2.0 * eta * eta / B
        near_one = x < 0.5
        r = np.where(near_one, 1.0 - x, squares)
        log_r = np.where(near_one, np.log1p(-x), np.log(squares))
    return log_r, r, gap


# ----------------------------------------------------------------------------- closed forms
def stable_rate_bound(batch_size: int = 1) -> float:
    """Upper end of the stable range ``0 < eta < 2B/(B+2)`` (exclusive); 2/3 for B = 1.

    Domain: ``batch_size`` an integer in [1, 1e15].
    """
    B = _batch(batch_size)
    return 2.0 * B / (B + 2.0)


def fastest_rate(batch_size: int = 1) -> float:
    """The rate ``B/(B+2)`` that minimises the contraction factor r; 1/3 for B = 1.

    Rates in ``(B/(B+2), 2B/(B+2))`` are dominated (same r as ``2B/(B+2) - eta``, larger noise
    floor), which is why the problem restricts eta to ``(0, 1/3]`` for B = 1.
    Domain: ``batch_size`` an integer in [1, 1e15].
    """
    B = _batch(batch_size)
    return B / (B + 2.0)


def contraction_factor(eta, batch_size: int = 1):
    r"""Contraction of the second moment per step, ``r = 1 - 2 eta + eta^2 (B+2)/B``.

    Domain: ``0 < eta < 2B/(B+2)`` (scalar or array) (decided exactly for the double given: 0.6666666666666666, just below 2/3, is inside for B = 1), ``batch_size = B`` in [1, 1e15]; then
    ``2/(B+2) <= r < 1``, returned with a relative error of a few ulps.
    """
    B = _batch(batch_size)
    eta = _rates(eta, B)
    _check_elements("linear1d.contraction_factor", eta)
    return _scalar_or_array(_log_contraction(eta, B)[1])


def stationary_second_moment(eta, batch_size: int = 1):
    r"""Fixed point of the recursion, ``m_* = eta / (2B - eta (B+2))`` = lim E[(w_t - 3)^2].

    Domain: ``0 < eta < 2B/(B+2)`` (decided exactly for the double given: 0.6666666666666666, just below 2/3, is inside for B = 1), ``batch_size`` in [1, 1e15].  Finite on the whole stable range
    (the gap ``2B - eta (B+2)`` of a double eta inside it is at least about 1e-16 B).
    """
    B = _batch(batch_size)
    eta = _rates(eta, B)
    _check_elements("linear1d.stationary_second_moment", eta)
    return _scalar_or_array(eta / _gap(eta, B))


def second_moment(eta, T, batch_size: int = 1):
    r"""Exact ``E[(w_T - 3)^2] = m_* (1 - r^T) + 9 r^T``, vectorised over eta and T.

    Evaluated as ``m_* (-expm1(T log r)) + 9 exp(T log r)``, a sum of non-negative terms, with log r
    from the form of r that does not cancel (module docstring): relative error a few ulps for every
    rate in the stable range and every T.

    Domain: ``0 < eta < 2B/(B+2)`` (decided exactly for the double given: 0.6666666666666666, just below 2/3, is inside for B = 1); T an integer >= 0 (floats such as 1e12 allowed, up to the largest
    double); ``batch_size`` in [1, 1e15]; eta and T broadcast together.
    """
    B = _batch(batch_size)
    eta = _rates(eta, B)
    T = check.counts_as_floats("T", T)
    _check_elements("linear1d.second_moment", eta, T)
    log_r, _, gap = _log_contraction(eta, B)
    with np.errstate(over="ignore"):  # T log r may be -inf: r^T underflows to its true value 0
        T_log_r = np.where(T == 0, 0.0, T * log_r)
    result = (eta / gap) * (-np.expm1(T_log_r)) + INITIAL_SECOND_MOMENT * np.exp(T_log_r)
    return _scalar_or_array(result)


def expected_loss(eta, T, batch_size: int = 1):
    r"""Exact expected test loss after T steps, ``Lbar(eta, T) = (1 + E[(w_T - 3)^2]) / 2``.

    .. math::

       \begin{aligned}
       \bar L(\eta, T) &= \tfrac12\left(1 + m_* + (9 - m_*) r^T\right), \\
       r &= 1 - 2\eta + \eta^2\tfrac{B+2}{B},\quad m_* = \frac{\eta}{2B - \eta(B+2)}.
       \end{aligned}

    Parameters
    ----------
    eta : float or array, in the stable range ``(0, 2B/(B+2))`` (``(0, 2/3)`` for B = 1), decided exactly
        for the double given (0.6666666666666666, just below 2/3, is inside for B = 1).
    T : int or array of ints >= 0 (floats such as 1e12 allowed, up to the largest double).
    batch_size : int in [1, 1e15].

    Notes
    -----
    Relative accuracy about 1e-15 over the whole domain (checked against 60-digit mpmath and exact
    rational iteration).

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

    For ``eta > 1`` (allowed when B >= 3) the factor ``1 - eta`` is negative and the mean
    oscillates around 3: ``(1 - eta)^T = (-1)^T |1 - eta|^T``, with ``|1 - eta| = eta - 1`` exact.

    Domain as :func:`expected_loss`.

    Examples
    --------
    >>> expected_weight(1.5, 5, batch_size=10)   # 3 (1 + 1/32)
    3.09375
    """
    B = _batch(batch_size)
    eta = _rates(eta, B)
    T = check.counts_as_floats("T", T)
    _check_elements("linear1d.expected_weight", eta, T)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_abs = np.where(eta < 1.0, np.log1p(-eta), np.log(eta - 1.0))  # eta - 1 is exact on [1, 2)
        T_log = np.where(T == 0, 0.0, T * log_abs)
    odd = np.fmod(T, 2.0) == 1.0
    negative = (eta > 1.0) & odd
    result = np.where(negative, W_STAR * (1.0 + np.exp(T_log)), -W_STAR * np.expm1(T_log))
    return _scalar_or_array(result)


# ----------------------------------------------------------------------------- the tuned rate
def _scalar_log_contraction(eta: float, B: int) -> tuple[float, float, float]:
    p, e = _two_product(eta, float(B + 2))
    gap = (2.0 * B - p) - e
    x = eta * gap / B
    if x < 0.5:
        return math.log1p(-x), 1.0 - x, gap
    squares = (1.0 - eta) ** 2 + 2.0 * eta * eta / B
    return math.log(squares), squares, gap


def _scaled_slope(eta: float, T: float, B: int) -> float:
    """(d Lbar / d eta) / T, written out: [m_*' (1 - r^T) / T + (9 - m_*) r^T r'/r] / 2.

    Divided by T so that no term overflows for T up to the largest double; the sign is the slope's.
    """
    log_r, r, gap = _scalar_log_contraction(eta, B)
    T_log_r = T * log_r
    q = math.exp(T_log_r) if T_log_r > -800.0 else 0.0
    m_star = eta / gap
    dm_star = 2.0 * B / gap**2
    p, e = _two_product(eta, float(B + 2))
    dr = -2.0 * ((B - p) - e) / B  # r' = -2 (B - eta (B+2)) / B, exact where it cancels
    return 0.5 * (dm_star * (-math.expm1(T_log_r) / T) + (INITIAL_SECOND_MOMENT - m_star) * q * dr / r)


def _tuned_rate(T: float, B: int) -> float:
    upper = math.log(B / (B + 2.0))
    lower = math.log(_SMALLEST_RATE)
    u = brentq(lambda u: _scaled_slope(math.exp(u), T, B), lower, upper,
               xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return math.exp(u)


def optimal_loss(T, batch_size: int = 1):
    r"""The tuned rate: ``(inf_{0 < eta <= B/(B+2)} Lbar(eta, T), argmin)``.

    For T >= 1 the minimiser is interior (the slope is negative as eta -> 0 and positive at
    ``eta = B/(B+2)``, where dr/deta = 0), so it is the root of dLbar/deta, found by Brent's method
    in log(eta) on the slope divided by T (finite for every T).  The infimum has about 15 correct
    digits; the argmin about 14, for every T up to the largest double (the argmin is then about
    ``log(36 T) / (2 T)``, 2e-306 at T = 1.8e308).

    Parameters
    ----------
    T : int >= 1 or array of them (floats such as 1e12 allowed, up to the largest double).
    batch_size : int in [1, 1e15].

    Returns
    -------
    (loss, eta) : floats, or arrays shaped like T.
    """
    B = _batch(batch_size)
    T_arr = check.counts_as_floats("T", T, low=1)
    _check_elements("linear1d.optimal_loss", T_arr, per_element=_BRENT_OPERATIONS)
    etas = np.empty(T_arr.shape)
    for index, t in np.ndenumerate(T_arr):
        etas[index] = _tuned_rate(float(t), B)
    losses = expected_loss(etas, T_arr, B)
    if T_arr.ndim == 0:
        return float(losses), float(etas)
    return losses, etas


def _mp_operations(dps: int) -> float:
    # about 30 evaluations of exp and log1p at dps digits, 1.5e-4 s each at 50 digits on this machine,
    # growing like dps**1.6; in elementary operations at 5e8 per second
    return 30 * 1.5e-4 * 5e8 * (min(dps, 10**100) / 50.0) ** 1.6


def optimal_loss_mp(T, dps: int = 50):
    r"""High-precision ``(inf_eta Lbar(eta, T), argmin)`` for B = 1, as mpmath numbers.

    Solves ``dLbar/deta = 0`` with ``mpmath.findroot`` (secant method) at ``dps`` decimal digits,
    started from the double-precision root of :func:`optimal_loss` (for T above 1e300, from the
    second-order expansion of the tuned rate).  ``r^T`` is evaluated as ``exp(T log1p(-s))`` so that
    rates far below ``10^-dps`` are handled.  Needed because ``inf Lbar - g(T)`` is of order
    (log T)^2 / T^2, far below double precision once T exceeds about 1e7.

    Domain: T an integer >= 1 (any size); dps an integer >= 20, with the cost capped by
    ``scalinglaws.work_limits`` (about 5000 digits by default).
    """
    T_int = check.integer("T", T, low=1)
    dps = check.integer("dps", dps, low=20)
    check.check_work("linear1d.optimal_loss_mp", operations=_mp_operations(dps) + T_int.bit_length() ** 1.6,
                sizes=f"dps = {check.count_text(dps)}, T with {len(str(T_int)) if T_int < 10**10000 else 'over 10000'} digits")
    with mpmath.workdps(dps):
        Tm = mpmath.mpf(T_int)
        if T_int <= 10**300:
            eta0 = mpmath.mpf(_tuned_rate(float(T_int), 1))
        else:  # eq. (tuned-eta-second-order) of the chapter
            lam = mpmath.log(36 * Tm)
            eta0 = lam / (2 * Tm) + (lam**2 / 8 - 73 * lam / 72 + mpmath.mpf(1) / 72) / Tm**2

        def parts(eta):
            s = eta * (2 - 3 * eta)                  # 1 - r
            m_star = eta / (2 - 3 * eta)
            T_log_r = Tm * mpmath.log1p(-s)
            q = mpmath.exp(T_log_r)
            dm_star = 2 / (2 - 3 * eta) ** 2
            # (d loss / d eta) / T = [m_*' (1 - q) / T + (9 - m_*) q r'/r] / 2, r' = 6 eta - 2
            one_minus_q = -mpmath.expm1(T_log_r)
            return one_minus_q * dm_star / Tm, (9 - m_star) * q * (6 * eta - 2) / (1 - s), m_star * one_minus_q + 9 * q

        def slope(eta):
            first, second, _ = parts(eta)
            return (first + second) / 2

        # solve for eta / eta0, so that the tolerance (on the squared step) is relative whatever T is
        ratio = mpmath.findroot(lambda x: slope(x * eta0), (mpmath.mpf(1), 1 + mpmath.mpf(10) ** (-8)),
                                solver="secant", tol=mpmath.mpf(10) ** (-2 * dps + 10), verify=False)
        eta = ratio * eta0
        first, second, moment = parts(eta)
        if not (0 < eta < mpmath.mpf(1) / 3) or abs(first + second) > mpmath.mpf(10) ** (-dps // 2) * (
                abs(first) + abs(second)):
            raise ArithmeticError(f"optimal_loss_mp: the root search did not converge for T={T_int}, dps={dps}")
        return (1 + moment) / 2, +eta


def asymptotic_optimal_loss(T):
    r"""The derived asymptote ``g(T) = 1/2 + (1 + log(36 T)) / (8 T)``.

    ``|inf_eta Lbar(eta, T) - g(T)| = O((log T)^2 / T^2)`` as T -> infinity (chapter "the tuned
    learning rate").  Domain: T >= 1 (real, scalar or array, up to the largest double).
    """
    T = check.real_or_array("T", T, "a real number >= 1 (a number of steps)", "real numbers >= 1 (numbers of steps)", low=1)
    _check_elements("linear1d.asymptotic_optimal_loss", T)
    result = 0.5 + (1.0 + math.log(36.0) + np.log(T)) * (0.125 / T)
    return _scalar_or_array(result)


def asymptotic_optimal_rate(T):
    r"""The leading-order tuned rate ``eta*(T) ~ log(36 T) / (2 T)``.

    Domain: T >= 1 (real, scalar or array, up to the largest double: 2e-306 at T = 1.8e308).
    """
    T = check.real_or_array("T", T, "a real number >= 1 (a number of steps)", "real numbers >= 1 (numbers of steps)", low=1)
    _check_elements("linear1d.asymptotic_optimal_rate", T)
    result = (math.log(36.0) + np.log(T)) * (0.5 / T)
    return _scalar_or_array(result)


# ----------------------------------------------------------------------------- simulation
def simulate_weights(eta: float, T: int, runs: int, seed: int = 0, batch_size: int = 1) -> np.ndarray:
    r"""Final weights ``w_T`` of ``runs`` independent SGD runs of the real process.

    Each step draws, per run, B fresh examples ``x ~ N(0,1)``, ``y = 3x + noise``, ``noise ~ N(0,1)``,
    and applies ``w <- w - eta * mean((w x - y) x)``.  Vectorised over runs; the random numbers come
    from ``numpy.random.default_rng(seed)``, so a seed fixes the result.

    Domain: eta in ``(0, 2B/(B+2))`` (decided exactly for the double given: 0.6666666666666666, just below 2/3, is inside for B = 1); T integer >= 0; runs integer >= 1; batch_size in [1, 1e15];
    seed: an integer in [0, 2**63).  The cost, about ``10 T runs B`` operations and ``24 runs B``
    bytes, is capped by ``scalinglaws.work_limits``.
    """
    B = _batch(batch_size)
    eta = float(_rates(check.real("eta", eta, domain=f"a rate in the stable range (0, {2.0 * B / (B + 2.0):.6g})"), B))
    T = check.integer("T", T, low=0)
    runs = check.integer("runs", runs, low=1)
    seed = check.seed("seed", seed)
    check.check_work("linear1d.simulate", operations=10 * T * runs * B, memory_bytes=24 * runs * B + 8 * runs,
                     sizes=f"T = {check.count_text(T)}, runs = {check.count_text(runs)}, batch_size = {check.count_text(B)}")
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
    Domain as :func:`simulate_weights`.
    """
    w = simulate_weights(eta, T, runs, seed=seed, batch_size=batch_size)
    return 0.5 * ((w - W_STAR) ** 2 + 1.0)
