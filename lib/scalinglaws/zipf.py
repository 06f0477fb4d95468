r"""SGD on a linear model with Zipf-distributed features: exact expected loss and its scaling law.

The model of Part I, chapter "a Zipf-distributed feature model".  Fix ``a > 0`` and ``b >= 1``.
Each example draws a feature ``k >= 1`` with ``Pr[k] = p_k = k^{-(a+1)} / zeta(a+1)``, sets the single
coordinate ``j = floor(k^b)`` of the (infinite) input to ``x_j ~ N(0, 1)`` and labels it
``y ~ N(3 x_j, 1)``.  A model with N parameters sees the coordinates ``1..N`` only, starts at
``w = 0`` and takes SGD steps on ``(1/2)(<w, x> - y)^2``.

Because one coordinate is non-zero per example, a step moves only the drawn coordinate, and it moves
it exactly as the one-dimensional model of :mod:`scalinglaws.linear1d` moves its weight.  Feature k
is *visible* iff ``floor(k^b) <= N``, i.e. ``k <= K = feature_count(N, b)``.  With a per-step rate
``eta_t`` and ``s_t = eta_t (2 - 3 eta_t)`` the second moment ``m_k(t) = E[(w_k(t) - 3)^2]`` obeys

.. math::  m_k(t+1) = (1 - p_k s_t)\, m_k(t) + p_k \eta_t^2, \qquad m_k(0) = 9,

(with probability p_k the 1-D recursion ``m -> r m + eta^2``, ``r = 1 - s``, otherwise no change), and
the expected test loss (convention of :mod:`scalinglaws.linear1d`, noise floor 1/2) is

.. math::

   \begin{aligned}
   \bar L &= \tfrac12 + \tfrac12\Big[\sum_{k \le K} p_k m_k(T) + 9\, \tau_K\Big], \\
   \tau_K &= \sum_{k > K} p_k = \zeta(a+1, K+1) / \zeta(a+1),
   \end{aligned}

an invisible feature keeping its weight at 0 and so costing 9.  For a constant rate
``m_k(T) = m_* + (9 - m_*) (1 - p_k s)^T`` with ``m_* = eta / (2 - 3 eta)``.

Numerical method.  Features ``k <= H`` (``H = 2048``) are summed exactly.  The remaining visible
features ``H < k <= K`` (up to 1e12 of them) are summed by the Euler--Maclaurin formula applied to
the smooth function ``f(x) = p(x) m(p(x))`` with ``p(x) = x^{-(a+1)}/zeta(a+1)``:
``sum_{k=H+1}^{K} f(k) = int_H^K f + (f(K) - f(H))/2 + (f'(K) - f'(H))/12 + R``, the integral by
composite Gauss--Legendre quadrature in ``u = log x`` (16 nodes per panel of width
``1/max(2, a+1)``), ``f'`` by a central difference.  Every term is of the form ``weight * m(p)``, so
the tail becomes a few hundred weighted "pseudo-features" that follow the same recursion as the
real ones; constant and time-varying rates share the machinery.  Error budget: the Euler--Maclaurin
remainder after the ``f'`` term is at most ``(|f'''(H)| + |f'''(K)|)/720 + (2 zeta(4)/(2 pi)^4)
int_H^K |f''''| dx``; each x-derivative of ``f`` brings a factor ``(a+n)/x`` times a polynomial in
``lambda = T s p(x)`` multiplying ``e^{-lambda}`` (bounded), so with ``f <= 9 p(x)``,
``p(H) <= 1/2048`` and ``H^3 ~ 8.6e9`` the remainder is of order 1e-13 or less in absolute terms for
every ``a > 0`` (the loss itself is at least 1/2); the Gauss--Legendre panels resolve the
double-exponential profile ``exp(-lambda_0 e^{-(a+1)(u - u_0)})`` to near machine precision, and the
central difference for ``f'`` (step ``1e-3 x``) errs by a relative ``~1e-7`` on a term that is itself
``~(a+1)/(12 H)`` of ``f``.  The tests compare the loss with brute-force sums over up to 5e6 features
and the far tail alone (no loss floor) with mpmath quadrature at N = 1e12: relative errors below
1e-11 everywhere (1e-9 required).

Domain.  Every ``a > 0`` (from 5e-324 to the largest double) and ``b >= 1``.  The normalising
constant and the tail masses are computed from ``a`` itself, never from the rounded ``a + 1``:
``a zeta(1 + a, q)`` by direct summation below ``q = 32`` and Euler--Maclaurin beyond (five Bernoulli
terms, relative error below 1e-18) for ``a < 1``, by :func:`scipy.special.zeta` for ``a >= 1``; so
``a = 1e-20`` (all mass in the far tail) is as accurate as ``a = 1``.  For ``a`` above about 5 the
features beyond the first 2048 carry less than 1e-17 of the loss and the table stops there.

References: the exam problem of :cite:p:`src-mrgr-linear` (its Zipf-feature part); Olver et al. (2010),
NIST Handbook of Mathematical Functions, 2.10 (Euler--Maclaurin) and 25.11 (Hurwitz zeta); Devroye
(1986), Non-Uniform Random Variate Generation, X.6 (rejection sampling of the Zipf law).
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import gammaincc, gammaln, zeta, zetac

from . import _validation as check

__all__ = [
    "asymptotic_constants",
    "asymptotic_exponents",
    "asymptotic_optimal_excess",
    "asymptotic_optimal_rate",
    "expected_loss",
    "expected_loss_curve",
    "feature_count",
    "feature_probabilities",
    "feature_table",
    "optimal_excess",
    "optimal_loss",
    "simulate",
    "tail_mass",
]

W_STAR = 3.0
INITIAL_SECOND_MOMENT = 9.0
MAX_RATE = 1.0 / 3.0
HEAD = 2048  # features summed exactly before the Euler-Maclaurin tail
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_MAX_DOUBLE = float(np.finfo(float).max)
_NEGLIGIBLE = 5e-18  # a part of the loss below this (the loss is at least 1/2) is dropped
_TABLE_OPERATIONS = 3e5  # building one feature table (count, zeta values, quadrature nodes)
_SEARCH_OPERATIONS = 2e6  # one tuned-rate search (97 grid points, then Brent), table of ~2500 nodes


# ----------------------------------------------------------------------------- argument checks
def _check_a(a) -> float:
    return check.real("a", a, low=0, low_open=True, domain="a real number > 0 (the Zipf exponent is a+1)")


def _check_b(b) -> float:
    return check.real("b", b, low=1, domain="a real number >= 1 (feature k sits at coordinate floor(k**b))")


def _check_eta(eta) -> np.ndarray:
    return check.real_or_array("eta", eta, "a rate in (0, 1/3]", "rates in (0, 1/3]", low=0, high=MAX_RATE, low_open=True)


def _check_N(N) -> np.ndarray:
    return check.counts_as_floats("N", N, low=1, one="a number of parameters: an integer >= 1",
                   many="numbers of parameters: integers >= 1")


def _exact_N(N, N_arr: np.ndarray):
    """The parameter counts to use: a Python int given as a scalar stays exact beyond 2**53."""
    if isinstance(N, numbers.Integral) and not isinstance(N, (bool, np.bool_)):
        return int(N)
    return None


def _check_work(what: str, operations: float, memory_bytes: float, sizes: str) -> None:
    # check_work takes Python-int costs beyond the doubles (T = 10**400) as inf
    check.check_work(f"zipf.{what}", operations=operations, memory_bytes=memory_bytes, sizes=sizes)


# ----------------------------------------------------------------------------- the Zipf law
_EM_Q0 = 32  # below this the Hurwitz tail is summed directly
_BERNOULLI_OVER_FACTORIAL = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160)  # B_2j / (2j)!


def _scaled_tail_small_a(a: float, q: np.ndarray) -> np.ndarray:
    r"""``a * zeta(1 + a, q) = a * sum_{k >= q} k^{-1-a}`` for a in (0, 1) and integers q >= 1 (floats).

    Direct summation of ``k^{-1} e^{-a log k}`` for ``q <= k < 32``, then Euler--Maclaurin from
    ``x = max(q, 32)``: ``x^{-a} + a [f(x)/2 + sum_j B_2j/(2j)! (1+a)_{2j-1} x^{-a-2j}]``, whose
    remainder is below 1e-18 relative.  Uses a, never 1 + a, so it stays exact as a -> 0; finite for
    every a > 0 (it tends to 1 at q = 1).
    """
    k = np.arange(1, _EM_Q0, dtype=float)
    log_k = np.log(k)
    terms = np.exp(-log_k - a * log_k)
    suffix = np.concatenate([np.cumsum(terms[::-1])[::-1], [0.0]])  # suffix[j] = sum_{k=j+1}^{31}
    direct = np.where(q < _EM_Q0, suffix[(np.minimum(q, _EM_Q0) - 1).astype(np.int64)], 0.0)
    x = np.maximum(q, float(_EM_Q0))
    log_x = np.log(x)
    with np.errstate(over="ignore", under="ignore"):  # x^-2j -> 0 for x near the top of the doubles
        return _em_tail(a, x, log_x, direct)


def _em_tail(a: float, x: np.ndarray, log_x: np.ndarray, direct: np.ndarray) -> np.ndarray:
    """The Euler--Maclaurin part of :func:`_scaled_tail_small_a`, from x = max(q, 32), plus ``a * direct``."""
    f = np.exp(-log_x - a * log_x)
    correction = 0.5 * f
    rising = 1.0 + a  # (1+a)_{2j-1}
    power = f / x     # x^{-a-2j}
    for j, coefficient in enumerate(_BERNOULLI_OVER_FACTORIAL):
        correction = correction + coefficient * rising * power
        rising *= (2 * j + 2 + a) * (2 * j + 3 + a)
        power = power / (x * x)
    return np.exp(-a * log_x) + a * (direct + correction)


@lru_cache(maxsize=1024)
def _log_normaliser(a: float) -> float:
    """``log zeta(1 + a)`` for every a > 0 (from ``a zeta(1+a)`` when a < 1, from zetac above)."""
    if a < 1.0:
        return math.log(float(_scaled_tail_small_a(a, np.array([1.0]))[0])) - math.log(a)
    return math.log1p(float(zetac(1.0 + a)))


def _log_scaled_normaliser(a: float) -> float:
    """``log(a zeta(1 + a))``, finite for every a > 0 (it tends to 0 as a -> 0)."""
    if a < 1.0:
        return math.log(float(_scaled_tail_small_a(a, np.array([1.0]))[0]))
    return math.log(a) + _log_normaliser(a)


def _tail(a: float, K: np.ndarray) -> np.ndarray:
    """``tau_K = zeta(1+a, K+1) / zeta(1+a)`` for integer K >= 0 (floats), every a > 0."""
    q = np.asarray(K, dtype=float) + 1.0
    # numerator and denominator from the same routine, so that tau_0 = 1 exactly
    if a < 1.0:
        return _scaled_tail_small_a(a, q) / float(_scaled_tail_small_a(a, np.array([1.0]))[0])
    # scipy's Hurwitz zeta returns NaN once (1 + a) log q is astronomically large; the tail is then
    # below q^-(1+a) (1 + 2^-(1+a) + ...) < 5e-324, i.e. 0 in double precision
    with np.errstate(under="ignore", invalid="ignore", over="ignore"):
        vanishes = (1.0 + a) * np.log(q) > 746.0
        return np.where(vanishes, 0.0, zeta(1.0 + a, np.where(vanishes, 1.0, q)) / zeta(1.0 + a, 1.0))


@lru_cache(maxsize=1024)
def _first_probability(a: float) -> float:
    """``p_1 = 1/zeta(1+a)``: ``a / (a zeta(1+a))`` for a < 1 (from a itself), ``1/zeta(1+a, 1)`` above.

    A direct quotient of accurate values (a few ulps), the same zeta routine as :func:`_tail`; it is a
    subnormal, with fewer digits, only for a below the normal doubles (then every p_k is).
    """
    if a < 1.0:
        return a / float(_scaled_tail_small_a(a, np.array([1.0]))[0])
    return 1.0 / float(zeta(1.0 + a, 1.0))


def _unnormalised(a: float, x) -> np.ndarray:
    """``x^{-(1+a)}`` as ``x^{-a} / x``: a power of a itself (never of the rounded 1 + a), a few ulps."""
    x = np.asarray(x, dtype=float)
    with np.errstate(under="ignore"):  # x^-a underflows to its true value 0 for large a
        return np.power(x, -a) / x


def _probability(a: float, x) -> np.ndarray:
    """``p(x) = x^{-(1+a)} / zeta(1+a)`` for every a > 0 (see :func:`_unnormalised`)."""
    with np.errstate(under="ignore"):
        return _unnormalised(a, x) * _first_probability(a)


# ----------------------------------------------------------------------------- feature count
def _power_below_integer_exponent(k: int, e: int, M: int) -> bool:
    """Exactly ``k**e < M`` for integers k >= 2, e >= 1, M >= 2, without forming huge powers."""
    if e * (k.bit_length() - 1) >= M.bit_length():      # k^e >= 2^(e (bits(k) - 1)) >= 2^bits(M) > M
        return False
    if e * k.bit_length() <= M.bit_length() - 1:         # k^e < 2^(e bits(k)) <= 2^(bits(M) - 1) <= M
        return True
    return k**e < M


def _integer_root(n: int, q: int) -> int | None:
    """The integer j with j**q == n, or None (n >= 2, q >= 1)."""
    if q > n.bit_length():
        return None
    with mpmath.workprec(n.bit_length() + 64):
        j = int(mpmath.nint(mpmath.root(mpmath.mpf(n), q)))
    for candidate in (j - 1, j, j + 1):
        if candidate >= 1 and candidate**q == n:
            return candidate
    return None


def _pow_below(k: int, b: float, M: int) -> bool:
    """Exactly decide ``k**b < M`` for integers k >= 1, M >= 2 and a float b >= 1."""
    if k == 1:
        return True
    if b == math.floor(b):
        return _power_below_integer_exponent(k, int(b), M)
    prec = M.bit_length() + 96
    while prec <= 1 << 20:
        with mpmath.workprec(prec):
            diff = mpmath.mpf(k) ** mpmath.mpf(b) - M
            if abs(diff) > mpmath.mpf(M) * mpmath.mpf(2) ** (-(prec - 32)):
                return bool(diff < 0)
        # near tie.  With b = p/q in lowest terms, k^b is an integer iff k is a perfect q-th power
        # (then k^b = j^p exactly); otherwise it is irrational and more digits decide
        frac = Fraction(b)
        j = _integer_root(k, frac.denominator)
        if j is not None:
            return _power_below_integer_exponent(j, frac.numerator, M) if j > 1 else True
        prec *= 4
    raise ArithmeticError(f"cannot decide k**b < M for k={k}, b={b!r}, M={M}")  # pragma: no cover


@lru_cache(maxsize=4096)
def _feature_count_scalar(N: int, b: float) -> int:
    M = N + 1  # floor(k^b) <= N  <=>  k^b < N + 1
    if M < 2**50:
        k = max(1, math.floor(math.exp(math.log(M) / b)))
    else:  # a float estimate would be off by many units: take the root at the precision of M
        with mpmath.workprec(M.bit_length() + 64):
            k = max(1, int(mpmath.floor(mpmath.mpf(M) ** (1 / mpmath.mpf(b)))))
    while k > 1 and not _pow_below(k, b, M):
        k -= 1
    while _pow_below(k + 1, b, M):
        k += 1
    return k


def feature_count(N, b):
    r"""Number of features an N-parameter model sees: ``K = #{k >= 1 : floor(k^b) <= N}``.

    Equivalently the largest k with ``k^b < N + 1``.  The coordinates ``floor(k^b)`` are distinct
    because ``(k+1)^b - k^b >= 1`` for ``b >= 1``, so the visible features are exactly ``1..K``.
    Computed exactly: a root taken at the precision of N, then an exact correction step (integer
    comparisons that never form a power much larger than N; for a non-integer ``b = p/q`` a near tie
    is settled by testing whether k is a perfect q-th power), including the boundary cases where
    ``k^b`` is an integer.

    Parameters
    ----------
    N : int >= 1 or array of them (floats such as 1e12 allowed; a Python int is used exactly
        whatever its size, up to 10**100000; array entries are exact up to 2**53).
    b : float >= 1.

    Returns
    -------
    int, or an int64 array shaped like N (a ValueError if some K exceeds 2**63 - 1: pass that N as
    a Python int to get K exactly).

    Examples
    --------
    >>> feature_count(10**12, 1), feature_count(99, 2), feature_count(100, 2)
    (1000000000000, 9, 10)
    """
    b = _check_b(b)
    if isinstance(N, numbers.Integral) and not isinstance(N, (bool, np.bool_)):
        N_int = check.integer("N", N, low=1, domain="a number of parameters: an integer >= 1")
        digits = N_int.bit_length() * 0.30103
        _check_work("feature_count", operations=20 * (N_int.bit_length() + 64) ** 1.6, memory_bytes=0,
                    sizes=f"N with {digits:.0f} digits")
        return _feature_count_scalar(N_int, b)
    N_arr = _check_N(N)
    _check_work("feature_count", operations=N_arr.size * 2e3, memory_bytes=N_arr.size * 16,
                sizes=f"{N_arr.size} values of N")
    if N_arr.ndim == 0:
        return _feature_count_scalar(int(N_arr), b)
    out = np.empty(N_arr.shape, dtype=np.int64)
    for index, n in np.ndenumerate(N_arr):
        K = _feature_count_scalar(int(n), b)
        if K > np.iinfo(np.int64).max:
            raise check.not_representable(
                f"feature_count(N[{', '.join(map(str, index))}] = {n:.6g}, b = {b!r})",
                f"K = {K} exceeds the int64 range of the array; pass N as a Python int")
        out[index] = K
    return out


def feature_probabilities(K, a) -> np.ndarray:
    r"""``p_k = k^{-(a+1)} / zeta(a+1)`` for ``k = 1..K`` (the Zipf law of the features).

    Domain: K integer >= 1 (it allocates K floats: capped by ``scalinglaws.work_limits``), a > 0.
    Probabilities below the smallest double (``k^{-(a+1)} < 5e-324``, e.g. every k >= 2 once a exceeds
    about 1075) are returned as 0, and ``p_1`` then rounds to 1: the absolute error is below 1e-300.
    """
    a = _check_a(a)
    K = check.integer("K", K, low=1, domain="a number of features: an integer >= 1")
    _check_work("feature_probabilities", operations=10 * K, memory_bytes=24 * K, sizes=f"K = {check.count_text(K)}")
    return _probability(a, np.arange(1, K + 1, dtype=float))


def tail_mass(K, a):
    r"""Zipf mass of the features beyond K, ``tau_K = zeta(a+1, K+1) / zeta(a+1)`` (Hurwitz zeta).

    Domain: K integer >= 0 (or array, up to the largest double), a > 0.
    ``tau_K ~ K^{-a} / (a zeta(a+1))`` as K -> infinity.  Relative error a few ulps for every a
    (computed from a itself, not from the rounded a + 1); values below the smallest double are 0.
    """
    a = _check_a(a)
    K = check.counts_as_floats("K", K, low=0, one="a number of features: an integer >= 0",
                many="numbers of features: integers >= 0")
    _check_work("tail_mass", operations=100 * K.size, memory_bytes=64 * K.size, sizes=f"{K.size} values of K")
    result = _tail(a, K)
    return result if result.ndim else float(result)


# ----------------------------------------------------------------------------- feature table
@lru_cache(maxsize=256)
def _scaled_table(K: int, a: float, head: int = HEAD):
    """The feature table before normalisation: ``(q, v, c, tau_K)`` with ``p = c q``, ``w = c v``.

    ``c = 1/zeta(1+a)`` is the probability of feature 1; ``q_i <= 1`` and ``v_i`` are O(1), so the
    scaled nodes stay normal doubles even when c is below the doubles' range (a < 1e-308).  The first
    ``min(K, head)`` nodes are the features themselves (``v_k = q_k``); the rest represent
    ``sum_{k=head+1}^{K}`` by Euler-Maclaurin with Gauss-Legendre quadrature (module docstring),
    unless their whole mass, times the largest second moment 9, is below 5e-18.
    """
    H = min(K, head)
    q_list = [_unnormalised(a, np.arange(1, H + 1, dtype=float))]
    v_list = [q_list[0].copy()]
    if K > H and INITIAL_SECOND_MOMENT * float(_tail(a, np.array(float(H)))) > _NEGLIGIBLE:
        lo, hi = math.log(H), math.log(K)
        panels = max(1, math.ceil((hi - lo) * max(2.0, a + 1.0)))
        edges = np.linspace(lo, hi, panels + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        u = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()
        wu = (half[:, None] * _GL_WEIGHTS[None, :]).ravel()
        x = np.exp(u)
        qx = _unnormalised(a, x)
        q_list.append(qx)
        v_list.append(wu * x * qx)  # dx = x du; integrand p(x) g(p(x))
        # (f(K) - f(H)) / 2
        ends = _unnormalised(a, [float(K), float(H)])
        q_list.append(ends)
        v_list.append(np.array([0.5, -0.5]) * ends)
        # (f'(K) - f'(H)) / 12 with central differences, step 1e-3 x
        for x0, sign in ((float(K), 1.0), (float(H), -1.0)):
            h = 1e-3 * x0
            qq = _unnormalised(a, [x0 + h, x0 - h])
            q_list.append(qq)
            v_list.append(sign * np.array([1.0, -1.0]) * (qq / (24.0 * h)))
    q = np.concatenate(q_list)
    v = np.concatenate(v_list)
    c = _first_probability(a)
    tau = float(_tail(a, np.array(float(K))))
    for arr in (q, v):
        arr.setflags(write=False)
    return q, v, c, tau


@lru_cache(maxsize=256)
def _feature_table(K: int, a: float, head: int = HEAD):
    """Nodes ``p_i`` and weights ``w_i`` with ``sum_{k<=K} p_k g(p_k) ~= sum_i w_i g(p_i)`` for smooth g.

    :func:`_scaled_table` times ``c = 1/zeta(1+a)``.  Returns read-only arrays (p, w, tau_K).
    """
    q, v, c, tau = _scaled_table(K, a, head)
    with np.errstate(under="ignore"):
        p = q * c
        w = v * c
    p.setflags(write=False)
    w.setflags(write=False)
    return p, w, tau


def _table_for(N: int, a: float, b: float):
    return _feature_table(_feature_count_scalar(int(N), b), a)


def feature_table(N, a, b):
    r"""Quadrature table ``(p, w, tau_K)`` for sums over the features an N-parameter model sees.

    For every smooth g, ``sum_{k=1}^{K} p_k g(p_k) ~= sum_i w_i g(p_i)`` with ``K = feature_count(N, b)``:
    the first 2048 features are listed exactly (``w_k = p_k``), the rest of the sum is represented by
    Euler-Maclaurin with Gauss-Legendre quadrature in ``log k``; ``tau_K`` is the tail mass
    ``zeta(a+1, K+1)/zeta(a+1)`` of the unseen features.  :func:`expected_loss` and
    :func:`expected_loss_curve` are sums of this form; other modules (the schedule adjoint) reuse the
    table so that their sums agree with these exactly.

    Domain: N integer >= 1 (up to the largest double), a > 0, b >= 1.  Returns read-only arrays p, w
    and a float tau_K; as in :func:`feature_probabilities`, nodes below the smallest double are 0.
    """
    a = _check_a(a)
    b = _check_b(b)
    check.within_doubles("N", N, "an integer >= 1")
    N = check.integer("N", N, low=1, domain="a number of parameters: an integer >= 1")
    return _table_for(N, a, b)


def _constant_rate_losses(eta: np.ndarray, T: np.ndarray, p, w, tau) -> np.ndarray:
    """Loss for flat arrays eta, T (same length) against one feature table."""
    out = np.empty(eta.shape)
    s = eta * (2.0 - 3.0 * eta)
    m_star = eta / (2.0 - 3.0 * eta)
    chunk = max(1, 2_000_000 // p.size)
    for start in range(0, eta.size, chunk):
        sl = slice(start, start + chunk)
        lk = np.log1p(-s[sl, None] * p[None, :])
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            # T log(1 - s p) is -inf (T huge) or 0 (p below the doubles): never NaN, as T, -lk >= 0
            exponent = np.where(T[sl, None] == 0, 0.0, T[sl, None] * lk)
            decay = np.exp(exponent)
        S = decay @ w
        out[sl] = 0.5 + 0.5 * (m_star[sl] * (1.0 - tau) + (INITIAL_SECOND_MOMENT - m_star[sl]) * S
                               + INITIAL_SECOND_MOMENT * tau)
    return out


def _table_size(a: float, K: float = _MAX_DOUBLE) -> float:
    """The number of nodes of the feature table of K features (an upper estimate, for the work caps)."""
    if K <= HEAD:
        return float(K)
    return HEAD + 6 + 16 * math.ceil(math.log(K / HEAD) * min(max(2.0, a + 1.0), 7.0))


def expected_loss(eta, T, N, a, b):
    r"""Exact expected test loss after T SGD steps with constant rate eta in the Zipf feature model.

    .. math::

       \begin{aligned}
       \bar L(N, \eta, T) = \tfrac12 + \tfrac12\Big[&m_*(1 - \tau_K) + 9 \tau_K \\
       &+ (9 - m_*) \sum_{k=1}^{K} p_k (1 - p_k s)^T\Big],
       \end{aligned}

    ``s = eta (2 - 3 eta)``, ``m_* = eta / (2 - 3 eta)``, ``K = feature_count(N, b)``,
    ``tau_K = zeta(a+1, K+1)/zeta(a+1)``.

    Parameters
    ----------
    eta : float or array in (0, 1/3].
    T : int >= 0 or array (floats such as 1e12 allowed, up to the largest double).
    N : int >= 1 or array (up to the largest double; the cost does not grow with N).
    a : float > 0.  b : float >= 1.
    eta, T and N broadcast together.  The cost, about one feature table per distinct N plus
    ``2500 x`` (number of broadcast elements) operations, is capped by ``scalinglaws.work_limits``.

    Relative accuracy better than 1e-11 (checked against brute-force sums over up to 5e6 features and
    mpmath quadrature of the far tail at N = 1e12), for every a > 0 and b >= 1.

    Examples
    --------
    >>> expected_loss(0.1, 0, 10, 1.0, 1.0)   # nothing learned yet: (1 + 9) / 2
    5.0
    """
    a = _check_a(a)
    b = _check_b(b)
    eta = _check_eta(eta)
    T = check.counts_as_floats("T", T, low=0)
    N_arr = _check_N(N)
    N_exact = _exact_N(N, N_arr)
    shape = np.broadcast_shapes(eta.shape, T.shape, N_arr.shape)
    size = float(np.prod(shape, dtype=float))
    distinct = min(size, float(N_arr.size))
    _check_work("expected_loss", operations=distinct * _TABLE_OPERATIONS + size * 3 * _table_size(a),
                memory_bytes=size * 64 + 8 * min(size * _table_size(a), 2e6) * 3,
                sizes=f"{size:.3g} elements, up to {distinct:.3g} distinct N")
    eta_b, T_b, N_b = np.broadcast_arrays(eta, T, N_arr)
    out = np.empty(eta_b.shape)
    flat_N = N_b.ravel()
    flat_eta = eta_b.ravel()
    flat_T = T_b.ravel()
    flat_out = out.reshape(-1)
    for n in np.unique(flat_N):
        idx = np.nonzero(flat_N == n)[0]
        p, w, tau = _table_for(N_exact if N_exact is not None else int(n), a, b)
        flat_out[idx] = _constant_rate_losses(flat_eta[idx], flat_T[idx], p, w, tau)
    return out if out.ndim else float(out)


def _excess_and_reduction(eta: np.ndarray, T: float, K: int, a: float) -> tuple[np.ndarray, np.ndarray]:
    """``(E, R')``: the excess ``E = Lbar - 1/2`` and a positive multiple ``R'`` of ``R = 5 - Lbar``.

    ``E = (1/2)[m_*(1 - tau) + (9 - m_*) sum w (1 - p s)^T + 9 tau]`` and
    ``R = (9 - m_*) sum w (1 - (1 - p s)^T)`` (the reduction from the untrained loss 5) are sums of
    non-negative terms, so each keeps full relative precision: the tuned rate is resolved even when
    the loss differs from 1/2 or from 5 by less than a double's spacing (T = 1e300; a = 1e-17, where
    every p_k < 1e-17).  ``R`` is computed from the scaled table (``p = c q``), divided by ``c`` (or by
    ``T c^2`` when ``T c`` is below 1e-280, where ``1 - (1 - p s)^T = T p s`` to double precision), a
    factor independent of eta, so that it stays a normal double for every a > 0.
    """
    q, v, c, tau = _scaled_table(K, a)
    p, w, _ = _feature_table(K, a)
    s = eta * (2.0 - 3.0 * eta)
    m_star = eta / (2.0 - 3.0 * eta)
    sq = s[:, None] * q[None, :]
    with np.errstate(over="ignore", under="ignore"):
        exponent = T * np.log1p(-s[:, None] * p[None, :])
        E = 0.5 * (m_star * (1.0 - tau) + (INITIAL_SECOND_MOMENT - m_star) * (np.exp(exponent) @ w)
                   + INITIAL_SECOND_MOMENT * tau)
        if c > 1e-280:
            learned = -np.expm1(exponent)                 # R / c below
        elif T * c > 1e-280:
            learned = -np.expm1(-sq * (T * c))            # log1p(-x) = -x for x = s p < 1e-280
        else:
            learned = sq                                  # R / (T c^2)
    return E, (INITIAL_SECOND_MOMENT - m_star) * (learned @ v)


def _optimal_scalar(T: float, K: int, a: float) -> tuple[float, float]:
    """(inf excess, argmin) for one T and one feature count K."""
    lo = math.log(1e-3) - math.log(T)  # T >= 1: from 1e-3/T (far below any tuned rate) to the cap
    hi = math.log(MAX_RATE)
    grid = np.linspace(lo, hi, 97)
    E, R = _excess_and_reduction(np.exp(grid), T, K, a)
    # minimise whichever of E and -R is the smaller in magnitude near the optimum: the same argmin
    use_excess = float(E.min()) < 2.25
    values = E if use_excess else -R

    def objective(u):
        e, r = _excess_and_reduction(np.array([math.exp(u)]), T, K, a)
        return float(e[0]) if use_excess else -float(r[0])

    i = int(np.argmin(values))
    bounds = (grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)])
    res = minimize_scalar(objective, bounds=bounds, method="bounded", options={"xatol": 1e-12})
    u = float(res.x) if res.fun <= values[i] else float(grid[i])
    eta = MAX_RATE if u >= hi else math.exp(u)
    excess = _excess_and_reduction(np.array([eta]), T, K, a)[0][0]
    return float(excess), float(eta)


def _optimal(name: str, T, N, a, b):
    a = _check_a(a)
    b = _check_b(b)
    T = check.counts_as_floats("T", T, low=1)
    N_arr = _check_N(N)
    N_exact = _exact_N(N, N_arr)
    shape = np.broadcast_shapes(T.shape, N_arr.shape)
    size = float(np.prod(shape, dtype=float))
    _check_work(name, operations=size * (_SEARCH_OPERATIONS + _TABLE_OPERATIONS),
                memory_bytes=size * 32, sizes=f"{size:.3g} elements after broadcasting")
    T_b, N_b = np.broadcast_arrays(T, N_arr)
    excesses = np.empty(T_b.shape)
    etas = np.empty(T_b.shape)
    for index in np.ndindex(T_b.shape):
        n = N_exact if N_exact is not None else int(N_b[index])
        excesses[index], etas[index] = _optimal_scalar(float(T_b[index]), _feature_count_scalar(n, b), a)
    return excesses, etas


def optimal_loss(T, N, a, b):
    r"""The tuned constant rate: ``(inf_{0 < eta <= 1/3} Lbar(N, eta, T), argmin)``.

    A grid of 97 rates, log-spaced from ``min(1/3, 1e-3/T)`` to 1/3, followed by bounded Brent
    refinement in ``log eta`` around the best grid point, on the excess ``Lbar - 1/2`` or on the
    reduction ``5 - Lbar``, whichever is smaller (each a sum of non-negative terms, so the rate is
    resolved even where the loss is 1/2 or 5 to all 16 digits).  The loss is unimodal in eta on every
    case the tests scan; the infimum is accurate to about 1e-15 relative, the argmin to about 1e-6.
    If the minimum sits at the cap, ``eta = 1/3`` is returned.  Where ``inf Lbar - 1/2`` is small
    (large N and T), use :func:`optimal_excess`, which returns it without the cancellation of the
    subtraction.

    Parameters
    ----------
    T : int >= 1 or array (up to the largest double).  N : int >= 1 or array (broadcast with T).
    a > 0, b >= 1.  About 2 ms per element; the number of elements is capped by
    ``scalinglaws.work_limits`` (about 15000 by default).

    Returns
    -------
    (loss, eta) : floats, or arrays of the broadcast shape.
    """
    excesses, etas = _optimal("optimal_loss", T, N, a, b)
    losses = 0.5 + excesses
    if losses.ndim == 0:
        return float(losses), float(etas)
    return losses, etas


def optimal_excess(T, N, a, b):
    r"""``(inf_eta Lbar(N, eta, T) - 1/2, argmin)``, the tuned excess over the noise floor 1/2.

    The same search as :func:`optimal_loss`, but the excess
    ``(1/2)[m_*(1 - tau_K) + (9 - m_*) sum_k p_k (1 - p_k s)^T + 9 tau_K]`` is returned as computed,
    a sum of non-negative terms with full relative precision, instead of ``Lbar - 1/2``, which loses
    every digit once the excess falls below about 1e-16 (``N^{-a/b}`` at N = 1e20 for a = b).
    Domain and cost as :func:`optimal_loss`.
    """
    excesses, etas = _optimal("optimal_excess", T, N, a, b)
    if excesses.ndim == 0:
        return float(excesses), float(etas)
    return excesses, etas


def expected_loss_curve(etas, N, a, b, steps=None):
    r"""Exact expected loss after each step for an arbitrary learning-rate schedule.

    Iterates, for every visible feature k (and the Euler--Maclaurin pseudo-features of the far tail),

    .. math:: m_k(t+1) = (1 - p_k s_t) m_k(t) + p_k \eta_t^2,

    with ``s_t = eta_t (2 - 3 eta_t)`` and ``m_k(0) = 9``,

    and returns ``1/2 + (1/2)[sum_k p_k m_k(t) + 9 tau_K]``.  The recursion multiplies by factors in
    ``[2/3, 1]`` and adds non-negative terms, so it is forward stable (relative rounding error at most
    about ``t * 1e-16``).  Cost O(T * min(K, ~2500)) time and O(min(K, ~2500)) memory: independent of N
    beyond 2048 features; capped by ``scalinglaws.work_limits`` (about 3e6 steps at N = 1e12).

    Parameters
    ----------
    etas : 1-D array of per-step rates, each in (0, 1/3]; ``etas[t]`` is the rate of step t+1.
    N : int >= 1 (up to the largest double).  a > 0.  b >= 1.
    steps : optional 1-D array of 1-based step counts in ``1..len(etas)``; if given only those are
        returned (in the given order).

    Returns
    -------
    array of shape (T,) (entry t is the loss after t+1 steps), or of shape ``steps.shape``.
    """
    a = _check_a(a)
    b = _check_b(b)
    etas = check.real_array("etas", etas, low=0, high=MAX_RATE, low_open=True, ndim=1, min_size=1,
                            domain="rates in (0, 1/3]")
    check.within_doubles("N", N, "an integer >= 1")
    N_int = check.integer("N", N, low=1, domain="a number of parameters: an integer >= 1")
    T = etas.size
    if steps is not None:
        steps_arr = check.integer_array("steps", steps, low=1, high=T, ndim=1,
                                        domain=f"step counts in [1, {T}] (= len(etas))")
        steps_idx = steps_arr.astype(np.int64) - 1
    K = _feature_count_scalar(N_int, b)
    _check_work("expected_loss_curve", operations=T * (5 * _table_size(a, float(K)) + 50), memory_bytes=T * 48,
                sizes=f"len(etas) = {T}, {_table_size(a, float(K)):.0f} features and pseudo-features")
    p, w, tau = _feature_table(K, a)
    totals = _curve_sums(etas, p, w)
    curve = 0.5 + 0.5 * (totals + INITIAL_SECOND_MOMENT * tau)
    return curve if steps is None else curve[steps_idx]


def _curve_sums(etas: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_i w_i m(p_i, t)`` for t = 1..T by the per-step recursion (fused in-place numpy ops)."""
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    pm = np.empty_like(m)
    s_all = etas * (2.0 - 3.0 * etas)
    e2_all = etas * etas
    out = np.empty(etas.size)
    for t in range(etas.size):
        # m <- (1 - p s) m + p eta^2  ==  m + p (eta^2 - s m), four in-place passes
        np.multiply(m, -s_all[t], out=pm)
        pm += e2_all[t]
        pm *= p
        m += pm
        out[t] = w @ m
    return out


# ----------------------------------------------------------------------------- simulation
def _truncated_zipf(rng: np.random.Generator, n: int, a: float, K: int) -> np.ndarray:
    r"""``n`` draws from ``Pr[k] = k^{-(1+a)} / sum_{j<=K} j^{-(1+a)}`` on ``k = 1..K`` (as floats).

    Rejection from the discretised Pareto envelope ``Pr[X = k] = k^{-a} - (k+1)^{-a}`` truncated to
    ``X <= K`` (inverse transform of a uniform): the ratio of target to envelope,
    ``(1/k) / (1 - (1 + 1/k)^{-a})``, is largest at k = 1, so ``X`` is accepted with probability
    ``(1 - 2^{-a}) / (X (1 - (1 + 1/X)^{-a}))``; the acceptance rate is above 1/2 for every a.  Written
    with ``expm1``/``log1p`` so that small a is exact (a -> 0 gives the harmonic law on 1..K), unlike
    ``Generator.zipf``, which needs a + 1 > 1 and conditions on draws below 2**63.
    """
    log_top = math.log1p(float(K))  # log(K + 1)
    limit = a * log_top < 1e-250    # then k^{-a} = 1 in double precision: the harmonic law
    c = log_top if limit else -math.expm1(-a * log_top)       # 1 - (K+1)^{-a}  (divided by a if limit)
    bound = math.log(2.0) if limit else -math.expm1(-a * math.log(2.0))
    out = np.empty(n)
    filled = 0
    while filled < n:
        need = n - filled
        U = rng.random(int(need * 1.6) + 16)
        V = rng.random(U.size)
        if limit:
            Y = np.exp(U * c)
            X = np.minimum(np.floor(Y), float(K))
            accept = V * X * np.log1p(1.0 / X) <= bound
        else:
            Y = np.exp(-np.log1p(-U * c) / a)
            X = np.minimum(np.floor(Y), float(K))
            accept = V * X * (-np.expm1(-a * np.log1p(1.0 / X))) <= bound
        got = X[accept][:need]
        out[filled:filled + got.size] = got
        filled += got.size
    return out


def simulate(eta, T, N, a, b, runs, seed=0):
    r"""Test loss of ``runs`` independent SGD runs of the real data process (Monte Carlo).

    Each step draws a feature ``k`` from the Zipf law ``k^{-(a+1)}/zeta(a+1)``, sets ``j = floor(k^b)``,
    ``x_j ~ N(0,1)``, ``y = 3 x_j + noise``; if ``j <= N`` (i.e. ``k <= K``) the model updates
    ``w_j <- w_j - eta (w_j x_j - y) x_j``, otherwise it sees a zero input and nothing moves.  The draw
    is made in two exact stages: visible (``k <= K``) with probability ``1 - tau_K``, then, if visible,
    k from the Zipf law truncated to ``1..K`` (rejection sampling, ``_truncated_zipf``); an
    invisible k need not be drawn, since it changes nothing.  The test loss of the final weights is
    computed exactly over the test distribution, ``1/2 + (1/2)[sum_{k<=K} p_k (w_k - 3)^2 + 9 tau_K]``,
    written as ``1/2 + (1/2)[9 + sum_{drawn k} p_k ((w_k - 3)^2 - 9)]`` so that only drawn features are
    stored: the cost is O(runs * T) whatever N is.

    Parameters
    ----------
    eta : float in (0, 1/3].  T : int >= 0.  N : int >= 1 (any size).  a > 0.  b >= 1.
    runs : int >= 1.  seed : an integer in [0, 2**63), the seed of ``numpy.random.default_rng``.
    The cost, about ``60 T runs`` operations, is capped by ``scalinglaws.work_limits``.

    Returns
    -------
    array of shape (runs,); its mean estimates :func:`expected_loss`, with standard error
    ``std / sqrt(runs)``.
    """
    a = _check_a(a)
    b = _check_b(b)
    eta = check.real("eta", eta, low=0, high=MAX_RATE, low_open=True, domain="a rate in (0, 1/3]")
    T = check.integer("T", T, low=0)
    N_int = check.integer("N", N, low=1, domain="a number of parameters: an integer >= 1")
    runs = check.integer("runs", runs, low=1)
    seed = check.seed("seed", seed)
    chunk = max(1, min(runs, 2_000_000 // max(T, 1)))
    _check_work("simulate", operations=60 * T * runs, memory_bytes=80 * max(T, 1) * chunk + 16 * runs,
                sizes=f"T = {check.count_text(T)}, runs = {check.count_text(runs)}")
    K = _feature_count_scalar(N_int, b)
    visible_mass = 1.0 - float(_tail(a, np.array(float(K))))
    rng = np.random.default_rng(seed)
    losses = np.empty(runs)
    D = min(K, 128)  # features 1..D get a dense slot per run; rarer visible features a sorted slot
    dense_p = _probability(a, np.arange(1, D + 1, dtype=float))
    key_type = np.int64 if K < 2**62 else float
    for start in range(0, runs, chunk):
        n_runs = min(chunk, runs - start)
        if T == 0:
            losses[start:start + n_runs] = 0.5 * (1.0 + INITIAL_SECOND_MOMENT)
            continue
        # feature drawn at each step of each run; 0: invisible (a sink that never learns)
        visible = rng.random(T * n_runs) < visible_mass
        k = np.zeros(T * n_runs, dtype=key_type)
        k[visible] = _truncated_zipf(rng, int(visible.sum()), a, K)
        k = k.reshape(T, n_runs)
        run_id = np.broadcast_to(np.arange(n_runs, dtype=np.int64), k.shape)
        dense_slots = n_runs * D
        dense = (k >= 1) & (k <= D)
        slots = np.full(k.shape, -1, dtype=np.int64)
        slots[dense] = run_id[dense] * D + (k[dense] - 1).astype(np.int64)
        rare = k > D
        rare_k, rare_run = k[rare], run_id[rare]
        order = np.lexsort((rare_k, rare_run))               # by run, then by feature
        sorted_k, sorted_run = rare_k[order], rare_run[order]
        new_group = np.empty(sorted_k.size, dtype=bool)
        new_group[:1] = True
        new_group[1:] = (sorted_k[1:] != sorted_k[:-1]) | (sorted_run[1:] != sorted_run[:-1])
        group = np.cumsum(new_group) - 1
        rare_slot = np.empty(sorted_k.size, dtype=np.int64)
        rare_slot[order] = dense_slots + group
        slots[rare] = rare_slot
        n_rare = int(group[-1]) + 1 if group.size else 0
        w = np.zeros(dense_slots + n_rare + 1)                  # last entry: sink for invisible draws
        for t in range(T):
            x = rng.standard_normal(n_runs)
            noise = rng.standard_normal(n_runs)
            idx = slots[t]
            wi = w[idx]
            # gradient of (1/2)(w x - y)^2 with y = 3x + noise
            wi -= eta * ((wi - W_STAR) * x - noise) * x
            w[idx] = wi
            w[-1] = 0.0                                          # the sink never learns
        # loss = 1/2 + (1/2)[9 + sum over drawn features of p_k ((w_k - 3)^2 - 9)]
        dense_w = w[:dense_slots].reshape(n_runs, D)
        per_run = ((dense_w - W_STAR) ** 2 - INITIAL_SECOND_MOMENT) @ dense_p
        if n_rare:
            group_k = sorted_k[new_group].astype(float)
            group_run = sorted_run[new_group]
            rare_w = w[dense_slots:dense_slots + n_rare]
            contrib = _probability(a, group_k) * ((rare_w - W_STAR) ** 2 - INITIAL_SECOND_MOMENT)
            per_run += np.bincount(group_run, weights=contrib, minlength=n_runs)
        losses[start:start + n_runs] = 0.5 + 0.5 * (INITIAL_SECOND_MOMENT + per_run)
    return losses


# ----------------------------------------------------------------------------- asymptotics
def _exponent_ratios(a: float) -> tuple[float, float]:
    """``((a+1)/(2a+1), a/(2a+1))`` without overflow or underflow for any a > 0."""
    if a < 1.0:
        return (a + 1.0) / (2.0 * a + 1.0), a / (2.0 * a + 1.0)
    return 1.0 / (2.0 - 1.0 / (a + 1.0)), 1.0 / (2.0 + 1.0 / a)


def _log_18Dg(a: float) -> float:
    r"""``log(18 D g)`` with ``g = a/(a+1)``, ``D = Gamma(g)/((a+1) zeta(a+1)^{1/(a+1)})``.

    Written as ``log 18 + lgamma(1 + g) - log(a + 1) - log(zeta(a+1))/(a+1)`` (``g Gamma(g) =
    Gamma(1 + g)``), finite for every a > 0 (Gamma(g) alone overflows as a -> 0).
    """
    g = a / (a + 1.0)
    return math.log(18.0) + float(gammaln(1.0 + g)) - math.log1p(a) - _log_normaliser(a) / (a + 1.0)


def asymptotic_exponents(a, b):
    r"""Derived exponents ``(alpha, beta) = (a/b, a/(2a+1))`` of ``inf_eta Lbar - 1/2``.

    ``inf_eta Lbar = 1/2 + Theta(N^{-alpha} + T^{-beta})``; the N-term dominates iff
    ``log T / log N > (2a+1)/b``.  Domain: a > 0, b >= 1 (every double; beta is computed as
    ``1/(2 + 1/a)`` for a >= 1, so that it tends to 1/2 without overflow).
    """
    a = _check_a(a)
    b = _check_b(b)
    return a / b, _exponent_ratios(a)[1]


def asymptotic_constants(a, b):
    r"""Leading constants ``(A, B)`` of ``inf_eta Lbar ~ 1/2 + A N^{-a/b} + B T^{-a/(2a+1)}``.

    ``A = 9 / (2 a zeta(a+1))`` (the unseen Zipf tail) and, with ``g = a/(a+1)`` and
    ``D = Gamma(g) / ((a+1) zeta(a+1)^{1/(a+1)})`` (so that ``sum_k p_k e^{-mu p_k} ~ D mu^{-g}``),
    ``B = ((2a+1)/(4a)) (18 D g)^{(a+1)/(2a+1)} 2^{-a/(2a+1)}``.  Each is the limit of its term when
    that term dominates (c = log T/log N above, resp. below, (2a+1)/b).  Domain: a > 0, b >= 1; both
    evaluated in log space from ``a zeta(1 + a)``, finite for every double a (A -> 9/2 as a -> 0,
    B ~ 1.5/sqrt(a) as a -> infinity).
    """
    a = _check_a(a)
    _check_b(b)
    A = 4.5 * math.exp(-_log_scaled_normaliser(a))
    first, second = _exponent_ratios(a)
    log_front = (math.log1p(2.0 * a) - math.log(4.0 * a)) if a < 1.0 else (math.log(2.0 + 1.0 / a) - math.log(4.0))
    B = math.exp(log_front + first * _log_18Dg(a) - second * math.log(2.0))
    return A, B


def asymptotic_optimal_rate(T, a):
    r"""Leading-order tuned rate for ``N = infinity``: ``eta*(T) = (18 D g)^{(a+1)/(2a+1)} (2T)^{-a/(2a+1)}``.

    With ``g = a/(a+1)``, ``D`` as in :func:`asymptotic_constants`.  Domain: T >= 1 (real, scalar or
    array, up to the largest double), a > 0; evaluated in log space.  A ValueError says so if the rate
    is below the smallest normal double (only for a below about 1e-300).
    """
    a = _check_a(a)
    T = check.real_or_array("T", T, "a real number >= 1 (a number of steps)", "real numbers >= 1 (numbers of steps)", low=1)
    _check_work("asymptotic_optimal_rate", operations=20 * T.size, memory_bytes=32 * T.size,
                sizes=f"{T.size} values of T")
    first, second = _exponent_ratios(a)
    log_rate = first * _log_18Dg(a) - second * (math.log(2.0) + np.log(T))
    if np.any(log_rate < math.log(np.finfo(float).tiny)):
        raise check.not_representable(f"asymptotic_optimal_rate(T, a={a!r})",
                                      f"the rate is about exp({float(np.min(log_rate)):.6g})")
    result = np.exp(log_rate)
    return result if result.ndim else float(result)


def asymptotic_optimal_excess(N, T, a, b):
    r"""Leading-order ``inf_eta Lbar - 1/2`` for any (N, T): the crossover (scaling) function.

    Replacing the sum over visible features by its integral (``K = N^{1/b}``, ``s ~ 2 eta``,
    ``m_* ~ eta/2``, ``Z = zeta(a+1)``, ``g = a/(a+1)``) gives

    .. math::

       \min_{0<\eta\le 1/3} \Big[\frac{\eta}{4} + \frac92\Big(D (2\eta T)^{-g}
       Q\big(g, \tfrac{2\eta T}{Z K^{a+1}}\big) + \frac{K^{-a}}{a Z}\Big)\Big],

    ``Q`` the regularised upper incomplete gamma function and ``D`` as in
    :func:`asymptotic_constants`.  It tends to ``A N^{-a/b}`` when ``log T/log N > (2a+1)/b`` and to
    ``B T^{-a/(2a+1)}`` when ``log T/log N < (2a+1)/b``; at ``T = N^{(2a+1)/b}`` it is a constant
    multiple of either.  Domain: N >= 1, T >= 1 (reals or arrays, broadcast, up to the largest
    double), a > 0, b >= 1; each term is evaluated in log space.  About 1 ms per element, capped by
    ``scalinglaws.work_limits``.
    """
    a = _check_a(a)
    b = _check_b(b)
    N = check.real_or_array("N", N, "a real number >= 1 (a number of parameters)", "real numbers >= 1 (numbers of parameters)",
               low=1)
    T = check.real_or_array("T", T, "a real number >= 1 (a number of steps)", "real numbers >= 1 (numbers of steps)", low=1)
    shape = np.broadcast_shapes(N.shape, T.shape)
    size = float(np.prod(shape, dtype=float))
    _check_work("asymptotic_optimal_excess", operations=size * 5e5, memory_bytes=size * 32,
                sizes=f"{size:.3g} elements after broadcasting")
    g = a / (a + 1.0)
    log_Z = _log_normaliser(a)
    log_D = _log_18Dg(a) - math.log(18.0) - (math.log(a) - math.log1p(a))   # log D = log(18 D g) - log 18 - log g
    log_aZ = _log_scaled_normaliser(a)
    N_b, T_b = np.broadcast_arrays(N, T)
    out = np.empty(N_b.shape)
    for index in np.ndindex(N_b.shape):
        log_K = math.log(float(N_b[index])) / b
        t = float(T_b[index])
        with np.errstate(under="ignore"):
            unseen = 4.5 * math.exp(max(-a * log_K - log_aZ, -800.0))

        def excess(u, log_K=log_K, t=t, unseen=unseen):
            log_mu = math.log(2.0) + u + math.log(t)
            log_x = log_mu - log_Z - (a + 1.0) * log_K
            x = math.exp(log_x) if log_x < 700.0 else math.inf
            learning = math.exp(max(log_D - g * log_mu, -800.0)) * float(gammaincc(g, x))
            return math.exp(u) / 4.0 + 4.5 * learning + unseen

        grid = np.linspace(math.log(1e-3) - math.log(t), math.log(MAX_RATE), 97)
        values = np.array([excess(u) for u in grid])
        i = int(np.argmin(values))
        res = minimize_scalar(excess, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]),
                              method="bounded", options={"xatol": 1e-12})
        out[index] = min(float(res.fun), float(values[i]))
    return out if out.ndim else float(out)
