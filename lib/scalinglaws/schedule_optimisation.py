r"""The exact final loss of the Zipf feature model as a function of the whole schedule, its adjoint
gradient, the optimal schedule with a certificate, and a lower bound that no schedule can beat.

Model (:mod:`scalinglaws.zipf`): feature ``k`` is drawn with probability ``p_k``; with the rate
``eta_t`` of step ``t`` its second moment ``m_k(t) = E[(w_k(t) - 3)^2]`` obeys

.. math::  m_k(t+1) = a_k(\eta_t)\, m_k(t) + p_k \eta_t^2,\qquad
           a_k(\eta) = 1 - p_k s(\eta),\quad s(\eta) = \eta(2 - 3\eta),

``m_k(0) = 9``, and the loss after ``T`` steps is ``L = 1/2 + (1/2)[sum_k p_k m_k(T) + 9 tau_K]``.

Adjoint.  ``L`` depends on ``eta_t`` only through ``m_k(t+1)``, and ``m_k(T)`` is affine in
``m_k(t+1)`` with slope ``lambda_k(t+1) = prod_{u=t+1}^{T-1} a_k(eta_u)``, so

.. math::  \frac{\partial L}{\partial \eta_t} = \frac12 \sum_k p_k\, \lambda_k(t+1)\,
           p_k\bigl((6\eta_t - 2)\, m_k(t) + 2\eta_t\bigr),

computed backwards with ``lambda_k(t) = a_k(eta_t) lambda_k(t+1)``, ``lambda_k(T) = 1``.  The states
``m_k(t)`` are not all stored: the forward pass keeps a checkpoint every ``segment`` steps and the
backward pass recomputes one segment at a time (memory O(K (T/segment + segment)), about three
forward passes of work).  The feature sum uses the nodes and weights of
:func:`scalinglaws.zipf.feature_table` (the first 2048 features exactly, Euler--Maclaurin
pseudo-features beyond), or, with ``exact_features=True``, every visible feature.

Optimal schedule.  ``L`` is a convex quadratic in each single rate ``eta_t`` (the others fixed), with
curvature ``sum_k p_k lambda_k(t+1) p_k (3 m_k(t) + 1) > 0`` and minimiser

.. math::  \eta_t^\star = \frac{\sum_k c_k\, m_k(t)}{\sum_k c_k\, (3 m_k(t) + 1)},
           \qquad c_k = p_k^2 \lambda_k(t+1),

a weighted mean of the per-feature best rates ``m_k/(3 m_k + 1) < 1/3``.  :func:`minimise_final_loss`
does cyclic coordinate descent with these exact minimisers (one backward sweep costs one gradient),
then projected gradient steps if a non-increasing constraint binds, and reports the Frank--Wolfe gap
``max_{y feasible} grad L(x) . (x - y)`` as its certificate.  ``L`` is not convex in the schedule
(the tests exhibit a direction of negative curvature), so the gap certifies first-order optimality
(no feasible direction lowers the loss to first order by more than the gap), not global optimality;
:func:`final_loss_lower_bound` gives a global bound.

Lower bound.  With every other rate free, feature ``k`` alone would choose ``eta_t = m/(3m+1)`` at each
step (the minimiser of the one-step map, optimal at every step because the map is increasing in
``m``), which gives ``m <- m - p_k m^2/(3m + 1)``.  Iterated from 9 for ``T`` steps this bounds
``m_k(T)`` from below for *every* schedule of real rates, hence the loss of every schedule.

References: the Zipf model of Part I; the adjoint method for discrete recursions (Bryson and Ho,
Applied Optimal Control, 1975, ch. 2); coordinate descent (Bertsekas, Nonlinear Programming, 1999,
sec. 2.7); the Frank--Wolfe gap (Jaggi, ICML 2013).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg.blas import daxpy
from scipy.optimize import isotonic_regression
from scipy.special import zeta as hurwitz_zeta

from . import _validation as check
from . import zipf

__all__ = [
    "OptimalSchedule",
    "constant_area_loss",
    "continuous_loss_curve",
    "drop_kernel",
    "feature_table",
    "final_loss",
    "final_loss_and_gradient",
    "final_loss_lower_bound",
    "frank_wolfe_gap",
    "loss_curve",
    "lower_bound_asymptote",
    "minimise_final_loss",
    "optimal_schedule",
    "per_feature_lower_bound",
    "project_monotone",
]

MAX_RATE = 1.0 / 3.0
INITIAL_SECOND_MOMENT = 9.0
_HEAD = 2048           # features listed exactly by zipf's table
_SWEEPS_PER_CHECK = 5  # coordinate-descent sweeps between two certificates (a gradient each)
_A_HEAD_ONLY = 8.0     # above this Zipf exponent the features beyond 2048 are negligible (see _exact_head)
_OPS_PER_NODE_STEP = 3  # elementary updates of one step of the recursion, per node (multiply, two axpy)


# ----------------------------------------------------------------------------- argument checks
def _check_model(N, a, b, exact_features):
    N = check.integer("N", N, low=1, high=10**18,
                      domain="an integer in [1, 10^18] (the number of parameters; features are counted exactly up to there)")
    a = check.real("a", a, low=0, low_open=True, domain="a real number > 0 (the Zipf exponent is a+1)")
    b = check.real("b", b, low=1, domain="a real number >= 1 (feature k sits at coordinate floor(k**b))")
    exact_features = check.flag("exact_features", exact_features)
    return N, a, b, exact_features


def _feature_count(N: int, b: float) -> int:
    """``zipf.feature_count``, with the case of one visible feature decided without powers of size b."""
    if b * math.log(2.0) > math.log(N + 1.0) + 1e-9:   # 2^b >= N + 1: only feature 1 is visible
        return 1
    return int(zipf.feature_count(N, b))


def _exact_head(N: int, a: float, b: float, exact_features: bool) -> bool:
    """Whether the sum uses listed features only (all of them, or the first 2048 when the rest is negligible).

    Beyond feature 2048 the Zipf mass is below ``2048^-a / (a zeta(a+1))``, under 1e-26 for a > 8: far
    below the rounding of a loss >= 1/2, so those features are dropped (zipf's quadrature would need
    ``a + 1`` panels per unit of log k for them).
    """
    return exact_features or a > _A_HEAD_ONLY or _feature_count(N, b) <= _HEAD


def _node_estimate(N: int, a: float, b: float, exact_features: bool) -> float:
    """Number of nodes of the feature sum, estimated without building it (for the work caps)."""
    K = _feature_count(N, b)
    if _exact_head(N, a, b, exact_features):
        return float(K if exact_features else min(K, _HEAD))
    # zipf's table: 2048 exact features, then 16 Gauss-Legendre nodes per panel of width
    # 1/max(2, a+1) in log k, plus 6 correction nodes
    return _HEAD + 16 * math.ceil(math.log(K / _HEAD) * max(2.0, a + 1.0)) + 6


def _check_size(what: str, N, a, b, exact_features, steps: float, arrays: int = 4) -> None:
    nodes = _node_estimate(N, a, b, exact_features)
    check.check_work(what, operations=_OPS_PER_NODE_STEP * nodes * steps, memory_bytes=8 * nodes * arrays,
                     sizes=f"{nodes:.3g} feature nodes x {steps:.3g} steps")


def _check_etas(etas, name: str = "etas") -> np.ndarray:
    return check.real_array(name, etas, low=0, high=MAX_RATE, low_open=True, ndim=1, min_size=1,
                            domain="rates in (0, 1/3]")


def _tail_mass(K: int, a: float) -> float:
    """``zipf.tail_mass``; 0 where every term underflows (large a), which is then the nearest double."""
    with np.errstate(under="ignore", invalid="ignore"):
        tau = float(zipf.tail_mass(K, a))
    if not math.isfinite(tau) and (a + 1.0) * math.log(K + 1.0) > 800.0 + math.log1p((K + 1.0) / a):
        return 0.0    # sum_{k>K} k^-(a+1) <= (K+1)^-(a+1) (1 + (K+1)/a) < 1e-347
    return tau


def _table(N: int, a: float, b: float, exact_features: bool):
    K = _feature_count(N, b)
    with np.errstate(under="ignore", invalid="ignore", divide="ignore", over="ignore"):
        if _exact_head(N, a, b, exact_features):  # k^-(a+1) underflows to 0 for large a: exact enough
            p = zipf.feature_probabilities(K if exact_features else min(K, _HEAD), a)
            w = p.copy()
        else:
            p, w, _ = zipf.feature_table(N, a, b)  # the table zipf's own sums use
            p, w = np.asarray(p), np.asarray(w)
    tau = _tail_mass(K, a)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(w)) and math.isfinite(tau)):
        raise ValueError(f"a = {a!r} is outside what scalinglaws.zipf evaluates: its feature probabilities "
                         f"are not finite (zeta(a+1) in double precision)")
    return p, w, tau


def _finite(what: str, value):
    # every output is bounded (losses in [1/2, 5], the gradient by the rates and probabilities): a
    # non-finite one is a bug, reported rather than returned
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{what} came out non-finite for these arguments: a bug, please report them")
    return value


def feature_table(N, a, b, exact_features: bool = False):
    """Nodes ``p_i``, weights ``w_i`` and the invisible mass ``tau_K`` with L = 1/2 + (sum w m + 9 tau)/2.

    ``exact_features=True`` lists every visible feature (``w_k = p_k``; K = feature_count(N, b) of
    them, refused above the memory cap); otherwise the compressed table that
    :func:`scalinglaws.zipf.expected_loss_curve` itself uses.

    Domain: N integer >= 1, a > 0, b >= 1.
    """
    N, a, b, exact_features = _check_model(N, a, b, exact_features)
    _check_size("schedule_optimisation.feature_table", N, a, b, exact_features, steps=1, arrays=3)
    return _table(N, a, b, exact_features)


def _prepare(what, etas, N, a, b, exact_features, passes: float = 1.0):
    e = _check_etas(etas)
    N, a, b, exact_features = _check_model(N, a, b, exact_features)
    _check_size(what, N, a, b, exact_features, steps=passes * e.size)
    p, w, tau = _table(N, a, b, exact_features)
    return e, p, w, tau


# ----------------------------------------------------------------------------- forward pass
def _run(e, p, m, record_w=None):
    """Advance ``m`` in place over the rates ``e``; return ``w @ m`` after each step if asked."""
    pm = np.empty_like(m)
    s_all = (e * (2.0 - 3.0 * e)).tolist()
    e2 = (e * e).tolist()
    out = np.empty(e.size) if record_w is not None else None
    for t in range(e.size):
        np.multiply(p, m, out=pm)            # m <- m - s_t p m + eta_t^2 p  (BLAS axpy, in place)
        daxpy(pm, m, a=-s_all[t])
        daxpy(p, m, a=e2[t])
        if out is not None:
            out[t] = record_w @ m
    return out


def loss_curve(etas, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""The exact loss after each step, ``L(t) = 1/2 + (1/2)[sum_i w_i m_i(t) + 9 tau_K]``, t = 1..T.

    The recursion of the module docstring over :func:`feature_table`'s nodes (the same sum as
    :func:`scalinglaws.zipf.expected_loss_curve`) or, with ``exact_features``, every visible feature.

    Parameters
    ----------
    etas : 1-D array of rates in (0, 1/3] (``etas[t]`` is the rate of step t+1).
    N : int >= 1;  a : float > 0;  b : float >= 1;  exact_features : bool.

    Returns
    -------
    array of shape (T,).
    """
    e, p, w, tau = _prepare("schedule_optimisation.loss_curve", etas, N, a, b, exact_features)
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    out = _run(e, p, m, record_w=w)
    return _finite("the loss curve", 0.5 + 0.5 * (out + INITIAL_SECOND_MOMENT * tau))


def final_loss(etas, N, a, b, exact_features: bool = False) -> float:
    """The exact loss after ``len(etas)`` steps (:func:`loss_curve`'s last entry, without the curve)."""
    e, p, w, tau = _prepare("schedule_optimisation.final_loss", etas, N, a, b, exact_features)
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    _run(e, p, m)
    return float(_finite("the final loss", 0.5 + 0.5 * (w @ m + INITIAL_SECOND_MOMENT * tau)))


# ----------------------------------------------------------------------------- adjoint pass
def _segment_length(T: int, segment) -> int:
    if segment is None:
        return max(1, math.ceil(math.sqrt(T)))
    return min(check.integer("segment", segment, low=1), T)


def _adjoint(e, p, w, L, sweep=None):
    """Forward pass with checkpoints every ``L`` steps, then a backward pass.

    ``sweep=None``: return ``(sum_i w_i m_i(T), gradient of that sum / 2)``.  Otherwise ``sweep =
    (first, lo, hi, omega)``: from the last step back to ``first``, move each rate to
    ``eta + omega (eta* - eta)`` clipped to ``[lo, hi]``, ``eta*`` the exact minimiser of the loss along
    that coordinate (``e`` is modified in place); return ``(sum_i w_i m_i(T) before the sweep, None)``.
    """
    T = e.size
    s_all = (e * (2.0 - 3.0 * e)).tolist()
    e2 = (e * e).tolist()
    pm = np.empty(p.size)
    store = np.ones((L + 1, 2, p.size))      # store[j] = (m(t0 + j), 1): one gemv gives both sums
    starts = list(range(0, T, L))
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    checkpoints = []
    for t0 in starts:
        checkpoints.append(m.copy())
        for t in range(t0, min(t0 + L, T)):
            np.multiply(p, m, out=pm)
            daxpy(pm, m, a=-s_all[t])
            daxpy(p, m, a=e2[t])
    total = float(w @ m)
    grad = np.empty(T) if sweep is None else None
    mu = w * p                               # mu_i = w_i p_i lambda_i(t+1), lambda(T) = 1
    for i, t0 in reversed(list(enumerate(starts))):
        t1 = min(t0 + L, T)
        store[0, 0] = checkpoints[i]
        for j in range(t1 - t0):             # recompute the segment's states
            x = store[j, 0]
            y = store[j + 1, 0]
            y[:] = x
            np.multiply(p, x, out=pm)
            daxpy(pm, y, a=-s_all[t0 + j])
            daxpy(p, y, a=e2[t0 + j])
        for t in range(t1 - 1, t0 - 1, -1):
            mu_m, mu_sum = store[t - t0] @ mu
            if sweep is None:
                grad[t] = 0.5 * (2.0 * e[t] * mu_sum - (2.0 - 6.0 * e[t]) * mu_m)
                s_t = s_all[t]
            elif t >= sweep[0]:
                curvature = 3.0 * mu_m + mu_sum
                if not curvature > 0:        # cannot happen with the tables' weights; be safe
                    raise check.not_representable("the coordinate minimiser", "non-positive curvature")
                new = e[t] + sweep[3] * (mu_m / curvature - e[t])
                new = min(max(new, sweep[1]), sweep[2])
                e[t] = new
                s_t = new * (2.0 - 3.0 * new)
            else:
                s_t = s_all[t]
            np.multiply(mu, p, out=pm)
            daxpy(pm, mu, a=-s_t)            # mu <- mu (1 - p s_t)
    return total, grad


def final_loss_and_gradient(etas, N, a, b, exact_features: bool = False, segment: int | None = None):
    r"""The exact final loss ``L(T)`` and ``dL/deta_t`` for every step (adjoint; module docstring).

    Parameters
    ----------
    etas : 1-D array of rates in (0, 1/3];  N : int >= 1;  a > 0;  b >= 1;
    exact_features : bool (see :func:`feature_table`);
    segment : int >= 1, checkpoint spacing (default ``ceil(sqrt(T))``); ``segment >= T`` keeps every
        state from the forward pass (no recomputation, O(K T) memory).

    Returns
    -------
    (loss, grad) with ``grad.shape == etas.shape``.  Cost: about three forward passes.
    """
    e, p, w, tau = _prepare("schedule_optimisation.final_loss_and_gradient", etas, N, a, b,
                            exact_features, passes=3.0)
    L = _segment_length(e.size, segment)
    check.check_work("schedule_optimisation.final_loss_and_gradient", memory_bytes=16.0 * p.size * (L + 1)
                     + 8.0 * p.size * math.ceil(e.size / L), sizes=f"segment = {L}")
    total, grad = _adjoint(e, p, w, L)
    loss = 0.5 + 0.5 * (total + INITIAL_SECOND_MOMENT * tau)
    return float(_finite("the final loss", loss)), _finite("the gradient", grad)


# ----------------------------------------------------------------------------- certificates
def _constraint_args(etas, eta_min, eta_max, head, monotone, name="etas"):
    e = check.real_array(name, etas, ndim=1, min_size=1)
    eta_max = check.real("eta_max", eta_max)
    eta_min = check.real("eta_min", eta_min, high=eta_max, domain=f"a real number <= eta_max = {eta_max:.6g}")
    head = check.integer("head", head, low=0, high=e.size, domain=f"an integer in [0, len({name})] = [0, {e.size}]")
    monotone = check.flag("monotone", monotone)
    return e, eta_min, eta_max, head, monotone


def frank_wolfe_gap(etas, grad, eta_min, eta_max, monotone: bool = True, head: int = 0) -> float:
    r"""The Frank--Wolfe gap ``max_{y in C} grad . (x - y)`` of a feasible schedule ``x = etas``.

    ``C``: schedules whose first ``head`` rates equal those of ``x`` and whose other rates lie in
    ``[eta_min, eta_max]`` and, if ``monotone``, are non-increasing.  The maximising ``y`` is a vertex
    of ``C``: for the box, ``eta_max`` where ``grad < 0`` and ``eta_min`` elsewhere; for the monotone
    set, ``eta_max`` on steps ``head..j-1`` and ``eta_min`` after, with ``j`` minimising the prefix sums
    of ``grad``.

    The gap is >= 0 for feasible ``x`` and is 0 exactly at first-order stationary points (KKT points).
    For a convex loss it bounds ``L(x) - min_C L``; for a non-convex one it bounds the first-order
    decrease along any feasible direction.

    Parameters
    ----------
    etas, grad : 1-D arrays of the same length (``etas`` in ``C``, checked to 1e-12);
    eta_min <= eta_max : reals;  monotone : bool;  head : int in [0, len(etas)].
    """
    x, eta_min, eta_max, head, monotone = _constraint_args(etas, eta_min, eta_max, head, monotone)
    g = check.real_array("grad", grad, shape=(x.size,))
    free_x, free_g = x[head:], g[head:]
    slack = 1e-12 * max(1.0, abs(eta_max), abs(eta_min))
    if free_x.size and (free_x.min() < eta_min - slack or free_x.max() > eta_max + slack):
        raise ValueError(f"etas must lie in [eta_min, eta_max] = [{eta_min:.6g}, {eta_max:.6g}] after the "
                         f"first {head} steps, got min {free_x.min():.6g}, max {free_x.max():.6g}")
    if monotone and free_x.size > 1 and np.max(np.diff(free_x)) > slack:
        raise ValueError(f"etas must be non-increasing after the first {head} steps, got an increase of "
                         f"{np.max(np.diff(free_x)):.3g}")
    if free_x.size == 0:
        return 0.0
    if monotone:
        prefix = np.concatenate([[0.0], np.cumsum(free_g)])
        j = int(np.argmin(prefix))
        y = np.full(free_x.size, eta_min)
        y[:j] = eta_max
    else:
        y = np.where(free_g < 0, eta_max, eta_min)
    return max(0.0, float(free_g @ (free_x - y)))


def project_monotone(v, eta_max, eta_min=1e-6, head: int = 0):
    r"""Euclidean projection onto ``{eta non-increasing after `head` steps, eta_min <= eta <= eta_max}``.

    Isotonic (non-increasing) regression of ``v[head:]`` followed by clipping, which is the exact
    projection onto the intersection of the monotone cone and a box with common bounds; the first
    ``head`` entries are only clipped.

    Parameters
    ----------
    v : 1-D array of reals;  eta_max : real;  eta_min : real <= eta_max;  head : int in [0, len(v)].
    """
    v, eta_min, eta_max, head, _ = _constraint_args(v, eta_min, eta_max, head, True, name="v")
    v = v.copy()
    check.check_work("schedule_optimisation.project_monotone", memory_bytes=48.0 * v.size,
                     sizes=f"len(v) = {v.size}")
    tail = v[head:]
    if tail.size:
        v[head:] = isotonic_regression(tail, increasing=False).x
    return np.clip(v, eta_min, eta_max)


# ----------------------------------------------------------------------------- the optimiser
@dataclass
class OptimalSchedule:
    """Result of :func:`minimise_final_loss`.

    Attributes
    ----------
    etas : the schedule (length T).
    loss : its exact final loss.
    gap : its Frank--Wolfe gap over the constraint set (:func:`frank_wolfe_gap`): the certificate.
    excess : ``loss - (1/2 + 9 tau_K / 2)``, the loss above that of a perfectly learned model.
    relative_gap : ``gap / excess``; 0 when both are 0 (no feature can be learned in double precision,
        e.g. a = 1e-300: the gradient vanishes and every schedule is optimal), inf if only the excess is.
    converged : whether ``relative_gap <= gap_tol``.
    sweeps : coordinate-descent sweeps done;  projected_steps : projected-gradient steps after them.
    monotone_binds : with ``monotone=True``, whether the coordinate-descent result (the optimum over
        the box) was not non-increasing, so that projected steps enforced the constraint; ``None``
        with ``monotone=False``.
    history : the loss before each sweep and after each projected step.
    """

    etas: np.ndarray = field(repr=False)
    loss: float
    gap: float
    excess: float
    relative_gap: float
    converged: bool
    sweeps: int
    projected_steps: int
    monotone_binds: bool | None
    history: np.ndarray = field(repr=False)


def minimise_final_loss(N, a, b, T, *, eta_max=MAX_RATE, eta_min=1e-6, warmup: int = 0, x0=None,
                        monotone: bool = True, exact_features: bool = False, gap_tol: float = 1e-10,
                        relaxation: float = 1.3, max_sweeps: int = 100,
                        max_projected_steps: int = 100, method: str = "coordinate") -> OptimalSchedule:
    r"""The schedule of ``T`` steps with the lowest exact final loss, with its Frank--Wolfe certificate.

    Constraint set ``C``: the first ``warmup`` rates are fixed (those of ``x0``, by default the linear
    warmup ``eta_max (s+1)/W``); the others lie in ``[eta_min, eta_max]`` and, if ``monotone``, are
    non-increasing.

    Method.  Over-relaxed cyclic coordinate descent: a backward sweep moves every free rate, from the
    last to the first, to ``eta + relaxation (eta* - eta)`` clipped to ``[eta_min, eta_max]``, with
    ``eta*`` the exact minimiser of the loss along that coordinate (module docstring).  The loss is a
    convex quadratic along each coordinate, so every such move with ``0 < relaxation < 2`` lowers it;
    a sweep costs about one gradient.  Every 5 sweeps the gradient gives the Frank--Wolfe gap over the
    box, and the sweeps stop when ``gap <= gap_tol * excess``.  If ``monotone`` and the result is not
    non-increasing, spectral projected gradient steps follow (:func:`project_monotone`,
    Barzilai--Borwein step, non-monotone Armijo search; Birgin, Martinez and Raydan 2000) until the gap
    over ``C`` meets the same tolerance.  A non-increasing optimum over the box is also optimal over
    ``C``: its gap over ``C`` is at most its gap over the box, which contains ``C``.

    ``method="projected-gradient"`` skips the sweeps and runs the projected gradient steps alone (onto
    the box, or the monotone set if ``monotone``): slower, kept as an independent method to compare.

    The gap certifies first-order optimality; the loss is not convex in the schedule in general, so
    it does not by itself bound ``loss - min_C L`` (see :func:`final_loss_lower_bound` for that).

    Parameters
    ----------
    N : int >= 1;  a : real > 0;  b : real >= 1;  T : int >= 1 (steps);
    eta_max : real in (0, 1/3];  eta_min : real in (0, eta_max);
    warmup : int in [0, T-1];  x0 : optional start, 1-D array of T rates in (0, 1/3];
    monotone, exact_features : bool;  gap_tol : real in (0, 1), relative to the excess loss;
    relaxation : real in (0, 2);  max_sweeps, max_projected_steps : ints >= 0;
    method : "coordinate" (default) or "projected-gradient".

    Returns
    -------
    :class:`OptimalSchedule`.
    """
    N, a, b, exact_features = _check_model(N, a, b, exact_features)
    T = check.integer("T", T, low=1)
    eta_max = check.real("eta_max", eta_max, low=0, high=MAX_RATE, low_open=True)
    eta_min = check.real("eta_min", eta_min, low=0, high=eta_max, low_open=True, high_open=True,
                         domain=f"a real number in (0, eta_max) = (0, {eta_max:.6g})")
    warmup = check.integer("warmup", warmup, low=0, high=T - 1, domain=f"an integer in [0, T-1] = [0, {T - 1}]")
    monotone = check.flag("monotone", monotone)
    gap_tol = check.real("gap_tol", gap_tol, low=0, high=1, low_open=True, high_open=True)
    relaxation = check.real("relaxation", relaxation, low=0, high=2, low_open=True, high_open=True)
    max_sweeps = check.integer("max_sweeps", max_sweeps, low=0)
    max_projected_steps = check.integer("max_projected_steps", max_projected_steps, low=0)
    method = check.choice("method", method, ("coordinate", "projected-gradient"))
    if method == "projected-gradient":
        max_sweeps = 0
    # a sweep or a gradient is about three passes: a sweep, and a gradient every 5 sweeps; about
    # two loss-and-gradient evaluations per projected step; about ten arrays of length T
    _check_size("schedule_optimisation.minimise_final_loss", N, a, b, exact_features,
                steps=3.0 * T * (1.2 * max_sweeps + 2 * max_projected_steps + 2))
    check.check_work("schedule_optimisation.minimise_final_loss", memory_bytes=80.0 * T, sizes=f"T = {T}")
    if x0 is None:
        x = np.concatenate([eta_max * (np.arange(1, warmup + 1) / max(warmup, 1)),
                            np.full(T - warmup, min(eta_max, 0.3))])
    else:
        x = _check_etas(x0, "x0").copy()
        if x.size != T:
            raise ValueError(f"x0 must have length T = {T}, got {x.size}")
    p, w, tau = _table(N, a, b, exact_features)
    L = _segment_length(T, None)
    floor = 0.5 + 0.5 * INITIAL_SECOND_MOMENT * tau
    x[warmup:] = np.clip(x[warmup:], eta_min, eta_max)

    def loss_grad(v):
        total, g = _adjoint(v, p, w, L)
        g[:warmup] = 0.0
        return 0.5 + 0.5 * (total + INITIAL_SECOND_MOMENT * tau), g

    history = []
    sweeps = 0
    f, g = loss_grad(x)
    while sweeps < max_sweeps:
        if frank_wolfe_gap(x, g, eta_min, eta_max, monotone=False, head=warmup) <= gap_tol * (f - floor):
            break
        for _ in range(min(_SWEEPS_PER_CHECK, max_sweeps - sweeps)):
            total, _ = _adjoint(x, p, w, L, sweep=(warmup, eta_min, eta_max, relaxation))
            history.append(0.5 + 0.5 * (total + INITIAL_SECOND_MOMENT * tau))
            sweeps += 1
        f, g = loss_grad(x)
    history.append(f)
    monotone_binds = None
    steps = 0
    if monotone:
        tail = x[warmup:]
        monotone_binds = bool(tail.size > 1 and np.max(np.diff(tail)) > 0)
    if method == "projected-gradient" or monotone_binds:
        x, f, g, steps = _projected_gradient(x, loss_grad, eta_min, eta_max, warmup, monotone,
                                             gap_tol, floor, max_projected_steps, history)
    gap = frank_wolfe_gap(x, g, eta_min, eta_max, monotone=monotone, head=warmup)
    excess = f - floor
    return OptimalSchedule(etas=x, loss=float(f), gap=gap, excess=float(excess),
                           relative_gap=gap / excess if excess > 0 else (0.0 if gap <= 0 else math.inf),
                           converged=bool(gap <= gap_tol * excess), sweeps=sweeps, projected_steps=steps,
                           monotone_binds=monotone_binds, history=np.array(history))


def _projected_gradient(x, loss_grad, lo, hi, head, monotone, gap_tol, floor, max_steps, history):
    """Spectral projected gradient on the box or the monotone set, from the projection of ``x``."""
    def proj(v):
        out = v.copy()
        tail = isotonic_regression(v[head:], increasing=False).x if monotone else v[head:]
        out[head:] = np.clip(tail, lo, hi)
        return out

    x = proj(x)
    f, g = loss_grad(x)
    recent = [f]
    step = 1e-3 / max(float(np.abs(g).max()), 1e-300)
    steps = 0
    while steps < max_steps:
        if frank_wolfe_gap(x, g, lo, hi, monotone=monotone, head=head) <= gap_tol * (f - floor):
            break
        d = proj(x - step * g) - x
        slope = float(g @ d)
        if not slope < 0:
            break
        h, ref = 1.0, max(recent[-10:])
        while True:
            y = x + h * d
            fy, gy = loss_grad(y)
            if fy <= ref + 1e-4 * h * slope or h < 1e-12:
                break
            h *= 0.5
        s_vec, y_vec = y - x, gy - g
        x, f, g = y, fy, gy
        recent.append(f)
        history.append(f)
        steps += 1
        sy = float(s_vec @ y_vec)
        step = min(max(float(s_vec @ s_vec) / sy, 1e-12), 1e12) if sy > 0 else 2.0 * step
    return x, f, g, steps


def optimal_schedule(N, a, b, T, eta_max=MAX_RATE, x0=None, iters: int = 200, eta_min: float = 1e-6,
                     monotone: bool = True, warmup: int = 0, exact_features: bool = False,
                     tol: float = 1e-10):
    r"""Backward-compatible form of :func:`minimise_final_loss`: returns ``(etas, loss, history)``.

    ``iters`` caps the coordinate-descent sweeps and the projected steps; ``tol`` is the relative
    Frank--Wolfe gap at which it stops (``gap_tol``).  :func:`minimise_final_loss` also returns the
    certificate.
    """
    iters = check.integer("iters", iters, low=0)
    tol = check.real("tol", tol, low=0, high=1, low_open=True, high_open=True)
    res = minimise_final_loss(N, a, b, T, eta_max=eta_max, eta_min=eta_min, warmup=warmup, x0=x0,
                              monotone=monotone, exact_features=exact_features, gap_tol=tol,
                              max_sweeps=iters, max_projected_steps=iters)
    return res.etas, res.loss, res.history


# ----------------------------------------------------------------------------- lower bound
def _best_map(m, p):
    """One step of the per-feature best rate: ``m - p m^2 / (3m + 1)``."""
    return m - p * m * m / (3.0 * m + 1.0)


def _v_plus_log_v_inverse(z):
    """Solve ``v + log v = z`` for v > 0 (v = W(e^z), Lambert's W), vectorised, by Newton in log v."""
    z = np.asarray(z, dtype=float)
    u = np.where(z > 1.0, np.log(np.maximum(z, 1.0)), z - 1.0)   # u = log v; f(u) = e^u + u - z
    for _ in range(100):
        eu = np.exp(u)
        du = (eu + u - z) / (eu + 1.0)
        u = u - du
        if np.all(np.abs(du) <= 1e-15 * np.maximum(1.0, np.abs(u))):
            break
    return np.exp(u)


def _closed_form_lower(p, T):
    r"""A lower bound on the T-th iterate of :func:`_best_map` from 9, closed form (valid for p <= 1).

    ``F(m) = 1/m - 3 log m`` rises by at most ``p / (1 - p/3)^2`` per step, so
    ``m_T >= F^{-1}(F(9) + T p / (1 - p/3)^2)``, and ``F(m) = y`` means ``m = 1/(3v)`` with
    ``v + log v = y/3 - log 3``.
    """
    y = 1.0 / 9.0 - 3.0 * math.log(9.0) + T * p / (1.0 - p / 3.0) ** 2
    return 1.0 / (3.0 * _v_plus_log_v_inverse(y / 3.0 - math.log(3.0)))


def per_feature_lower_bound(p, T, *, closed_form_below: float = 1e-3) -> np.ndarray:
    r"""The smallest second moment ``m(T)`` a feature of probability ``p`` can reach in ``T`` steps.

    Whatever the rates, ``m(t+1) = (1 - p s(eta)) m + p eta^2 >= m - p m^2/(3m + 1)`` (the right side is
    the minimum over all real eta, at ``eta = m/(3m+1)``), and the map ``m -> m - p m^2/(3m+1)`` is
    increasing for ``0 <= p <= 1``, so iterating it from ``m(0) = 9`` bounds ``m(T)`` from below for every
    schedule.  For ``p <= closed_form_below`` the iteration is replaced by the closed-form lower bound
    ``F^{-1}(F(9) + T p/(1 - p/3)^2)``, ``F(m) = 1/m - 3 log m`` (looser by a relative ``O(p)``).

    Parameters
    ----------
    p : array of feature probabilities in (0, 1];  T : int >= 0;
    closed_form_below : real in [0, 1].

    Returns
    -------
    array shaped like ``p``.
    """
    p = check.real_array("p", p, low=0, high=1, low_open=True)
    T = check.integer("T", T, low=0)
    closed_form_below = check.real("closed_form_below", closed_form_below, low=0, high=1)
    flat = p.ravel()
    out = np.empty(flat.shape)
    small = flat <= closed_form_below
    out[small] = _closed_form_lower(flat[small], T)
    big = np.flatnonzero(~small)
    check.check_work("schedule_optimisation.per_feature_lower_bound", operations=4.0 * T * max(big.size, 100),
                     sizes=f"T = {T}, {big.size} probabilities above closed_form_below")
    m = np.full(big.size, INITIAL_SECOND_MOMENT)
    pb = flat[big]
    for _ in range(T):
        m = _best_map(m, pb)
    out[big] = m
    return out.reshape(p.shape)


def final_loss_lower_bound(T, N, a, b, *, block_ratio: float = 1.001) -> float:
    r"""A lower bound on the exact final loss of *every* schedule of T steps (any real rates).

    ``L >= 1/2 + (1/2)[sum_{k<=K} p_k mlow_k + 9 tau_K]`` with ``mlow_k`` from
    :func:`per_feature_lower_bound` (the bound of each feature with the schedule chosen for it alone).
    Features ``k <= 2048`` are summed exactly.  Beyond, features are grouped in blocks
    ``[k_j, k_{j+1})`` with ``k_{j+1} ~ block_ratio * k_j``; the bound is decreasing in ``p``, so each
    block contributes at least ``mlow(p_{k_j}) sum_block p_k``, the block mass from Hurwitz zeta
    differences.  The result is a true bound on the exact feature sum (up to rounding).

    Parameters
    ----------
    T : int >= 0;  N : int >= 1;  a > 0;  b >= 1;  block_ratio : real in (1, 2].
    """
    T = check.integer("T", T, low=0)
    N, a, b, _ = _check_model(N, a, b, False)
    block_ratio = check.real("block_ratio", block_ratio, low=1, high=2, low_open=True)
    K = _feature_count(N, b)
    H = min(K, _HEAD)
    n_blocks = math.ceil(math.log((K + 1) / (H + 1)) / math.log(block_ratio)) if K > H else 0
    check.check_work("schedule_optimisation.final_loss_lower_bound", memory_bytes=64.0 * (H + n_blocks),
                     sizes=f"{n_blocks} blocks (block_ratio = {block_ratio})")
    Z = float(hurwitz_zeta(a + 1.0))
    if not math.isfinite(Z):
        raise ValueError(f"a = {a!r} is too small: zeta(a+1) is not finite in double precision")
    k = np.arange(1, H + 1, dtype=float)
    with np.errstate(under="ignore"):
        p_head = k ** (-(a + 1.0)) / Z
    nodes, masses = [p_head], [p_head]
    if K > H:
        edges = np.unique(np.round(np.geomspace(H + 1, K + 1, n_blocks + 1)))
        edges[0], edges[-1] = H + 1, K + 1
        with np.errstate(under="ignore"):
            upper = hurwitz_zeta(a + 1.0, edges) / Z     # mass of features >= edge
            nodes.append(edges[:-1] ** (-(a + 1.0)) / Z)
        masses.append(np.maximum(upper[:-1] - upper[1:], 0.0))
    pn, mass = np.concatenate(nodes), np.concatenate(masses)
    keep = pn > 0                                    # features whose probability underflows carry nothing
    m_low = per_feature_lower_bound(pn[keep], T)
    mass = mass[keep]
    tau = _tail_mass(K, a)
    return float(_finite("the lower bound", 0.5 + 0.5 * (mass @ m_low + INITIAL_SECOND_MOMENT * tau)))


def lower_bound_asymptote(a, *, dps: int = 30) -> float:
    r"""The constant ``c_a`` of ``final_loss_lower_bound - floor ~ c_a T^{-a/(a+1)}`` as T -> infinity.

    With every feature visible (N -> infinity), replacing the per-feature recursion by its continuous
    limit ``dm/dt = -p m^2/(3m+1)`` (solution ``m = mu(p t)``, ``F(mu(x)) = F(9) + x``,
    ``F(m) = 1/m - 3 log m``) and the sum over k by an integral (substituting ``x = p(k) T``):

    .. math:: c_a = \frac{\zeta(a+1)^{-1/(a+1)}}{2(a+1)} \int_0^\infty x^{-1/(a+1)} \mu(x)\, dx .

    With ``q = 1/(a+1)``, the integral is split at ``x = 1`` and both parts are mapped to smooth
    integrands on finite intervals, so that the quadrature does not meet the singularity
    ``x^{-q}`` at 0 nor the slow tail ``x^{-1-q}`` at infinity (for a = 50 the tail beyond 1e30 still
    holds a sixth of the integral):

    .. math:: \int_0^1 x^{-q}\mu\,dx = \frac{1}{1-q}\int_0^1 \mu\big(v^{1/(1-q)}\big)\,dv,

    .. math:: \int_1^\infty x^{-q}\mu\,dx = \frac1q\int_0^{\mu(1)^q} (1+3m)\,\big(m\,X(m)\big)^{-q}\,du,

    the second with ``m = u^{1/q}`` and ``X(m) = F(m) - F(9)`` (the change of variables ``x = X(m)``,
    ``dx = -(1/m^2 + 3/m) dm``). Computed with mpmath (Lambert's W for mu, tanh-sinh quadrature) to
    ``dps`` digits, then rounded to a double.

    Parameters
    ----------
    a : real in [1e-3, 50] (the range checked against an independent quadrature; ``c_a`` stays finite
        as a -> 0, where the first integral grows like 1/a and ``zeta(a+1)^{-q}`` falls like a);
    dps : int in [15, 100] (the working precision; the result is a double either way).
    """
    import mpmath

    a = check.real("a", a, low=1e-3, high=50)
    dps = check.integer("dps", dps, low=15, high=100)
    with mpmath.workdps(dps):
        A = mpmath.mpf(a)
        q = 1 / (A + 1)
        F9 = mpmath.mpf(1) / 9 - 3 * mpmath.log(9)
        log3 = mpmath.log(3)

        def mu(x):
            return 1 / (3 * mpmath.lambertw(mpmath.exp((F9 + x) / 3 - log3)).real)

        def tail(u):
            m = u ** (1 / q)
            if m == 0:
                return mpmath.mpf(1)
            return (1 + 3 * m) * (1 - 3 * m * mpmath.log(m) - m * F9) ** (-q)   # m X(m) = 1 - 3 m log m - m F(9)

        head = mpmath.quad(lambda v: mu(v ** (1 / (1 - q))), [0, 1]) / (1 - q)
        rest = mpmath.quad(tail, [0, mu(1) ** q]) / q
        value = mpmath.zeta(A + 1) ** (-q) / (2 * (A + 1)) * (head + rest)
        return float(value)


# ----------------------------------------------------------------------------- small-rate (continuous) model
def continuous_loss_curve(etas, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""Loss after each step of the small-rate, continuous-time approximation of the recursion.

    Dropping the ``3 eta^2`` term of ``s(eta)`` and passing to continuous time in the rate area
    ``sigma`` (``d sigma = eta dt``) gives ``dm_k/d sigma = -2 p_k (m_k - eta/2)``; over a step of
    constant rate it is solved exactly, ``m <- e^{-2 p eta} m + (eta/2)(1 - e^{-2 p eta})``, which is
    what is iterated here.  Equivalently (chapter "the Multi-Power Law")

    .. math:: L(t) = L_{\rm const}(S_1(t); \eta_0) - \sum_{k \ge 1} (\eta_{k-1} - \eta_k)\, g(S_k(t)),

    with :func:`constant_area_loss` and :func:`drop_kernel`.

    Parameters as :func:`loss_curve`.
    """
    e, p, w, tau = _prepare("schedule_optimisation.continuous_loss_curve", etas, N, a, b, exact_features,
                            passes=3.0)
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    out = np.empty(e.size)
    for t, eta in enumerate(e.tolist()):
        q = np.exp(-2.0 * p * eta)
        m = q * m + 0.5 * eta * (1.0 - q)
        out[t] = w @ m
    return _finite("the loss curve", 0.5 + 0.5 * (out + INITIAL_SECOND_MOMENT * tau))


def _area_sums(S, p, w, f):
    """``f(outer(S, p)) @ w`` in chunks of S, so that memory stays bounded."""
    out = np.empty(S.size)
    flat = S.ravel()
    chunk = max(1, 2_000_000 // p.size)
    for i in range(0, flat.size, chunk):
        out[i:i + chunk] = f(np.multiply.outer(flat[i:i + chunk], p)) @ w
    return out.reshape(S.shape)


def _check_area(what, S, N, a, b, exact_features):
    S = check.real_array("S", S, low=0, domain="rate areas >= 0")
    N, a, b, exact_features = _check_model(N, a, b, exact_features)
    _check_size(what, N, a, b, exact_features, steps=3.0 * max(S.size, 1))
    p, w, tau = _table(N, a, b, exact_features)
    return S, p, w, tau


def constant_area_loss(S, eta0, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""``L_const(S; eta0) = 1/2 + (1/2)[sum_k p_k (9 e^{-2 p_k S} + (eta0/2)(1 - e^{-2 p_k S})) + 9 tau_K]``.

    The small-rate loss of a constant rate ``eta0`` after rate area ``S``.

    Parameters
    ----------
    S : array of areas >= 0 (vectorised);  eta0 : real in (0, 1/3];  N, a, b, exact_features as
    :func:`loss_curve`.
    """
    eta0 = check.real("eta0", eta0, low=0, high=MAX_RATE, low_open=True)
    S, p, w, tau = _check_area("schedule_optimisation.constant_area_loss", S, N, a, b, exact_features)
    decay = _area_sums(S, p, w, lambda x: np.exp(-2.0 * x))
    total = INITIAL_SECOND_MOMENT * decay + 0.5 * eta0 * (float(np.sum(w)) - decay)
    return _finite("the loss", 0.5 + 0.5 * (total + INITIAL_SECOND_MOMENT * tau))


def drop_kernel(S, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""``g(S) = (1/4) sum_k p_k (1 - e^{-2 p_k S})``: the loss reduction per unit rate drop after area S.

    Increasing, ``g(0) = 0``, ``g(S) -> (1/4) sum_{k<=K} p_k`` as S -> infinity; for the Zipf law
    ``(1/4) sum p_k - g(S) ~ c S^{-a/(a+1)}`` (chapter "the Multi-Power Law").

    Parameters
    ----------
    S : array of areas >= 0;  N, a, b, exact_features as :func:`loss_curve`.
    """
    S, p, w, _ = _check_area("schedule_optimisation.drop_kernel", S, N, a, b, exact_features)
    return _finite("the kernel", 0.25 * _area_sums(S, p, w, lambda x: -np.expm1(-2.0 * x)))
