r"""The best batch-size schedule for a fixed budget of examples, in the one-dimensional model.

The model is that of :mod:`scalinglaws.linear1d` and :mod:`scalinglaws.noise_scale`: ``x ~ N(0, 1)``,
``y = 3x + n``, SGD on ``w`` from ``E[(w_0 - 3)^2] = m_0``. Step ``t`` uses ``B_t`` fresh examples and
the rate ``k eps_opt(B_t, m_t)``, a fraction ``k`` in (0, 1] of the one-step optimal (greedy) rate
``eps_opt = B m / ((B + 2) m + 1)``. The exact second moment ``m_t = E[(w_t - 3)^2]`` then obeys

.. math::  m_{t+1} = m_t\Big(1 - f\,\frac{B_t}{B_t + B_{noise}(m_t)}\Big),\qquad
           f = 2k - k^2,\quad B_{noise}(m) = 2 + \frac1m,

and the loss is ``L_t = (1 + m_t)/2``. The question: given ``T`` steps and ``N = sum_t B_t``
examples, which batches minimise the final loss?

With the greedy rate (``k = 1``, the best rate schedule for any batch schedule, because ``m_{t+1}``
increases with ``m_t`` for every rate) the precision ``x = 1/m`` grows additively,

.. math::  x_{t+1} &= x_t + \frac{B_t\,x_t}{x_t + 2},\qquad\text{so}\\
           \sum_t B_t &= (x_T - x_0) + 2\sum_t (r_t - 1),\quad r_t = \frac{x_{t+1}}{x_t}.

By the AM–GM inequality ``sum_t r_t >= T (x_T/x_0)^(1/T)`` with equality iff every ``r_t`` is equal,
so the examples needed to reach ``x_T`` in ``T`` steps are at least
``(x_T - x_0) + 2T((x_T/x_0)^(1/T) - 1)``, attained by geometric growth of the precision, i.e. by

.. math::  B_t = (r - 1)\,B_{noise}(m_t),\qquad r = (x_T/x_0)^{1/T}:

batches *proportional* to the noise scale (:func:`relaxed_optimum`). The bound holds for real
batches; :func:`integer_optimum` finds the best integer schedule by branch and bound with it, and
:func:`brute_force_optimum` checks small instances by enumeration. For ``k < 1`` there is no closed
form; :func:`numerical_optimum` minimises ``m_T`` with the exact adjoint (costate) gradient
(:func:`schedule_costate`).

The rules compared against the optimum: the Euler–Lagrange rule of the scaling-law notes,
``B = sqrt(DeltaL_max B_noise / lambda) - B_noise`` evaluated at the current state
(:func:`notes_rule_schedule`), and the exchange-rate rule ``B = c sqrt(B_noise)``
(:func:`sqrt_noise_schedule`); :func:`rule_for_budget` picks their parameter to spend a given budget.

References: S. McCandlish, J. Kaplan, D. Amodei et al., "An Empirical Model of Large-Batch
Training", arXiv:1812.06162 (2018); for the Euler–Lagrange and exchange-rate rules, the blog post
"偷学了一手 scaling law,遂记录一下" (notes on scaling laws, 2025).
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, minimize

from . import _validation as check

__all__ = [
    "BudgetRule",
    "IntegerOptimum",
    "NumericalOptimum",
    "RelaxedOptimum",
    "brute_force_optimum",
    "integer_optimum",
    "min_examples_relaxed",
    "notes_rule_schedule",
    "numerical_optimum",
    "relaxed_optimum",
    "rule_for_budget",
    "schedule_costate",
    "schedule_trajectory",
    "sqrt_noise_schedule",
]

# One iteration of a Python-level loop below, in elementary operations (see _validation.check_work:
# about 3e10 of them a minute), measured on the 2-core development machine.
PY_STEP = 2000
M0_DOMAIN = dict(low=1e-300, high=1e300)  # m0 and 1/m0 both representable with room to spare
MAX_EXAMPLES = 10**15  # integer batch sums stay exact in float64


def _m0(m0) -> float:
    return check.real("m0", m0, **M0_DOMAIN)


def _rate_factor(rate_factor) -> float:
    return check.real("rate_factor", rate_factor, low=0, high=1, low_open=True)


def _steps(steps, high: int = 10**6) -> int:
    return check.integer("steps", steps, low=1, high=high)


def _examples(examples, steps: int) -> int:
    examples = check.integer("examples", examples, low=1, high=MAX_EXAMPLES)
    if examples < steps:
        raise ValueError(f"examples must be >= steps = {steps} (every step takes a batch of at least one "
                         f"example), got {examples}")
    return examples


def _batches(batch_sizes) -> np.ndarray:
    return check.real_array("batch_sizes", batch_sizes, low=1, high=MAX_EXAMPLES, ndim=1, min_size=1,
                            domain="batch sizes in [1, 1e15] (one example or more per step)")


def _step(m: float, B: float, f: float) -> float:
    # m (1 - f B/(B + Bn)) = m ((1 - f) B + Bn)/(B + Bn): no overflow for any m in [1e-300, 1e300]
    Bn = 2.0 + 1.0 / m
    return m * ((1.0 - f) * B + Bn) / (B + Bn)


# ---------------------------------------------------------------------------------------------
# Evaluating a schedule


def schedule_trajectory(batch_sizes, m0=9.0, rate_factor=1.0) -> np.ndarray:
    r"""Exact ``m_t = E[(w_t - 3)^2]``, ``t = 0..T``, under the batch schedule ``batch_sizes``.

    .. math:: m_{t+1} = m_t\,\frac{(1-f)B_t + B_{noise}(m_t)}{B_t + B_{noise}(m_t)},\quad
              B_{noise}(m) = 2 + 1/m,\quad f = 2k - k^2

    (rates ``k eps_opt``; see the module docstring). Real batches >= 1 are accepted: the recursion is
    the exact one for integers and its analytic interpolation otherwise.

    Parameters
    ----------
    batch_sizes : 1-D array of reals in [1, 1e15]; ``B_t``.
    m0 : real in [1e-300, 1e300]; the initial second moment (9 for ``w_0 = 0``).
    rate_factor : real in (0, 1]; ``k``.

    Returns
    -------
    array (T + 1,).
    """
    B = _batches(batch_sizes)
    m = _m0(m0)
    k = _rate_factor(rate_factor)
    check.check_work("batch_schedule.schedule_trajectory", operations=PY_STEP * B.size,
                     sizes=f"T = {B.size}")
    f = 2.0 * k - k * k
    out = np.empty(B.size + 1)
    out[0] = m
    for t, b in enumerate(B):
        m = _step(m, float(b), f)
        out[t + 1] = m
    return out


def schedule_costate(batch_sizes, m0=9.0, rate_factor=1.0):
    r"""The costates ``p_t = dm_T/dm_t`` and the gradient ``dm_T/dB_t`` of a batch schedule.

    Pontryagin's principle for the recursion ``m_{t+1} = phi(m_t, B_t)`` of
    :func:`schedule_trajectory`: the costate runs backwards, ``p_T = 1``,
    ``p_t = p_{t+1} dphi/dm(m_t, B_t)``, and ``dm_T/dB_t = p_{t+1} dphi/dB(m_t, B_t)`` with

    .. math:: \phi &= m - \frac{f B m^2}{D},\qquad D = (B+2)m + 1,\\
              \frac{\partial\phi}{\partial B} &= -\frac{f m^2 (2m+1)}{D^2},\qquad
              \frac{\partial\phi}{\partial m} = 1 - \frac{f B m\,(D + 1)}{D^2}.

    At an optimum for a fixed budget every ``dm_T/dB_t`` with ``B_t`` above its lower bound is the
    same (the multiplier of the budget). Domain as :func:`schedule_trajectory`.

    Returns
    -------
    (m, p, grad) : arrays of lengths T + 1, T + 1, T.
    """
    B = _batches(batch_sizes)
    m = schedule_trajectory(B, m0, rate_factor)
    f = 2.0 * _rate_factor(rate_factor) - _rate_factor(rate_factor) ** 2
    T = B.size
    p = np.empty(T + 1)
    grad = np.empty(T)
    p[T] = 1.0
    for t in range(T - 1, -1, -1):
        mt, b = m[t], float(B[t])
        # with D = (B + 2) m + 1 = m s, s = B + B_noise(m): no product below can overflow
        s = b + 2.0 + 1.0 / mt
        grad[t] = -p[t + 1] * f * (2.0 * mt + 1.0) / s / s
        p[t] = p[t + 1] * (1.0 - f * b * (s + 1.0 / mt) / s / s)
    return m, p, grad


# ---------------------------------------------------------------------------------------------
# The optimum for k = 1: closed form (real batches) and branch and bound (integer batches)


class RelaxedOptimum(NamedTuple):
    """The best real-valued schedule for ``k = 1`` (:func:`relaxed_optimum`)."""

    batch_sizes: np.ndarray  # B_t = (r - 1) B_noise(m_t), length T
    m: np.ndarray            # m_t, length T + 1 (geometric: m_t = m_0 r^-t)
    ratio: float             # r = x_{t+1}/x_t = m_t/m_{t+1}
    feasible: bool           # every B_t >= 1 (then it is also the optimum over real batches >= 1)


def _growth(x, n, K):
    """d = r - 1 >= 0 solving x ((1 + d)^K - 1) + 2 K d = n (vectorised over x and n >= 0).

    The left side is convex and increasing in d, so Newton's method started above the root decreases
    monotonically to it. Two starting points above the root: the d that spends n on the first term
    alone, and the d that spends it on the second alone; the smaller is used.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(over="ignore", divide="ignore"):
        d1 = np.expm1(np.log1p(n / x) / K)
    d = np.minimum(d1, n / (2.0 * K))
    for _ in range(200):
        lg = np.log1p(d)
        h = x * np.expm1(K * lg) + 2.0 * K * d - n
        dh = x * K * np.exp((K - 1) * lg) + 2.0 * K
        d_new = np.maximum(d - h / dh, 0.0)
        change = np.max(np.abs(d_new - d) / np.maximum(d, 1e-300))
        d = d_new
        # quadratic convergence: a relative change of 1e-13 leaves an error far below one ulp, after
        # which rounding alone moves d by an ulp back and forth
        if change <= 1e-13:
            break
    return d


def _relaxed_final_precision(x, n, K):
    # x_K = x + n - 2 K d at the optimum (the budget identity): no exponential to overflow
    d = _growth(x, n, K)
    return x + n - 2.0 * K * d


def relaxed_optimum(steps, examples, m0=9.0) -> RelaxedOptimum:
    r"""The schedule of real batches that minimises ``m_T`` for ``T`` steps and ``N`` examples (k = 1).

    With the greedy rate the examples spent are ``sum_t B_t = (x_T - x_0) + 2 sum_t (r_t - 1)`` in
    terms of the precision ``x = 1/m`` and its growth factors ``r_t``; by AM–GM the largest ``x_T``
    reachable with ``N`` examples solves

    .. math:: x_0 (r^T - 1) + 2T(r - 1) = N,\qquad B_t = (r-1)\,B_{noise}(m_t),\quad m_t = m_0 r^{-t},

    and no schedule of real batches ``B_t > 0`` does better. If every ``B_t >= 1`` (``feasible``) it
    is also the optimum over real batches ``>= 1``; in any case ``m_T`` is a lower bound for every
    integer schedule (:func:`integer_optimum`).

    Parameters
    ----------
    steps : int in [1, 1e6]; T.
    examples : int in [T, 1e15]; N.
    m0 : real in [1e-300, 1e300].

    Reference: the AM–GM argument is this module's; the model is McCandlish et al. (2018)'s local
    quadratic model, exact here.
    """
    T = _steps(steps)
    N = _examples(examples, T)
    m0 = _m0(m0)
    check.check_work("batch_schedule.relaxed_optimum", operations=50.0 * T, sizes=f"T = {T}")
    x0 = 1.0 / m0
    d = float(_growth(x0, float(N), T))
    xs = x0 * np.exp(np.arange(T + 1) * math.log1p(d))
    if not np.all(np.isfinite(xs)):
        raise check.not_representable("the optimal schedule's precision 1/m_t", "1/m_T exceeds 1.8e308")
    B = d * (xs[:-1] + 2.0)
    feasible = bool(np.all(B >= 1.0 - 1e-12))
    if feasible:  # B_t = 1 exactly when N = T; rounding must not leave it a hair below one example
        B = np.maximum(B, 1.0)
    return RelaxedOptimum(batch_sizes=B, m=1.0 / xs, ratio=1.0 + d, feasible=feasible)


def min_examples_relaxed(steps, m_target, m0=9.0) -> float:
    r"""The fewest examples (real batches, k = 1) that bring ``m_T`` down to ``m_target`` in ``T`` steps.

    .. math:: N_{min}(T) = \Big(\frac{1}{m_T} - \frac{1}{m_0}\Big)
              + 2T\Big[\Big(\frac{m_0}{m_T}\Big)^{1/T} - 1\Big],

    the AM–GM bound of :func:`relaxed_optimum` solved for ``N``. It decreases with ``T`` to
    ``1/m_T - 1/m_0 + 2 log(m_0/m_T)``, the continuum theory's ``E_min`` in this model.

    Domain: ``steps`` an int in [1, 1e6]; ``0 < m_target < m0`` with both in [1e-300, 1e300].
    """
    T = _steps(steps)
    m0 = _m0(m0)
    mT = check.real("m_target", m_target, low=M0_DOMAIN["low"], high=m0, high_open=True,
                    domain=f"a real number in [1e-300, m0) = [1e-300, {m0:.6g})")
    return (1.0 / mT - 1.0 / m0) + 2.0 * T * math.expm1(math.log(m0 / mT) / T)


class IntegerOptimum(NamedTuple):
    """The best integer schedule for ``k = 1`` (:func:`integer_optimum`, :func:`brute_force_optimum`)."""

    batch_sizes: np.ndarray  # integers >= 1 summing to N
    m_final: float           # m_T of that schedule
    bound: float             # m_T of the real-valued relaxation: a lower bound on every schedule's m_T
    nodes: int               # search nodes visited (branch and bound) or schedules enumerated


def integer_optimum(steps, examples, m0=9.0, max_nodes=10**5) -> IntegerOptimum:
    r"""The integer batches ``B_t >= 1`` with ``sum_t B_t = N`` that minimise ``m_T`` (k = 1), certified.

    Depth-first branch and bound over ``B_0, B_1, ...`` in the precision ``x = 1/m`` (maximised).
    At a node (``x_t``, ``n`` examples left, ``K`` steps left) the AM–GM bound of
    :func:`relaxed_optimum` gives the largest reachable ``x_T`` over real batches; a child whose bound
    is not above the best schedule found so far (with a relative margin of 1e-12 against rounding)
    is pruned. Children are tried from the relaxed optimum's first batch outwards, so the first
    leaf is already near optimal and little is explored. The result is optimal up to a relative
    1e-12 (a branch that cannot beat the best schedule by more than that is not explored, which also
    keeps exact ties from being enumerated); ``bound`` (the relaxation's ``m_T``) certifies how close
    integer batches come to the real-valued optimum.

    Parameters
    ----------
    steps : int in [1, 200]; T (the search recurses once per step).
    examples : int in [T, 1e9]; N.
    m0 : real in [1e-300, 1e300].
    max_nodes : int >= 1; the search stops with a ValueError beyond this many nodes.

    Returns
    -------
    IntegerOptimum
    """
    T = _steps(steps, high=200)
    N = check.integer("examples", examples, low=1, high=10**9)
    N = _examples(N, T)
    m0 = _m0(m0)
    max_nodes = check.integer("max_nodes", max_nodes, low=1)
    # each node solves the bound for every candidate child (Newton sweeps over <= N children); about
    # 1e3 * N * T elementary operations in all, measured (40 steps and 20000 examples take ~1 s)
    check.check_work("batch_schedule.integer_optimum", operations=1e3 * N * T,
                     memory_bytes=8.0 * 10 * N, sizes=f"steps * examples = {T * N:.3g}")
    x0 = 1.0 / m0
    best = {"x": -math.inf, "B": None}
    nodes = 0

    def final_x(x, B):
        for b in B:
            x = x + b * x / (x + 2.0)
        return x

    # incumbent: the relaxed optimum rounded, with the rounding error absorbed by the last step
    relax = relaxed_optimum(T, N, m0)
    start = np.maximum(1, np.floor(relax.batch_sizes)).astype(np.int64)
    if start.sum() <= N:
        start[-1] += N - start.sum()
        best["x"], best["B"] = final_x(x0, start.astype(float)), start.copy()

    def search(x, n, K, prefix):
        nonlocal nodes
        nodes += 1
        if nodes > max_nodes:
            raise ValueError(f"integer_optimum: the search needed more than max_nodes={max_nodes} nodes; "
                             f"raise max_nodes to continue")
        if K == 1:
            v = x + n * x / (x + 2.0)
            if v > best["x"]:
                best["x"], best["B"] = v, np.array(prefix + [n], dtype=np.int64)
            return
        b = np.arange(1, n - (K - 1) + 1, dtype=float)
        xb = x + b * x / (x + 2.0)
        bounds = _relaxed_final_precision(xb, n - b, K - 1)
        keep = bounds > best["x"] * (1.0 + 1e-12)  # only a child that can beat the incumbent by > 1e-12
        if not np.any(keep):
            return
        d = float(_growth(x, float(n), K))
        centre = d * (x + 2.0)
        order = np.argsort(np.abs(b - centre), kind="stable")
        for i in order:
            # re-test against the incumbent, which improves during the loop
            if keep[i] and bounds[i] > best["x"] * (1.0 + 1e-12):
                search(float(xb[i]), n - int(b[i]), K - 1, prefix + [int(b[i])])

    search(x0, N, T, [])
    return IntegerOptimum(batch_sizes=best["B"], m_final=1.0 / best["x"], bound=float(relax.m[-1]), nodes=nodes)


def brute_force_optimum(steps, examples, m0=9.0) -> IntegerOptimum:
    r"""The best integer schedule (k = 1) by enumerating every composition of ``N`` into ``T`` batches >= 1.

    There are ``C(N - 1, T - 1)`` of them; each is evaluated with the recursion of
    :func:`schedule_trajectory` (vectorised over schedules, written out here independently of the
    precision form used by :func:`integer_optimum`). For checking small instances.

    Domain: ``steps`` in [1, 1000]; ``examples`` in [T, 1e9], with ``C(N-1, T-1)`` small enough
    for the work cap (about 5e7 schedules).
    """
    T = _steps(steps, high=1000)
    N = check.integer("examples", examples, low=1, high=10**9)
    N = _examples(N, T)
    m0 = _m0(m0)
    count = math.comb(N - 1, T - 1)
    check.check_work("batch_schedule.brute_force_optimum", operations=600.0 * count * T,
                     sizes=f"C(examples - 1, steps - 1) = {count:.3g} schedules")
    best_m, best_B = math.inf, None
    combos = itertools.combinations(range(1, N), T - 1)  # the cut points between consecutive batches
    while True:
        block = list(itertools.islice(combos, 100_000))
        if not block:
            break
        cuts = np.array(block, dtype=np.int64).reshape(len(block), T - 1)
        rows = cuts.shape[0]
        edges = np.hstack([np.zeros((rows, 1), np.int64), cuts, np.full((rows, 1), N, np.int64)])
        Bs = np.diff(edges, axis=1).astype(float)
        m = np.full(rows, m0)
        for t in range(T):  # m (2m + 1)/((B + 2) m + 1) = m B_noise/(B + B_noise), B_noise = 2 + 1/m
            Bn = 2.0 + 1.0 / m
            m = m * Bn / (Bs[:, t] + Bn)
        i = int(np.argmin(m))
        if m[i] < best_m:
            best_m, best_B = float(m[i]), Bs[i].astype(np.int64)
    return IntegerOptimum(batch_sizes=best_B, m_final=best_m, bound=float(relaxed_optimum(T, N, m0).m[-1]),
                          nodes=count)


# ---------------------------------------------------------------------------------------------
# Any k: the numerical optimum with the adjoint gradient


class NumericalOptimum(NamedTuple):
    """A real-valued schedule from :func:`numerical_optimum` and its first-order certificate."""

    batch_sizes: np.ndarray  # real, >= 1, summing to N
    m: np.ndarray            # m_t, length T + 1
    stationarity: float      # max relative spread of dm_T/dB_t over the steps with B_t > 1.5
    iterations: int


def numerical_optimum(steps, examples, m0=9.0, rate_factor=1.0, start=None) -> NumericalOptimum:
    r"""Minimise ``m_T`` over real batches ``B_t >= 1`` with ``sum_t B_t = N`` for any rate factor k.

    The schedule is parametrised as ``B = 1 + (N - T) softmax(z)``, which meets both constraints,
    and ``z`` is optimised by L-BFGS with the exact gradient from the costates of
    :func:`schedule_costate`. The result is a stationary point: at it every ``dm_T/dB_t`` with
    ``B_t`` away from 1 is equal (Pontryagin's condition with the budget's multiplier), and
    ``stationarity`` reports how far from equal they are. For ``k = 1`` the global optimum is known
    in closed form (:func:`relaxed_optimum`), which checks this routine.

    Parameters
    ----------
    steps : int in [1, 20000]; T.
    examples : int in [T, 1e15]; N (> T for a non-trivial problem).
    m0 : real in [1e-300, 1e300].
    rate_factor : real in (0, 1].
    start : optional 1-D array of T reals >= 1 summing to about N, the initial schedule.

    Returns
    -------
    NumericalOptimum
    """
    T = _steps(steps, high=20000)
    N = _examples(examples, T)
    m0 = _m0(m0)
    k = _rate_factor(rate_factor)
    check.check_work("batch_schedule.numerical_optimum", operations=2.0 * PY_STEP * T * 2000,
                     sizes=f"T = {T}")
    if N == T:
        B = np.ones(T)
        return NumericalOptimum(B, schedule_trajectory(B, m0, k), 0.0, 0)
    extra = float(N - T)
    if start is None:
        z0 = np.zeros(T)
    else:
        s = check.real_array("start", start, low=1, high=MAX_EXAMPLES, ndim=1, min_size=1,
                             domain="batch sizes in [1, 1e15], one per step")
        if s.size != T:
            raise ValueError(f"start must have T = {T} entries, got {s.size}")
        z0 = np.log(np.maximum(s - 1.0, 1e-9 * extra / T))
    scale = {"value": None}

    def objective(z):
        w = np.exp(z - z.max())
        s = w / w.sum()
        B = 1.0 + extra * s
        m, _, g = schedule_costate(B, m0, k)
        if scale["value"] is None:  # a fixed scale so that L-BFGS sees numbers of order one
            scale["value"] = 1.0 / m[-1]
        gz = extra * (s * g - s * float(s @ g))
        return m[-1] * scale["value"], gz * scale["value"]

    res = minimize(objective, z0, jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-13})
    w = np.exp(res.x - res.x.max())
    B = 1.0 + extra * w / w.sum()
    m, _, g = schedule_costate(B, m0, k)
    free = B > 1.5
    scale = abs(g[free].mean()) if np.any(free) else 0.0
    spread = float((g[free].max() - g[free].min()) / scale) if scale > 0 else 0.0
    return NumericalOptimum(batch_sizes=B, m=m, stationarity=spread, iterations=int(res.nit))


# ---------------------------------------------------------------------------------------------
# The rules: the notes' Euler–Lagrange rule and the exchange-rate sqrt(B_noise) rule


class _TooLarge(Exception):
    """A rule asked for a batch above MAX_EXAMPLES (caught by rule_for_budget's search)."""


def _rule_schedule(kind: str, T: int, param: float, m0: float, k: float, integer: bool, strict: bool = True):
    f = 2.0 * k - k * k
    B = np.empty(T)
    m = np.empty(T + 1)
    m[0] = m0
    for t in range(T):
        mt = m[t]
        Bn = 2.0 + 1.0 / mt
        if kind == "notes":  # sqrt(DeltaL_max B_noise / lambda) - B_noise with DeltaL_max = m/2
            b = math.sqrt((0.5 * mt * Bn) / param) - Bn
        else:
            b = param * math.sqrt(Bn)
        b = max(1.0, float(np.rint(b)) if integer else b)
        if not b <= MAX_EXAMPLES:
            if not strict:
                raise _TooLarge
            name = "lam" if kind == "notes" else "coef"
            raise ValueError(f"{name}={param!r} makes the rule ask for {b:.3g} examples at step {t}, above the "
                             f"1e15 a batch may hold; choose a {'larger' if kind == 'notes' else 'smaller'} {name}")
        B[t] = b
        m[t + 1] = _step(mt, b, f)
    return B, m


def notes_rule_schedule(steps, lam, m0=9.0, rate_factor=1.0, integer=True):
    r"""The Euler–Lagrange rule of the scaling-law notes applied step by step in the 1-D model.

    .. math:: B_t &= \max\Big(1,\ \sqrt{\Delta L_{max}(m_t)\,B_{noise}(m_t)/\lambda} - B_{noise}(m_t)\Big),\\
              \Delta L_{max} &= \frac{m_t}{2},\qquad B_{noise} = 2 + \frac{1}{m_t},

    evaluated at the current state (rounded to the nearest integer when ``integer``), with rates
    ``k eps_opt``. The notes derive it by maximising ``int DeltaL_opt(B(s)) ds - lambda int B ds``
    with ``DeltaL_max(s)`` and ``B_noise(s)`` treated as given functions of the step.

    Parameters
    ----------
    steps : int in [1, 1e6]; lam : real > 0, the multiplier; m0, rate_factor as
    :func:`schedule_trajectory`; integer : bool.

    Returns
    -------
    (batch_sizes, m) : arrays of lengths T and T + 1.
    """
    T = _steps(steps)
    lam = check.real("lam", lam, low=0, low_open=True)
    m0 = _m0(m0)
    k = _rate_factor(rate_factor)
    integer = check.flag("integer", integer)
    check.check_work("batch_schedule.notes_rule_schedule", operations=PY_STEP * T, sizes=f"T = {T}")
    return _rule_schedule("notes", T, lam, m0, k, integer)


def sqrt_noise_schedule(steps, coef, m0=9.0, rate_factor=1.0, integer=True):
    r"""The exchange-rate rule ``B_t = max(1, c sqrt(B_noise(m_t)))`` in the 1-D model.

    Rounded to the nearest integer when ``integer``; rates ``k eps_opt``. In the continuum
    (small-step) theory this schedule minimises examples plus ``lambda`` times steps, with
    ``c = sqrt(lambda)``.

    Parameters
    ----------
    steps : int in [1, 1e6]; coef : real > 0; m0, rate_factor as :func:`schedule_trajectory`;
    integer : bool.

    Returns
    -------
    (batch_sizes, m) : arrays of lengths T and T + 1.
    """
    T = _steps(steps)
    coef = check.real("coef", coef, low=0, low_open=True)
    m0 = _m0(m0)
    k = _rate_factor(rate_factor)
    integer = check.flag("integer", integer)
    check.check_work("batch_schedule.sqrt_noise_schedule", operations=PY_STEP * T, sizes=f"T = {T}")
    return _rule_schedule("sqrt", T, coef, m0, k, integer)


class BudgetRule(NamedTuple):
    """A rule's schedule spending a budget of examples (:func:`rule_for_budget`)."""

    parameter: float         # lambda (notes) or c (sqrt)
    batch_sizes: np.ndarray  # summing to the budget
    m: np.ndarray            # m_t, length T + 1
    leftover: float          # examples the rule left unspent, added to its largest batch


def rule_for_budget(rule, steps, examples, m0=9.0, rate_factor=1.0, integer=True) -> BudgetRule:
    r"""Choose the parameter of a rule so that its schedule spends ``examples`` in ``steps`` steps.

    ``rule`` is ``"notes"`` (:func:`notes_rule_schedule`, parameter ``lambda``) or ``"sqrt"``
    (:func:`sqrt_noise_schedule`, parameter ``c``). The total spent is monotone in the parameter up
    to the feedback through the state; the parameter is found by bisection in its logarithm as the
    one whose schedule spends the most without exceeding the budget. With integer batches a few
    examples may remain (a total is a step function of the parameter); they are added to the rule's
    largest batch, and ``leftover`` says how many. Real batches spend the budget exactly.

    Parameters
    ----------
    rule : "notes" or "sqrt".
    steps : int in [1, 1e6]; examples : int in [T, 1e15]; m0, rate_factor, integer as above.
    """
    rule = check.choice("rule", rule, ("notes", "sqrt"))
    T = _steps(steps, high=10**6)
    N = _examples(examples, T)
    m0 = _m0(m0)
    k = _rate_factor(rate_factor)
    integer = check.flag("integer", integer)
    check.check_work("batch_schedule.rule_for_budget", operations=PY_STEP * T * 250, sizes=f"T = {T}")
    # log-parameter u: spending grows with c and falls with lambda; work with "more spending = larger u"
    sign = -1.0 if rule == "notes" else 1.0

    def spend(u):
        try:
            B, m = _rule_schedule(rule, T, math.exp(sign * u), m0, k, integer, strict=False)
        except _TooLarge:      # a batch above 1e15: certainly more than the budget
            return math.inf, None, None
        return float(B.sum()), B, m

    if N == T:  # every batch is one example whatever the parameter: the limit of no spending
        B = np.ones(T)
        return BudgetRule(parameter=math.inf if rule == "notes" else 0.0, batch_sizes=B,
                          m=schedule_trajectory(B, m0, k), leftover=0.0)
    lo, hi = -50.0, 50.0
    while spend(lo)[0] > N:
        lo -= 50.0
        if lo < -700:
            raise ValueError(f"rule_for_budget: the {rule!r} rule spends more than examples={N} for every "
                             f"parameter")
    while spend(hi)[0] <= N:
        hi += 50.0
        if hi > 700:
            raise ValueError(f"rule_for_budget: the {rule!r} rule cannot spend examples={N} in {T} steps")
    for _ in range(200):  # spend(lo) <= N < spend(hi)
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if spend(mid)[0] <= N:
            lo = mid
        else:
            hi = mid
    total, B, _ = spend(lo)
    leftover = N - total
    if not integer:  # continuous in the parameter: close the last gap exactly by root finding
        if leftover > 1e-9 * N:
            u = brentq(lambda u: spend(u)[0] - N, lo, hi, xtol=1e-14)
            total, B, _ = spend(u)
            lo = u
        leftover = N - total
    B = B.copy()
    B[int(np.argmax(B))] += leftover
    return BudgetRule(parameter=math.exp(sign * lo), batch_sizes=B, m=schedule_trajectory(B, m0, k),
                      leftover=float(leftover))
