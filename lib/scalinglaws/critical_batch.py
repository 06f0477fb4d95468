r"""The critical batch size measured directly, in linear regression with a diagonal Hessian.

Model: ``x ~ N(0, C)`` with ``C = diag(c_1, ..., c_d)``, ``y = w*^T x + sqrt(s2) n``, loss
``L(w) = E[(w^T x - y)^2]/2 = (u^T C u + s2)/2`` with ``u = w - w*``. SGD with ``B`` fresh examples per
step: ``u' = u - eps V``, ``V = (1/B) sum_i x_i (x_i^T u - sqrt(s2) n_i)``. By Isserlis' theorem
(:func:`scalinglaws.noise_scale.regression_moments`) the diagonal ``M_i = E[u_i^2]`` evolves *exactly*
and on its own (the off-diagonal entries do not feed back when ``C`` is diagonal):

.. math:: M_i' = (1 - \epsilon c_i)^2 M_i + \frac{\epsilon^2}{B}\Big(c_i^2 M_i + c_i\sum_j c_j M_j
          + s_2 c_i\Big).

The rate is ``k`` times the one-step optimum for the expected loss, ``eps = k |G|^2/(G^T H G +
tr(H Sigma)/B)`` with the ratios of expectations

.. math:: |G|^2 &= \sum_i c_i^2 M_i,\qquad G^THG = \sum_i c_i^3 M_i,\\
          \operatorname{tr}(H\Sigma) &= \sum_i c_i^3M_i + \Big(\sum_i c_iM_i\Big)\sum_i c_i^2
          + s_2\sum_i c_i^2,\\
          \operatorname{tr}\Sigma &= |G|^2 + \Big(\sum_i c_iM_i + s_2\Big)\sum_i c_i,

deterministic given ``M``, so the recursion is exact for the real process run with that schedule of
rates (:func:`simulate_regression` checks it). The one-dimensional model of
:mod:`scalinglaws.noise_scale` is ``c = [1]``, ``M_0 = [9]``, ``s2 = 1``.

Steps to a target excess loss ``(L - s2/2)`` are counted on the piecewise-linear interpolation of the
loss curve between steps (a fractional step count, so that a 20 % overhead of a few steps is
resolved). The critical batch size is then measured directly (:func:`critical_batch`) by the 20 %
overhead definitions: against perfect linear scaling from one example per step, as Zhang et al.
(2024) define it (the batch whose examples to the target are 1.2 times those at B = 1), or against
the large-batch limit (the batch whose steps are 1.2 times those at B = infinity). For the
steps–examples hyperbola ``S = S_min (1 + B_crit/B)`` these are ``0.2 B_crit + 1.2`` and
``5 B_crit``. They are compared with the proxies: ``B_noise`` and ``B_simple`` at the target, the
average of ``B_noise`` along the run, and ``E_min/S_min`` of a fitted hyperbola (:func:`hyperbola_fit`).

References: S. McCandlish et al., "An Empirical Model of Large-Batch Training", arXiv:1812.06162
(2018); H. Zhang et al., "How Does Critical Batch Size Scale in Pre-training?", arXiv:2410.21676
(2024); W. Merrill et al., "Critical Batch Size Revisited: A Simple Empirical Approach to
Large-Batch Language Model Training", arXiv:2505.23971 (2025).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq, nnls

from . import _validation as check

__all__ = [
    "RegressionScales",
    "StepsToTarget",
    "critical_batch",
    "hyperbola_fit",
    "regression_scales",
    "regression_trajectory",
    "simulate_regression",
    "steps_to_targets",
]

PY_STEP = 2000  # one Python-level loop iteration, in elementary operations (see _validation.check_work)
SCALAR_STEP = 4 * PY_STEP  # one step of the scalar recursion: three dot products and the update (~15 us)
MAX_DIM = 10**6


def _curvatures(c) -> np.ndarray:
    c = check.real_array("curvatures", c, low=1e-150, high=1e150, ndim=1, min_size=1,
                         domain="reals in [1e-150, 1e150] (the eigenvalues of C)")
    if c.size > MAX_DIM:
        raise ValueError(f"curvatures must have at most {MAX_DIM} entries, got {c.size}")
    return c


def _moments(M, d: int, name: str = "initial_moments") -> np.ndarray:
    M = check.real_array(name, M, low=0, high=1e150, ndim=1, domain="reals in [0, 1e150] (E[u_i^2])")
    if M.size != d:
        raise ValueError(f"{name} must have one entry per curvature ({d}), got {M.size}")
    return M


def _noise_var(s2) -> float:
    return check.real("noise_var", s2, low=0, high=1e150)


def _rate_factor(k) -> float:
    return check.real("rate_factor", k, low=0, high=1, low_open=True)


class RegressionScales(NamedTuple):
    """The noise scales of the diagonal regression at second moments ``M`` (ratios of expectations)."""

    eps_max: float
    delta_loss_max: float
    B_noise: float
    B_simple: float


def _scales(M, c, c2, c3, trc, trc2, s2):
    # vectorised over the rows of M (shape (..., d)); every sum is of non-negative terms
    cm = M @ c
    g2 = M @ c2
    ghg = M @ c3
    with np.errstate(divide="ignore", invalid="ignore"):
        # inf exactly at the optimum (G = 0), as in the scalar path of _finish_one_run
        Bn = np.where(ghg > 0, (ghg + (cm + s2) * trc2) / ghg, np.inf)
        Bs = np.where(g2 > 0, (g2 + (cm + s2) * trc) / g2, np.inf)
    return cm, g2, ghg, Bn, Bs


def regression_scales(curvatures, moments, noise_var=1.0) -> RegressionScales:
    r"""``eps_max``, ``DeltaL_max``, ``B_noise``, ``B_simple`` of the diagonal regression at ``E[u_i^2] = M_i``.

    .. math:: \epsilon_{max} &= \frac{\sum c_i^2M_i}{\sum c_i^3M_i},\qquad
              \Delta L_{max} = \frac{(\sum c_i^2M_i)^2}{2\sum c_i^3M_i},\\
              B_{noise} &= \frac{\sum c_i^3M_i + (\sum c_iM_i + s_2)\sum c_i^2}{\sum c_i^3M_i},\\
              B_{simple} &= \frac{\sum c_i^2M_i + (\sum c_iM_i + s_2)\sum c_i}{\sum c_i^2M_i}.

    For a deterministic ``u`` with ``u_i^2 = M_i`` these are the scales of
    :func:`scalinglaws.noise_scale.noise_scales` at ``(G, H, Sigma) = regression_moments(u, C, s2)``;
    for a random ``u`` they are ratios of expectations.

    Parameters
    ----------
    curvatures : 1-D array of reals in [1e-150, 1e150]; the diagonal of ``C`` (= ``H``).
    moments : 1-D array of the same length, reals in [0, 1e150], not all zero; ``M_i``.
    noise_var : real in [0, 1e150]; ``s2``.
    """
    c = _curvatures(curvatures)
    M = _moments(moments, c.size, "moments")
    s2 = _noise_var(noise_var)
    if not np.any(M > 0):
        raise ValueError("moments must not all be zero (at the optimum every scale is undefined)")
    # scale c and M by powers of two so that no sum overflows or underflows; the scales are then
    # put back exactly with ldexp
    ec = int(np.frexp(c.max())[1])
    eM = int(np.frexp(M.max())[1])
    cs, Ms = np.ldexp(c, -ec), np.ldexp(M, -eM)
    g2, ghg, cm = float(Ms @ cs**2), float(Ms @ cs**3), float(Ms @ cs)
    # s2 in the scaled units: s2 / (2^eM 2^ec)
    s2s = math.ldexp(s2, -(eM + ec)) if s2 > 0 else 0.0
    try:
        eps_max = math.ldexp(g2 / ghg, -ec)
        dl_max = math.ldexp(g2 * g2 / (2.0 * ghg), eM + ec)
    except OverflowError:
        raise check.not_representable("DeltaL_max or eps_max", f"curvatures up to {c.max():.3g}, moments up "
                                      f"to {M.max():.3g}") from None
    Bn = (ghg + (cm + s2s) * float(cs @ cs)) / ghg
    Bs = (g2 + (cm + s2s) * float(cs.sum())) / g2
    for name, v in (("B_noise", Bn), ("B_simple", Bs), ("eps_max", eps_max), ("delta_loss_max", dl_max)):
        if not math.isfinite(v):
            raise check.not_representable(name)
    return RegressionScales(eps_max=eps_max, delta_loss_max=dl_max, B_noise=Bn, B_simple=Bs)


def _batch_array(batch_sizes) -> np.ndarray:
    B = check.real_array("batch_sizes", batch_sizes, low=1, allow_inf=True, ndim=1, min_size=1,
                         domain="batch sizes >= 1 (inf for the noiseless limit)")
    return B


def regression_trajectory(curvatures, initial_moments, noise_var, batch_size, steps, rate_factor=1.0):
    r"""The exact excess loss ``(sum_i c_i M_i)/2`` and the rates of ``steps`` greedy steps at one batch size.

    Rates ``eps_t = k |G|^2/(G^T H G + tr(H Sigma)/B)`` from the current ``M`` (module docstring).

    Parameters
    ----------
    curvatures, initial_moments, noise_var : as :func:`steps_to_targets`.
    batch_size : real >= 1, or inf (noiseless steps with ``eps = k eps_max``).
    steps : int in [0, 1e6].
    rate_factor : real in (0, 1].

    Returns
    -------
    (excess, rates) : arrays of lengths steps + 1 and steps.
    """
    c = _curvatures(curvatures)
    M = _moments(initial_moments, c.size).copy()
    s2 = _noise_var(noise_var)
    B = check.real("batch_size", batch_size, low=1, allow_inf=True)
    T = check.integer("steps", steps, low=0, high=10**6)
    k = _rate_factor(rate_factor)
    check.check_work("critical_batch.regression_trajectory", operations=T * (20.0 * c.size + SCALAR_STEP),
                     sizes=f"steps * d = {T * c.size:.3g}")
    c2, c3, trc, trc2 = c * c, c**3, float(c.sum()), float(c @ c)
    invB = 0.0 if math.isinf(B) else 1.0 / B
    excess = np.empty(T + 1)
    rates = np.empty(T)
    for t in range(T):
        cm, g2, ghg = float(M @ c), float(M @ c2), float(M @ c3)
        excess[t] = 0.5 * cm
        if g2 == 0:  # at the optimum: nothing left to do
            rates[t:] = 0.0
            excess[t + 1:] = 0.5 * cm
            return excess, rates
        eps = k * g2 / (ghg + (ghg + (cm + s2) * trc2) * invB)
        rates[t] = eps
        M = (1.0 - eps * c) ** 2 * M + (eps * eps * invB) * (c2 * M + c * (cm + s2))
    excess[T] = 0.5 * float(M @ c)
    return excess, rates


def _finish_one_run(r, M, t, nxt, sum_Bn, prev_exc, prev_Bn, c, c2, c3, trc, trc2, s2, k, invB, tsorted, order,
                    max_steps, B, S, Bn_at, Bs_at, mean_Bn):
    """Continue run ``r`` from step ``t`` (state ``M``, not yet checked) to its last target; fills the outputs."""
    nT = tsorted.size
    M = M.copy()
    while True:
        cm, g2, ghg = float(M @ c), float(M @ c2), float(M @ c3)
        exc = 0.5 * cm
        Bn = (ghg + (cm + s2) * trc2) / ghg if ghg > 0 else math.inf  # inf: exactly at the optimum
        while nxt < nT and exc <= tsorted[nxt]:
            j = order[nxt]
            if t == 0:
                S[r, j], mean_Bn[r, j] = 0.0, Bn
            else:
                frac = (prev_exc - tsorted[nxt]) / (prev_exc - exc)
                S[r, j] = t - 1 + frac
                mean_Bn[r, j] = (sum_Bn - (1.0 - frac) * prev_Bn) / S[r, j] if S[r, j] > 0 else Bn
            Bn_at[r, j], Bs_at[r, j] = Bn, (g2 + (cm + s2) * trc) / g2 if g2 > 0 else math.inf
            nxt += 1
        if nxt == nT:
            return
        if t >= max_steps:
            raise ValueError(f"max_steps={max_steps} is too small: the run at batch size {B:g} has not "
                             f"reached every target; raise max_steps (within the work cap)")
        eps = k * g2 / (ghg + (ghg + (cm + s2) * trc2) * invB)
        M = (1.0 - eps * c) ** 2 * M + (eps * eps * invB) * (c2 * M + (cm + s2) * c)
        sum_Bn += Bn
        prev_Bn, prev_exc = Bn, exc
        t += 1


def _fewest_steps(e0: float, target: float, k: float, s2: float, B: np.ndarray, rho: float) -> np.ndarray:
    """A lower bound on the steps from excess loss ``e0`` to ``target``, per batch size (see steps_to_targets)."""
    if e0 <= target:
        return np.zeros(B.shape)
    # (1 - k)^2 per step at best; log1p keeps k = 1e-300 exact (log(1 - k) would be 0)
    per_step = -2.0 * math.log1p(-k) if k < 1.0 else math.inf
    by_rate = math.log(e0 / target) / per_step
    q = k * (2.0 - k)
    out = np.full(B.shape, by_rate)
    if s2 > 0:
        with np.errstate(over="ignore"):
            a = 2.0 * B * rho / s2                      # inf for B = inf: no bound from the noise
            usable = np.isfinite(a) & (q * a * e0 <= 0.5)
            by_noise = np.where(usable, (1.0 / target - 1.0 / e0) / (2.0 * q * np.where(usable, a, 1.0)), 0.0)
        out = np.maximum(out, by_noise)
    return out


class StepsToTarget(NamedTuple):
    """Steps to each target for each batch size (:func:`steps_to_targets`); arrays (n_batches, n_targets)."""

    steps: np.ndarray        # fractional: where the piecewise-linear loss curve crosses the target
    B_noise: np.ndarray      # B_noise at the first step at or below the target (inf if that step is the
    B_simple: np.ndarray     # B_simple there                          exact optimum, G = 0)
    mean_B_noise: np.ndarray  # B_noise averaged over the steps before the crossing (weights as `steps`)


def steps_to_targets(curvatures, initial_moments, noise_var, batch_sizes, excess_targets, rate_factor=1.0,
                     max_steps=200_000) -> StepsToTarget:
    r"""Steps for greedy SGD at each batch size to bring the excess loss below each target (exact recursion).

    The recursion of the module docstring runs for every batch size at once (a run leaves the
    vectorised loop once it has crossed every target). With excess losses ``e_{t-1} > target >= e_t``
    the step count is ``t - 1 + (e_{t-1} - target)/(e_{t-1} - e_t)``: the crossing of the
    piecewise-linear loss curve. ``mean_B_noise`` averages ``B_noise(M_t)`` over the run up to the
    crossing with the same fractional weight on the last step; for ``B = inf`` it is the continuum
    theory's ``B_crit = E_min/S_min`` (each noiseless step is a fixed number of ideal steps). A run whose
    step lands exactly on the optimum (``G = 0``: the noiseless Newton step of the 1-D model) has reached
    every target, and its ``B_noise`` and ``B_simple`` there are ``inf``, their true value.

    Parameters
    ----------
    curvatures : 1-D array of reals in [1e-150, 1e150], at most 1e6 entries; the spectrum of ``C``.
    initial_moments : 1-D array of reals in [0, 1e150], one per curvature; ``E[u_{0,i}^2]``.
    noise_var : real in [0, 1e150]; the label-noise variance ``s2``.
    batch_sizes : 1-D array of reals >= 1 (``inf`` allowed: noiseless steps).
    excess_targets : 1-D array of reals in (0, e_0), ``e_0 = sum_i c_i M_{0,i} / 2``.
    rate_factor : real in (0, 1]; rates ``k eps_opt``.
    max_steps : int >= 1; a ValueError if some run needs more steps. Work is capped (check_work)
        at the cost of one run of ``max_steps`` steps plus the vectorised large-batch runs.

    Before any step is taken, a lower bound on the steps each run needs is compared with
    ``max_steps`` (so that a run that cannot finish is refused at once, not after ``max_steps``
    steps). With ``q = 2k - k^2`` the excess loss falls by ``q |G|^4 / (2 D)`` per step, ``D`` the
    denominator of the rate, and ``|G|^4 <= (sum c_i M_i)(sum c_i^3 M_i)`` (Cauchy-Schwarz) gives
    ``e_{t+1} >= (1 - k)^2 e_t``; with label noise and a finite batch, ``D >= s2 tr(C^2)/B`` and
    ``|G|^2 <= 2 c_max e`` give ``e_{t+1} >= e_t - q a e_t^2``, ``a = 2 B c_max^2 / (s2 tr C^2)``, hence
    ``1/e_t <= 1/e_0 + 2 q a t`` while ``q a e_0 <= 1/2``. A run needs at least
    ``max(log(e_0/target) / (-2 log(1 - k)), (1/target - 1/e_0) / (2 q a))`` steps to its lowest target.

    Returns
    -------
    StepsToTarget
    """
    c = _curvatures(curvatures)
    M0 = _moments(initial_moments, c.size)
    s2 = _noise_var(noise_var)
    B = _batch_array(batch_sizes)
    k = _rate_factor(rate_factor)
    max_steps = check.integer("max_steps", max_steps, low=1)
    e0 = 0.5 * float(M0 @ c)
    targets = check.real_array("excess_targets", excess_targets, low=0, high=e0, low_open=True, high_open=True,
                               ndim=1, min_size=1, domain=f"excess losses in (0, e_0) = (0, {e0:.6g})")
    d, nB, nT = c.size, B.size, targets.size
    # per step: 30 d operations per run still going, plus the loop's overhead (about 6e4 operations while
    # two or more runs are left, SCALAR_STEP for the last one). Refused up front if one run of max_steps
    # steps would exceed the cap; the work actually done by all runs is counted as the loop goes.
    step_cost = 30.0 * d + (6e4 if nB > 1 else SCALAR_STEP)
    check.check_work("critical_batch.steps_to_targets", operations=float(max_steps) * step_cost,
                     memory_bytes=8.0 * 6 * nB * d,
                     sizes=f"max_steps = {max_steps}, d = {d}, batch sizes = {nB}")
    c2, c3, trc, trc2 = c * c, c**3, float(c.sum()), float(c @ c)
    invB = np.where(np.isinf(B), 0.0, 1.0 / np.where(np.isinf(B), 1.0, B))
    needed = _fewest_steps(e0, float(targets.min()), k, s2, B, float(c.max()) ** 2 / trc2)
    if np.any(needed > 1.01 * max_steps + 2):   # a margin for rounding in the recursion itself
        i = int(np.argmax(needed))
        raise ValueError(f"max_steps={max_steps} is too small: the run at batch size {B[i]:g} needs at least "
                         f"{needed[i]:.3g} steps to reach excess_target {targets.min():.6g} from e_0 = {e0:.6g} "
                         f"(rate_factor = {k:g}, noise_var = {s2:g}); raise max_steps (within the work cap)")
    order = np.argsort(-targets, kind="stable")     # crossed from the highest target down
    tsorted = targets[order]
    S = np.full((nB, nT), np.nan)
    Bn_at = np.full((nB, nT), np.nan)
    Bs_at = np.full((nB, nT), np.nan)
    mean_Bn = np.full((nB, nT), np.nan)
    M = np.tile(M0, (nB, 1))
    rows = np.arange(nB)                 # runs still going
    nxt = np.zeros(nB, dtype=int)        # index (in tsorted) of each run's next target
    sum_Bn = np.zeros(nB)                # B_noise summed over the steps taken so far
    prev_exc = np.zeros(nB)
    prev_Bn = np.zeros(nB)
    done_work = 0.0
    t = 0
    while True:
        cm, g2, ghg, Bn, Bs = _scales(M, c, c2, c3, trc, trc2, s2)
        exc = 0.5 * cm
        hit = exc <= tsorted[nxt]
        if np.any(hit):
            done = np.zeros(rows.size, dtype=bool)
            for i in np.flatnonzero(hit):  # each run crosses each target once: a short loop overall
                r = rows[i]
                while nxt[i] < nT and exc[i] <= tsorted[nxt[i]]:
                    j = order[nxt[i]]
                    if t == 0:
                        S[r, j], mean_Bn[r, j] = 0.0, Bn[i]
                    else:
                        frac = (prev_exc[i] - tsorted[nxt[i]]) / (prev_exc[i] - exc[i])
                        S[r, j] = t - 1 + frac
                        mean_Bn[r, j] = (sum_Bn[i] - (1.0 - frac) * prev_Bn[i]) / S[r, j] if S[r, j] > 0 else Bn[i]
                    Bn_at[r, j], Bs_at[r, j] = Bn[i], Bs[i]
                    nxt[i] += 1
                done[i] = nxt[i] == nT
            if np.any(done):
                keep = ~done
                rows, M, nxt, sum_Bn = rows[keep], M[keep], nxt[keep], sum_Bn[keep]
                cm, g2, ghg, Bn, exc = cm[keep], g2[keep], ghg[keep], Bn[keep], exc[keep]
                if not rows.size:
                    break
        if t >= max_steps:
            raise ValueError(f"max_steps={max_steps} is too small: the run at batch size {B[rows[0]]:g} has not "
                             f"reached every target; raise max_steps (within the work cap)")
        if rows.size == 1:  # the last (smallest-batch) run: the same recursion with scalar bookkeeping
            _finish_one_run(int(rows[0]), M[0], t, int(nxt[0]), float(sum_Bn[0]), float(prev_exc[0]) if t else 0.0,
                            float(prev_Bn[0]) if t else 0.0, c, c2, c3, trc, trc2, s2, k, float(invB[rows[0]]),
                            tsorted, order, max_steps, float(B[rows[0]]), S, Bn_at, Bs_at, mean_Bn)
            break
        done_work += 30.0 * d * rows.size + 6e4
        if not t & 1023:
            check.check_work("critical_batch.steps_to_targets", operations=done_work,
                             sizes=f"{nB} runs, {t} steps so far, d = {d}")
        ib = invB[rows]
        eps = k * g2 / (ghg + (ghg + (cm + s2) * trc2) * ib)
        M = (1.0 - eps[:, None] * c) ** 2 * M + (eps * eps * ib)[:, None] * (c2 * M + np.outer(cm + s2, c))
        sum_Bn += Bn
        prev_Bn, prev_exc = Bn, exc
        t += 1
    return StepsToTarget(steps=S, B_noise=Bn_at, B_simple=Bs_at, mean_B_noise=mean_Bn)


def critical_batch(curvatures, initial_moments, noise_var, excess_target, reference="linear", overhead=0.2,
                   rate_factor=1.0, max_batch=1e9, max_steps=200_000) -> float:
    r"""The critical batch size measured directly: where the 20 % overhead is reached (root finding).

    - ``reference="linear"`` (Zhang et al. 2024): the batch at which the steps to the target are
      ``1 + overhead`` times the linear-scaling prediction from one example per step,
      ``S(B) = (1 + overhead) S(1)/B``, i.e. the examples ``B S(B)`` are ``1 + overhead`` times ``S(1)``.
    - ``reference="large-batch"``: the batch at which the steps are ``1 + overhead`` times those of
      the noiseless limit, ``S(B) = (1 + overhead) S(inf)``.

    ``S(B)`` is the fractional step count of :func:`steps_to_targets`; the crossing is found by
    Brent's method in ``log B`` on ``[1, max_batch]``. For the hyperbola ``S = S_min(1 + B_crit/B)``
    the two answers are ``overhead B_crit + 1 + overhead`` and ``B_crit/overhead``: ``0.2 B_crit + 1.2``
    and ``5 B_crit`` for the 20 % definition, whose geometric mean is close to ``B_crit``.

    Parameters
    ----------
    curvatures, initial_moments, noise_var, rate_factor, max_steps : as :func:`steps_to_targets`.
    excess_target : real in (0, e_0).
    reference : "linear" or "large-batch".
    overhead : real in (0, 10]; 0.2 for the 20 % definition.
    max_batch : real in (1, 1e15]; the search interval's upper end.

    Returns
    -------
    float : the critical batch size (a real number; round it for a runnable batch).
    """
    reference = check.choice("reference", reference, ("linear", "large-batch"))
    overhead = check.real("overhead", overhead, low=0, high=10, low_open=True)
    max_batch = check.real("max_batch", max_batch, low=1, high=1e15, low_open=True)
    c = _curvatures(curvatures)
    e0 = 0.5 * float(_moments(initial_moments, c.size) @ c)
    target = check.real("excess_target", excess_target, low=0, high=e0, low_open=True, high_open=True,
                        domain=f"an excess loss in (0, e_0) = (0, {e0:.6g})")

    def S(b):
        return float(steps_to_targets(curvatures, initial_moments, noise_var, [b], [target], rate_factor,
                                      max_steps).steps[0, 0])

    if reference == "linear":
        base = S(1.0)
        # every later evaluation is at a larger batch, so at most S(1) steps, and most of Brent's ~40
        # evaluations land at batches well above 1, where runs are much shorter: about 8 S(1) steps in all
        check.check_work("critical_batch.critical_batch", operations=8.0 * base * (30.0 * c.size + PY_STEP),
                         sizes=f"S(1) = {base:.3g} steps, d = {c.size}")

        def g(u):
            b = math.exp(u)
            return b * S(b) / base - (1.0 + overhead)
    else:
        base = S(math.inf)
        if base == 0.0:
            raise ValueError("excess_target is already met at the start; choose a target below the initial loss")

        def g(u):
            return S(math.exp(u)) / base - (1.0 + overhead)

    lo, hi = 0.0, math.log(max_batch)
    g_hi = g(hi)
    if reference == "linear":
        # at B = 1 the ratio is 1 by definition, below 1 + overhead: the bracket is [1, max_batch]
        if g_hi <= 0:
            raise ValueError(f"max_batch={max_batch:g} is too small: the examples at max_batch are not "
                             f"{1 + overhead:g} times those at one example per step")
        return math.exp(brentq(g, lo, hi, xtol=1e-6, rtol=1e-10))
    if g_hi > 0:
        raise ValueError(f"max_batch={max_batch:g} is too small: the steps at max_batch are more than "
                         f"{1 + overhead:g} times the noiseless limit")
    # walk down from max_batch (large batches are cheap to run) until the overhead is exceeded
    u_hi, u = hi, hi
    while True:
        u = max(lo, u - math.log(4.0))
        gu = g(u)
        if gu > 0:
            return math.exp(brentq(g, u, u_hi, xtol=1e-6, rtol=1e-10))
        if u == lo:
            return 1.0
        u_hi = u


def hyperbola_fit(batch_sizes, steps):
    r"""Fit ``S = S_min + E_min/B`` (the steps–examples hyperbola) to measured steps; returns ``(S_min, E_min)``.

    Least squares on relative residuals, ``sum_i ((S_min + E_min/B_i)/S_i - 1)^2``, which is linear in
    the two non-negative unknowns (solved by NNLS). ``B_crit = E_min/S_min``.

    Parameters
    ----------
    batch_sizes : 1-D array of reals in [1, 1e15], at least two distinct values.
    steps : 1-D array of positive reals, the same length.
    """
    B = check.real_array("batch_sizes", batch_sizes, low=1, high=1e15, ndim=1, min_size=2)
    S = check.real_array("steps", steps, low=0, low_open=True, high=1e300, ndim=1)
    if S.size != B.size:
        raise ValueError(f"steps must have one entry per batch size ({B.size}), got {S.size}")
    if np.unique(B).size < 2:
        raise ValueError("batch_sizes must contain at least two distinct values to fit two parameters")
    A = np.column_stack([1.0 / S, 1.0 / (B * S)])
    coef, _ = nnls(A, np.ones_like(S))
    return float(coef[0]), float(coef[1])


def simulate_regression(curvatures, initial_u, noise_var, rates, batch_size, runs, seed=0):
    r"""Excess losses ``(u^T C u)/2`` of ``runs`` independent SGD runs of the real process, every step.

    Each step draws ``batch_size`` fresh examples ``x = sqrt(c) * z`` (``z ~ N(0, I)``) and label
    noises, and applies ``u <- u - eps_t (1/B) sum_i x_i (x_i^T u - sqrt(s2) n_i)``.

    Parameters
    ----------
    curvatures : as :func:`steps_to_targets`.
    initial_u : 1-D array of reals, one per curvature: the common starting offset ``u_0`` (then
        ``E[u_{0,i}^2] = u_{0,i}^2``).
    noise_var : real in [0, 1e150].
    rates : 1-D array of reals in [0, 1e6]; ``eps_t``.
    batch_size : int >= 1.
    runs : int >= 1.
    seed : int seed for ``numpy.random.default_rng``.

    Returns
    -------
    array (T + 1, runs).
    """
    c = _curvatures(curvatures)
    u0 = check.real_array("initial_u", initial_u, low=-1e75, high=1e75, ndim=1)
    if u0.size != c.size:
        raise ValueError(f"initial_u must have one entry per curvature ({c.size}), got {u0.size}")
    s2 = _noise_var(noise_var)
    rates = check.real_array("rates", rates, low=0, high=1e6, ndim=1)
    B = check.integer("batch_size", batch_size, low=1)
    runs = check.integer("runs", runs, low=1)
    seed = check.seed("seed", seed)
    d, T = c.size, rates.size
    size = float(T) * float(runs) * float(B) * d   # floats: an inf estimate is refused like any other
    check.check_work("critical_batch.simulate_regression", operations=6.0 * size,
                     memory_bytes=8.0 * (T + 1) * float(runs) + 8.0 * 3 * min(float(runs), 2e6 / d + 1) * float(B) * d,
                     sizes=f"steps * runs * batch_size * d = {size:.3g}")
    rng = np.random.default_rng(seed)
    sc, sd = np.sqrt(c), math.sqrt(s2)
    out = np.empty((T + 1, runs))
    chunk = max(1, 2_000_000 // (B * d))
    for start in range(0, runs, chunk):
        n = min(chunk, runs - start)
        u = np.tile(u0, (n, 1))
        out[0, start:start + n] = 0.5 * (u * u) @ c
        for t in range(T):
            x = rng.standard_normal((n, B, d)) * sc
            resid = np.einsum("nbd,nd->nb", x, u) - sd * rng.standard_normal((n, B))
            u = u - rates[t] * np.einsum("nbd,nb->nd", x, resid) / B
            out[t + 1, start:start + n] = 0.5 * (u * u) @ c
    return out
