r"""The exact final loss of the Zipf feature model as a function of the whole schedule, its adjoint
gradient, and the truly optimal schedule by projected gradient descent.

Model (:mod:`scalinglaws.zipf`): feature ``k`` is drawn with probability ``p_k``; with the rate
``eta_t`` of step ``t`` its second moment ``m_k(t) = E[(w_k(t) - 3)^2]`` obeys

.. math::  m_k(t+1) = a_k(\eta_t)\, m_k(t) + p_k \eta_t^2,\qquad
           a_k(\eta) = 1 - p_k + p_k r(\eta) = 1 - p_k s(\eta),\quad r(\eta) = 1 - 2\eta + 3\eta^2,

``m_k(0) = 9``, and the loss after ``T`` steps is ``L = 1/2 + (1/2)[sum_k p_k m_k(T) + 9 tau_K]``.

Adjoint.  ``L`` depends on ``eta_t`` only through ``m_k(t+1)``, so with the co-state
``lambda_k(t+1) = dm_k(T)/dm_k(t+1) = prod_{u=t+1}^{T-1} a_k(eta_u)``,

.. math::  \frac{\partial L}{\partial \eta_t} = \frac12 \sum_k p_k\, \lambda_k(t+1)\,
           p_k\bigl(r'(\eta_t)\, m_k(t) + 2\eta_t\bigr),\qquad r'(\eta) = -2 + 6\eta,

computed backwards with ``lambda_k(t) = a_k(eta_t) lambda_k(t+1)``, ``lambda_k(T) = 1``.  The states
``m_k(t)`` are not all stored: the forward pass keeps a checkpoint every ``segment`` steps and the
backward pass recomputes one segment at a time (memory O(K (T/segment + segment)), which stays in
cache; about three forward passes of work).  The feature sum uses the same nodes and weights as
:func:`scalinglaws.zipf.expected_loss_curve` (exact features up to 2048 and Euler--Maclaurin
pseudo-features beyond), or, with ``exact_features=True``, every visible feature
(:func:`scalinglaws.zipf.feature_probabilities`, :func:`scalinglaws.zipf.feature_count`).

References: the Zipf model of SPEC.md Part I; the adjoint method for discrete recursions (e.g.
Bryson and Ho, Applied Optimal Control, 1975, ch. 2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg.blas import daxpy
from scipy.optimize import isotonic_regression

from . import zipf
from ._validation import as_float_array, as_int

__all__ = [
    "constant_area_loss",
    "continuous_loss_curve",
    "drop_kernel",
    "feature_table",
    "final_loss",
    "final_loss_and_gradient",
    "loss_curve",
    "optimal_schedule",
    "project_monotone",
]

MAX_RATE = 1.0 / 3.0
INITIAL_SECOND_MOMENT = 9.0


def feature_table(N, a, b, exact_features: bool = False):
    """Nodes ``p_i``, weights ``w_i`` and the invisible mass ``tau_K`` with L = 1/2 + (sum w m + 9 tau)/2.

    ``exact_features=True`` lists every visible feature (``w_k = p_k``); otherwise the compressed
    table that :func:`scalinglaws.zipf.expected_loss_curve` itself uses.
    """
    N = as_int("N", N, minimum=1)
    if exact_features:
        K = int(zipf.feature_count(N, b))
        p = zipf.feature_probabilities(K, a)
        return p, p.copy(), float(zipf.tail_mass(K, a))
    p, w, tau = zipf.feature_table(N, float(a), float(b))  # the table zipf's own sums use
    return np.asarray(p), np.asarray(w), float(tau)


def _check_etas(etas) -> np.ndarray:
    e = as_float_array("etas", etas)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"etas must be a non-empty 1-D array of rates, got shape {e.shape}")
    if np.any(e <= 0) or np.any(e > MAX_RATE):
        raise ValueError(f"etas must lie in (0, 1/3], got min {e.min():.6g}, max {e.max():.6g}")
    return e


def _step(m, pm, p, s, e2):
    np.multiply(m, -s, out=pm)
    pm += e2
    pm *= p
    m += pm


def _forward(etas, N, a, b, exact_features, record: bool):
    """Run the recursion over ``etas``; return ``(w @ m after each step or None, final m, w, tau)``."""
    e = _check_etas(etas)
    p, w, tau = feature_table(N, a, b, exact_features)
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    pm = np.empty_like(m)
    s_all = e * (2.0 - 3.0 * e)
    e2 = e * e
    out = np.empty(e.size) if record else None
    for t in range(e.size):
        _step(m, pm, p, s_all[t], e2[t])
        if record:
            out[t] = w @ m
    return out, m, w, tau


def loss_curve(etas, N, a, b, exact_features: bool = False) -> np.ndarray:
    """The exact loss after each step: the recursion of :func:`scalinglaws.zipf.expected_loss_curve`
    (the same arithmetic), over :func:`feature_table`'s nodes or, with ``exact_features``, every feature."""
    out, _, _, tau = _forward(etas, N, a, b, exact_features, record=True)
    return 0.5 + 0.5 * (out + INITIAL_SECOND_MOMENT * tau)


def final_loss(etas, N, a, b, exact_features: bool = False) -> float:
    """The exact loss after ``len(etas)`` steps."""
    _, m, w, tau = _forward(etas, N, a, b, exact_features, record=False)
    return float(0.5 + 0.5 * (w @ m + INITIAL_SECOND_MOMENT * tau))


def _fill(store, m0, p, pm, s_seg, e2_seg):
    """store[j, 0] = state before step j of the segment (store[0, 0] = m0), by the recursion."""
    store[0, 0] = m0
    for j, (s, e2) in enumerate(zip(s_seg, e2_seg)):
        x = store[j, 0]
        y = store[j + 1, 0]
        y[:] = x
        np.multiply(p, x, out=pm)            # y <- x - s p x + eta^2 p  (BLAS axpy, in place)
        daxpy(pm, y, a=-s)
        daxpy(p, y, a=e2)


def final_loss_and_gradient(etas, N, a, b, exact_features: bool = False, segment: int | None = None):
    r"""The exact final loss ``L(T)`` and ``dL/deta_t`` for every step (adjoint; module docstring).

    Parameters
    ----------
    etas : 1-D array of rates in (0, 1/3];  N : int >= 1;  a > 0;  b >= 1;
    exact_features : bool (see :func:`feature_table`);
    segment : checkpoint spacing (default ``ceil(sqrt(T))``); ``segment >= T`` keeps every state
        from the forward pass (no recomputation, O(K T) memory; slower in practice once the states
        no longer fit in cache).

    Returns
    -------
    (loss, grad) with ``grad.shape == etas.shape``.
    """
    e = _check_etas(etas)
    p, w, tau = feature_table(N, a, b, exact_features)
    T = e.size
    if segment is None:
        L = max(1, math.ceil(math.sqrt(T)))
    else:
        L = min(as_int("segment", segment, 1), T)
    s_all = (e * (2.0 - 3.0 * e)).tolist()
    ds_all = (2.0 - 6.0 * e).tolist()       # s'(eta) = -r'(eta)
    e2 = (e * e).tolist()
    two_e = (2.0 * e).tolist()
    pm = np.empty(p.size)
    store = np.ones((L + 1, 2, p.size))      # store[j] = (m_k(t0 + j), 1): one gemv gives both sums
    starts = list(range(0, T, L))
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    checkpoints = []
    for t0 in starts:
        checkpoints.append(m.copy())
        for t in range(t0, min(t0 + L, T)):
            np.multiply(p, m, out=pm)       # m <- m - s_t p m + eta_t^2 p  (BLAS axpy, in place)
            daxpy(pm, m, a=-s_all[t])
            daxpy(p, m, a=e2[t])
    loss = 0.5 + 0.5 * (w @ m + INITIAL_SECOND_MOMENT * tau)
    grad = np.empty(T)
    mu = w * p                               # w_i p_i lambda_i(t+1), lambda(T) = 1
    for i, t0 in reversed(list(enumerate(starts))):
        t1 = min(t0 + L, T)
        _fill(store, checkpoints[i], p, pm, s_all[t0:t1], e2[t0:t1])
        for t in range(t1 - 1, t0 - 1, -1):
            mu_m, mu_sum = store[t - t0] @ mu
            grad[t] = 0.5 * (two_e[t] * mu_sum - ds_all[t] * mu_m)
            np.multiply(mu, p, out=pm)
            daxpy(pm, mu, a=-s_all[t])       # mu <- mu (1 - p s_t)
    return float(loss), grad


# ----------------------------------------------------------------------------- small-rate (continuous) model
def continuous_loss_curve(etas, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""Loss after each step of the small-rate, continuous-time approximation of the recursion.

    Dropping the ``3 eta^2`` term of ``s(eta)`` and passing to continuous time in the rate area
    ``sigma`` (``d sigma = eta dt``) gives ``dm_k/d sigma = -2 p_k (m_k - eta/2)``; over a step of
    constant rate it is solved exactly, ``m <- e^{-2 p eta} m + (eta/2)(1 - e^{-2 p eta})``, which is
    what is iterated here.  Equivalently (chapter "the Multi-Power Law")

    .. math:: L(t) = L_{\rm const}(S_1(t); \eta_0) - \sum_{k \ge 1} (\eta_{k-1} - \eta_k)\, g(S_k(t)),

    with :func:`constant_area_loss` and :func:`drop_kernel`.
    """
    e = _check_etas(etas)
    p, w, tau = feature_table(N, a, b, exact_features)
    m = np.full(p.size, INITIAL_SECOND_MOMENT)
    out = np.empty(e.size)
    for t, eta in enumerate(e.tolist()):
        q = np.exp(-2.0 * p * eta)
        m = q * m + 0.5 * eta * (1.0 - q)
        out[t] = w @ m
    return 0.5 + 0.5 * (out + INITIAL_SECOND_MOMENT * tau)


def constant_area_loss(S, eta0, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""``L_const(S; eta0) = 1/2 + (1/2)[sum_k p_k (9 e^{-2 p_k S} + (eta0/2)(1 - e^{-2 p_k S})) + 9 tau_K]``.

    The small-rate loss of a constant rate ``eta0`` after rate area ``S`` (vectorised over S >= 0).
    """
    S = as_float_array("S", S)
    p, w, tau = feature_table(N, a, b, exact_features)
    E = np.exp(-2.0 * np.multiply.outer(S, p))
    return 0.5 + 0.5 * ((INITIAL_SECOND_MOMENT * E + 0.5 * eta0 * (1.0 - E)) @ w + INITIAL_SECOND_MOMENT * tau)


def drop_kernel(S, N, a, b, exact_features: bool = False) -> np.ndarray:
    r"""``g(S) = (1/4) sum_k p_k (1 - e^{-2 p_k S})``: the loss reduction per unit rate drop after area S.

    Increasing, ``g(0) = 0``, ``g(S) -> (1/4) sum_{k<=K} p_k`` as S -> infinity; for the Zipf law
    ``(1/4) sum p_k - g(S) ~ c S^{-a/(a+1)}`` (chapter "the Multi-Power Law").
    """
    S = as_float_array("S", S)
    p, w, _ = feature_table(N, a, b, exact_features)
    return 0.25 * (-np.expm1(-2.0 * np.multiply.outer(S, p))) @ w


def project_monotone(v, eta_max, eta_min=1e-6, head: int = 0):
    r"""Euclidean projection onto ``{eta non-increasing after ``head`` steps, eta_min <= eta <= eta_max}``.

    Isotonic (non-increasing) regression of ``v[head:]`` followed by clipping, which is the exact
    projection onto the intersection of the monotone cone and a box with common bounds; the first
    ``head`` entries are only clipped.
    """
    v = as_float_array("v", v).copy()
    tail = v[head:]
    if tail.size:
        tail = isotonic_regression(tail, increasing=False).x
    v[head:] = tail
    return np.clip(v, eta_min, eta_max)


def optimal_schedule(N, a, b, T, eta_max=MAX_RATE, x0=None, iters: int = 200, eta_min: float = 1e-6,
                     monotone: bool = True, warmup: int = 0, exact_features: bool = False,
                     tol: float = 1e-12):
    r"""Minimise the exact final loss over schedules by projected gradient descent (adjoint gradient).

    Constraint set: the first ``warmup`` rates are fixed (those of ``x0``, by default the linear
    warmup of :mod:`scalinglaws.schedules`); the others satisfy ``eta_min <= eta_t <= eta_max``
    (``eta_max <= 1/3``) and, if ``monotone``, are non-increasing.  Each iteration takes
    ``x <- P(x - h grad)`` with a backtracking step ``h`` (accepted when the loss decreases by the
    Armijo amount ``1e-4 grad.(x - x_new)``, then enlarged by 1.5; otherwise halved); it stops after
    ``iters`` iterations or when the relative decrease falls below ``tol``.

    Returns
    -------
    (etas, loss, history) : the schedule, its exact final loss, the loss at every accepted iteration.
    """
    T = as_int("T", T, minimum=1)
    warmup = as_int("warmup", warmup, minimum=0)
    eta_max = float(eta_max)
    if not 0 < eta_max <= MAX_RATE or not 0 < eta_min < eta_max:
        raise ValueError(f"need 0 < eta_min < eta_max <= 1/3, got eta_min={eta_min!r}, eta_max={eta_max!r}")
    if warmup >= T:
        raise ValueError(f"warmup must be an integer in [0, T-1] = [0, {T - 1}], got {warmup!r}")
    if x0 is None:
        x0 = np.concatenate([eta_max * (np.arange(1, warmup + 1) / max(warmup, 1)), np.full(T - warmup, eta_max)])
    x0 = as_float_array("x0", x0)
    if x0.shape != (T,):
        raise ValueError(f"x0 must have shape ({T},), got {x0.shape}")
    head = x0[:warmup].copy()

    def proj(v):
        tail = project_monotone(v[warmup:], eta_max, eta_min) if monotone else np.clip(v[warmup:], eta_min, eta_max)
        return np.concatenate([head, tail])

    x = proj(x0)
    f, g = final_loss_and_gradient(x, N, a, b, exact_features)
    g[:warmup] = 0.0
    h = 0.1 * eta_max / max(np.abs(g).max(), 1e-300)
    history = [f]
    for _ in range(int(iters)):
        while True:
            y = proj(x - h * g)
            fy = final_loss(y, N, a, b, exact_features)
            if fy <= f - 1e-4 * np.dot(g, x - y) or h < 1e-30:
                break
            h *= 0.5
        if f - fy <= tol * abs(f):
            if fy < f:
                x, f = y, fy
                history.append(f)
            break
        x = y
        f, g = final_loss_and_gradient(x, N, a, b, exact_features)
        g[:warmup] = 0.0
        history.append(f)
        h *= 1.5
    return x, f, np.array(history)
