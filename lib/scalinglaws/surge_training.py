r"""Many steps of sign descent, Adam and SGD on a noisy quadratic, over a grid of batch sizes and rates.

The one-step theory of :mod:`scalinglaws.surge` predicts that the rate which maximises the expected
decrease of sign descent rises with the batch size ``B``, peaks, and falls (Li et al. 2024).  This
module measures the multi-step counterpart, with its uncertainty:

1. :func:`mean_loss_grid` trains ``L(theta) = theta^T H theta / 2`` from ``theta0`` with noisy
   mini-batch gradients ``H theta + sigma z / sqrt(B)`` for every batch size and rate of a grid, in
   ``replicates`` independent groups of ``runs`` runs, and returns each group's mean loss curve.
   Within a group the same noise sequence drives every rate and every batch size (common random
   numbers: every run is exactly distributed, and comparisons along the grid are less noisy);
   groups are independent.
2. :func:`summarise_grid` turns one group's curves into, for each batch size, the steps ``S`` to a
   target loss and the *optimal rate* (the rate that reaches it in the fewest steps, refined by a
   parabola in log-log), then the peak of the optimal rate over ``B``, its rise and fall, and the
   ``B_noise`` of the steps-examples law ``S = S_min (1 + B_noise / B)`` (McCandlish et al. 2018).
3. :func:`log_t_interval` gives the geometric mean over the independent groups and its Student-t
   confidence interval; :func:`surge_claims` states which qualitative claims the intervals support.

References: S. Li et al., arXiv:2405.14578 (2024); D. P. Kingma and J. Ba, arXiv:1412.6980 (2014);
S. McCandlish et al., arXiv:1812.06162 (2018).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from . import _validation as check
from . import surge
from .surge import _check_optimizer, _check_quadratic, _Stepper

__all__ = [
    "random_quadratic",
    "mean_loss_grid",
    "curve_peak",
    "GridSummary",
    "summarise_grid",
    "log_t_interval",
    "BatchRateExperiment",
    "rate_grids",
    "run_experiment",
    "Claim",
    "surge_claims",
    "OneStepExample",
    "one_step_examples",
]

OPTIMIZERS = ("sign", "adam", "sgd")


def _operations(states: int, steps: int, n: int, optimizer: str) -> float:
    """Elementary operations of ``steps`` updates of ``states`` parameter vectors of length n.

    Per vector and step: the product ``H theta`` (n^2 multiply-adds, counted 1/8 each: BLAS does
    about eight in the time numpy takes for one element update) and the element-wise work of the
    loss, the noise and the update (about 5 n for sign descent and SGD, 13 n for Adam).
    """
    return float(states) * steps * (n * n / 8 + (13 if optimizer == "adam" else 5) * n)


# Dense linear algebra (LAPACK/BLAS-3: QR, Cholesky, LU, eigenvalues) does about 32 flops in the time
# numpy takes for one elementary element update (measured: 4096 x 4096 QR + product in 11 s on one core).
_FLOPS_PER_OPERATION = 32.0


def _quadratic_cost(n: int) -> tuple[float, float]:
    """Operations and bytes of :func:`random_quadratic`: QR with Q (8/3 n^3 flops), ``Q diag Q^T``
    (2 n^3) and about 20 element passes over n x n arrays, of which about six are alive at once."""
    return 14.0 / 3.0 * n**3 / _FLOPS_PER_OPERATION + 20.0 * n * n, 48.0 * n * n


def _hessian_cost(n: int) -> tuple[float, float]:
    """Operations and bytes of checking an n x n Hessian (symmetry, Cholesky: n^3/3 flops) and using it
    once in :func:`scalinglaws.surge.surge_parameters`: about 200 element passes (measured at n = 4096,
    where the arrays no longer fit in cache), six arrays alive."""
    return n**3 / 3.0 / _FLOPS_PER_OPERATION + 200.0 * n * n, 48.0 * n * n


def _positive_or_nan(name: str, values, **kw) -> np.ndarray:
    """A float array of values > 0 in which NaN marks a missing entry (the layer refuses NaN)."""
    try:
        arr = None if isinstance(values, (str, bytes)) or values is None else np.asarray(values)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        check.real_array(name, values, **kw)        # raises the layer's message for this input
    arr = arr.astype(float)
    check.real_array(name, np.where(np.isnan(arr), 1.0, arr), low=0, low_open=True,
                     domain="reals > 0, or NaN for a missing entry", **kw)
    return arr


def random_quadratic(n, condition, seed):
    r"""A random quadratic ``H = Q diag(lambda) Q^T`` and start ``theta0``, from one random seed.

    ``Q`` is a Haar-random rotation (QR of a Gaussian matrix with the signs of ``R``'s diagonal
    fixed), ``lambda = geomspace(1, condition, n)`` and ``theta0 ~ N(0, I_n)``, all drawn from
    ``numpy.random.default_rng(seed)`` in that order.

    Domain: ``n`` an integer in [2, 4096]; ``condition`` in [1, 1e12]; ``seed`` in [0, 2**63).
    Returns ``(H, theta0)``.  The dense work (about ``5 n^3`` flops: 11 s on one core at n = 4096) is
    capped by ``scalinglaws.work_limits``.
    """
    n = check.integer("n", n, low=2, high=4096)
    condition = check.real("condition", condition, low=1, high=1e12)
    seed = check.seed("seed", seed)
    operations, memory = _quadratic_cost(n)
    check.check_work("surge_training.random_quadratic", operations=operations, memory_bytes=memory,
                     sizes=f"n = {n}")
    return _random_quadratic(n, condition, seed)


def _random_quadratic(n: int, condition: float, seed: int):
    """:func:`random_quadratic` without the checks (its callers check their own argument names)."""
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    Q *= np.where(np.diag(R) < 0, -1.0, 1.0)
    lam = np.geomspace(1.0, condition, n)
    H = (Q * lam) @ Q.T
    return 0.5 * (H + H.T), rng.standard_normal(n)


def mean_loss_grid(H, sigma, theta0, batch_sizes, rates, steps, runs, replicates, seed=0,
                   optimizer: str = "sign", beta1: float = 0.9, beta2: float = 0.999,
                   adam_eps: float = 1e-8):
    r"""Mean loss curves of ``replicates`` independent groups of ``runs`` runs, for every (B, rate).

    Each run trains ``L(theta) = theta^T H theta / 2`` from ``theta0`` with the batch gradient
    ``g = H theta + sigma z / sqrt(B)`` (``z`` standard normal, one per coordinate: the exact law of
    the mean of ``B`` per-sample gradients ``H theta + xi``, ``xi ~ N(0, diag(sigma^2))``) and the
    update of ``optimizer`` (``"sign"``, ``"sgd"`` or ``"adam"`` with ``beta1``, ``beta2``,
    ``adam_eps`` and bias correction; see :func:`scalinglaws.surge.simulate_noisy_quadratic`).

    The random numbers come from ``numpy.random.default_rng(seed)``, restarted for every batch size:
    run ``r`` sees the same ``z`` sequence at every rate and every batch size (common random
    numbers).  Runs ``g * runs ... (g + 1) * runs - 1`` form group ``g``; groups are independent.

    Parameters
    ----------
    H : (n, n) symmetric positive definite.   sigma : scalar or (n,), > 0.   theta0 : (n,).
    batch_sizes : 1-D array of batch sizes >= 1.   rates : 1-D array of rates > 0.
    steps : int >= 1.   runs : int >= 1.   replicates : int >= 1.   seed : int in [0, 2**63).

    Returns
    -------
    ndarray of shape (replicates, len(batch_sizes), len(rates), steps + 1): the mean over each
    group's runs of the exact loss after t steps (``inf`` once a run has diverged).  Work and
    memory are capped by ``scalinglaws.work_limits``.
    """
    optimizer, beta1, beta2, adam_eps = _check_optimizer(optimizer, beta1, beta2, adam_eps)
    H, sigma, theta0, _ = _check_quadratic(H, sigma, theta0, "theta0", squares=optimizer == "adam")
    n = theta0.size
    batch_sizes = check.real_array("batch_sizes", batch_sizes, ndim=1, min_size=1, low=1,
                                   domain="batch sizes >= 1")
    rates = check.real_array("rates", rates, ndim=1, min_size=1, low=0, low_open=True)
    steps = check.integer("steps", steps, low=1)
    runs = check.integer("runs", runs, low=1)
    replicates = check.integer("replicates", replicates, low=1)
    seed = check.seed("seed", seed)
    total = replicates * runs
    states = rates.size * total
    check.check_work("surge_training.mean_loss_grid",
                     operations=batch_sizes.size * (_operations(states, steps, n, optimizer) + 1.5e4 * steps),
                     memory_bytes=8.0 * (states * (7 * n + steps + 1)
                                         + replicates * batch_sizes.size * rates.size * (steps + 1)) + 16.0 * n * n,
                     sizes=f"batch sizes * rates * runs * replicates * steps = {batch_sizes.size} * "
                           f"{rates.size} * {runs} * {replicates} * {steps}, n = {n}")
    out = np.empty((replicates, batch_sizes.size, rates.size, steps + 1))
    ones = np.ones(n)
    for j, B in enumerate(batch_sizes):
        rng = np.random.default_rng(seed)
        theta = np.broadcast_to(theta0, (rates.size, total, n)).copy()
        stepper = _Stepper(optimizer, theta.shape, rates[:, None, None], beta1, beta2, adam_eps)
        g = np.empty_like(theta)
        prod = np.empty_like(theta)
        z = np.empty((total, n))
        scale = sigma / math.sqrt(B)
        losses = np.empty((steps + 1, rates.size, total))
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(steps + 1):
                np.matmul(theta, H, out=g)                      # H theta (H symmetric)
                np.multiply(theta, g, out=prod)
                np.matmul(prod, ones, out=losses[t])            # theta^T H theta, per run
                if t == steps:
                    break
                rng.standard_normal(out=z)
                z *= scale
                g += z
                theta -= stepper.update(g, t + 1)
        losses *= 0.5
        losses[~np.isfinite(losses)] = np.inf
        if optimizer == "sgd":
            losses = np.where(np.maximum.accumulate(np.isinf(losses), axis=0), np.inf, losses)
        means = losses.reshape(steps + 1, rates.size, replicates, runs).mean(axis=3)
        out[:, j] = np.moveaxis(means, 0, -1).transpose(1, 0, 2)
    return out


def curve_peak(batch_sizes, values, half_width: int = 2):
    r"""Where a curve of optimal rates over ``log B`` has its maximum, smoothed by a local parabola.

    Takes the largest finite entry ``k`` of ``values``.  If ``k`` is the first or the last finite
    entry the curve has no interior maximum: returns ``(B_k, values_k, False)``.  Otherwise fits a
    parabola by least squares to ``(log B, log value)`` over the finite entries within
    ``half_width`` positions of ``k`` and returns its vertex (clipped to that window) and its value
    there, with ``True``; if the fitted parabola is not concave, the grid maximum.

    Domain: ``batch_sizes`` increasing, >= 1; ``values`` > 0 or NaN (missing), same length, at least
    one finite; ``half_width`` an integer in [1, 10].  Returns ``(peak_batch, peak_value, interior)``.
    """
    B = check.real_array("batch_sizes", batch_sizes, ndim=1, min_size=1, low=1)
    if np.any(np.diff(B) <= 0):
        raise ValueError(f"batch_sizes must be strictly increasing, got {B!r}")
    raw = _positive_or_nan("values", values, ndim=1)
    if raw.shape != B.shape:
        raise ValueError(f"values must have the shape of batch_sizes {B.shape}, got {raw.shape}")
    half_width = check.integer("half_width", half_width, low=1, high=10)
    finite = np.isfinite(raw)
    if not finite.any():
        raise ValueError("values must have at least one finite entry, got none")
    idx = np.nonzero(finite)[0]
    k = int(idx[np.argmax(raw[idx])])
    if k == idx[0] or k == idx[-1]:
        return float(B[k]), float(raw[k]), False
    window = idx[(idx >= k - half_width) & (idx <= k + half_width)]
    x, y = np.log(B[window]), np.log(raw[window])
    c2, c1, c0 = np.polyfit(x, y, 2)
    if c2 >= 0:
        return float(B[k]), float(raw[k]), True
    xv = float(np.clip(-c1 / (2 * c2), x[0], x[-1]))
    return float(math.exp(xv)), float(math.exp(np.polyval([c2, c1, c0], xv))), True


class GridSummary(NamedTuple):
    """What one target loss shows on a (batch size, rate) grid, per independent group (first axis K)."""

    target: float
    steps: np.ndarray          # (K, nB, nR) steps to the target (inf: never reached)
    optimal_rate: np.ndarray   # (K, nB) the rate reaching it in fewest steps (NaN: not reached, or
    #                            the grid's smallest rate was best, so the optimum is not bracketed)
    at_upper_edge: np.ndarray  # (K, nB) bool: the grid's largest rate was best (a lower bound)
    peak_batch: np.ndarray     # (K,) curve_peak of optimal_rate over log B
    peak_rate: np.ndarray      # (K,)
    interior_peak: np.ndarray  # (K,) bool: the maximum is neither the first nor the last batch size
    rise: np.ndarray           # (K,) peak_rate / optimal rate at the smallest batch size reaching the target
    fall: np.ndarray           # (K,) peak_rate / optimal rate at the largest batch size (NaN if missing)
    steps_min: np.ndarray      # (K, nB) fewest steps over the rates
    B_noise: np.ndarray        # (K,) from the steps-examples line fitted up to the batch with fewest steps
    S_min: np.ndarray          # (K,) its S_min
    small_batch_exponent: np.ndarray  # (K,) slope of log optimal rate on log B over the first 4 batch sizes


def summarise_grid(mean_losses, batch_sizes, rates, target, half_width: int = 2) -> GridSummary:
    r"""Optimal rate per batch size, its peak, rise and fall, and the steps-examples ``B_noise``.

    ``mean_losses`` is the output of :func:`mean_loss_grid` (K, nB, nR, steps + 1).  For each group
    and batch size: ``S`` = :func:`scalinglaws.surge.steps_to_target` per rate; the optimal rate =
    :func:`scalinglaws.surge.refine_grid_minimum` of ``S`` over the rates (NaN where no rate reaches
    the target or where the smallest rate is best); the peak of the optimal rate over ``log B`` by
    :func:`curve_peak`; and ``(B_noise, S_min)`` from :func:`scalinglaws.surge.fit_steps_examples`
    on the fewest steps ``S_min(B)`` for the batch sizes up to the one with the fewest steps (NaN if
    fewer than two reach the target or the pairs do not follow the law); and the small-batch exponent,
    the least-squares slope of ``log eps`` on ``log B`` over the first four batch sizes that reach
    the target (NaN if fewer reach it).

    Domain: ``mean_losses`` (K, nB, nR, T) with entries > 0 (inf allowed); ``batch_sizes``
    increasing, >= 1, length nB; ``rates`` increasing, > 0, length nR >= 3; ``target`` > 0 and below
    every curve's starting loss ``mean_losses[..., 0]`` (a target reached at step 0 is reached by
    every rate alike: no rate is optimal).
    """
    L = check.real_array("mean_losses", mean_losses, ndim=4, low=0, low_open=True, allow_inf=True,
                         domain="mean losses > 0 (inf allowed)")
    B = check.real_array("batch_sizes", batch_sizes, ndim=1, min_size=2, low=1)
    rates = check.real_array("rates", rates, ndim=1, min_size=3, low=0, low_open=True)
    if L.shape[1:3] != (B.size, rates.size) or L.shape[0] < 1 or L.shape[3] < 1:
        raise ValueError(f"mean_losses must have shape (K, {B.size}, {rates.size}, T) with K, T >= 1, got {L.shape}")
    start = float(L[..., 0].min())
    target = check.real("target", target, low=0, high=start, low_open=True, high_open=True,
                        domain=f"a loss in (0, {start:.6g}), below the smallest starting loss "
                               "min(mean_losses[..., 0]) (a target reached at step 0 has no optimal rate)")
    if np.any(np.diff(rates) <= 0):
        raise ValueError(f"rates must be strictly increasing, got {rates!r}")
    S = surge.steps_to_target(L, target)                       # (K, nB, nR)
    eps = surge.refine_grid_minimum(rates, S)
    best = np.argmin(S, axis=-1)
    reached = np.isfinite(S).any(axis=-1)
    eps = np.where(reached & (best > 0), eps, np.nan)
    upper = reached & (best == rates.size - 1)
    K = L.shape[0]
    peak_B, peak_v, interior = np.full(K, np.nan), np.full(K, np.nan), np.zeros(K, bool)
    rise, fall = np.full(K, np.nan), np.full(K, np.nan)
    for g in range(K):
        if np.isfinite(eps[g]).any():
            peak_B[g], peak_v[g], interior[g] = curve_peak(B, eps[g], half_width)
            first = eps[g][np.isfinite(eps[g])][0]
            rise[g] = peak_v[g] / first
            fall[g] = peak_v[g] / eps[g][-1] if np.isfinite(eps[g][-1]) else np.nan
    S_min = S.min(axis=-1)
    B_noise, S_fit = np.full(K, np.nan), np.full(K, np.nan)
    for g in range(K):
        if not np.isfinite(S_min[g]).any():
            continue
        use = np.isfinite(S_min[g]) & (np.arange(B.size) <= int(np.argmin(S_min[g]))) & (S_min[g] > 0)
        if use.sum() >= 2:
            try:
                B_noise[g], S_fit[g] = surge.fit_steps_examples(S_min[g][use], B[use] * S_min[g][use])
            except ValueError:
                pass
    exponent = np.full(K, np.nan)
    for g in range(K):
        idx = np.nonzero(np.isfinite(eps[g]))[0][:4]
        if idx.size == 4:
            exponent[g] = np.polyfit(np.log(B[idx]), np.log(eps[g][idx]), 1)[0]
    return GridSummary(target, S, eps, upper, peak_B, peak_v, interior, rise, fall, S_min, B_noise, S_fit,
                       exponent)


def log_t_interval(values, level: float = 0.95, axis: int = 0):
    r"""Geometric mean of positive values and the Student-t confidence interval of their log-mean.

    With ``x = log(values)`` over ``k`` independent replicates along ``axis``:
    ``exp(mean(x) +- t_{(1+level)/2, k-1} sd(x) / sqrt(k))``.  NaN entries make that position NaN.

    Domain: ``values`` > 0 or NaN with at least 2 entries along ``axis``; ``level`` in (0, 1).
    Returns ``(centre, low, high)``, arrays of the shape of ``values`` without ``axis``.
    """
    raw = _positive_or_nan("values", values)
    level = check.real("level", level, low=0, high=1, low_open=True, high_open=True)
    axis = check.integer("axis", axis, low=-raw.ndim if raw.ndim else 0, high=max(raw.ndim - 1, 0))
    if raw.ndim == 0 or raw.shape[axis] < 2:
        raise ValueError(f"values must have at least 2 replicates along axis {axis}, got shape {raw.shape}")
    x = np.log(raw)
    k = raw.shape[axis]
    m = x.mean(axis=axis)
    half = stats.t.ppf(0.5 + level / 2, k - 1) * x.std(axis=axis, ddof=1) / math.sqrt(k)
    return np.exp(m), np.exp(m - half), np.exp(m + half)


class BatchRateExperiment(NamedTuple):
    """Everything :func:`run_experiment` measured (see there)."""

    H: np.ndarray
    theta0: np.ndarray
    sigma: float
    batch_sizes: np.ndarray
    targets: np.ndarray
    rates: dict
    summaries: dict             # optimizer -> list of GridSummary, one per target
    replicates: int
    runs: int
    steps: int


def rate_grids(lam_max: float, n_rates: int) -> dict:
    """The rate grids of :func:`run_experiment`, ``n_rates`` log-spaced rates each.

    Sign descent 2e-3 to 0.2 and Adam 3e-3 to 3, whatever the problem; SGD from
    ``min(2e-4, 0.199 / lam_max)`` up to its stability limit ``1.99 / lam_max`` (the limit is
    ``2 / lam_max``), so that its grid spans at least a decade for every curvature.

    Domain: ``lam_max`` (the largest eigenvalue of H) in [1e-300, 1e300]; ``n_rates`` an integer in
    [2, 10000].  Returns ``{"sign": ..., "adam": ..., "sgd": ...}``, increasing arrays.
    """
    lam_max = check.real("lam_max", lam_max, low=1e-300, high=1e300)
    n_rates = check.integer("n_rates", n_rates, low=2, high=10000)
    top = 1.99 / lam_max
    return {"sign": np.geomspace(2e-3, 0.2, n_rates),
            "adam": np.geomspace(3e-3, 3.0, n_rates),
            "sgd": np.geomspace(min(2e-4, 0.1 * top), top, n_rates)}


def run_experiment(seed, n=16, condition=100.0, sigma=10.0, log2_batch_max=12, steps=1500, runs=16,
                   replicates=5, n_rates=29, target_fractions=(1e-2, 3e-3, 1e-3)) -> BatchRateExperiment:
    r"""The chapter's multi-step experiment: sign descent, Adam and SGD on one random quadratic.

    The problem is :func:`random_quadratic` ``(n, condition, seed)`` with per-sample noise ``sigma``;
    batch sizes ``1, 2, 4, ..., 2**log2_batch_max``; for each optimiser the grid of
    :func:`rate_grids` (``n_rates`` log-spaced rates: sign descent 2e-3 to 0.2, Adam (beta1 = 0.9,
    beta2 = 0.999, epsilon = 1e-8) 3e-3 to 3, SGD from 2e-4 (or a decade below its stability limit
    when that is lower) to its stability limit 1.99 / lambda_max);
    :func:`mean_loss_grid` with ``replicates`` groups of ``runs`` runs of ``steps`` steps, the same
    noise for the three optimisers (so that they can be compared group by group); targets
    ``target_fractions`` times the initial loss, each summarised by :func:`summarise_grid`.

    Domain: ``seed`` in [0, 2**63); ``n`` in [2, 4096]; ``condition`` in [1, 1e12]; ``sigma`` in
    (0, 1e150] (Adam squares the noisy gradients);
    ``log2_batch_max`` in [2, 40]; ``steps``, ``runs`` >= 1; ``replicates`` >= 2; ``n_rates`` in
    [5, 10000]; ``target_fractions`` decreasing, in (0, 1), at least 2.  The work (the problem's
    dense algebra and the training runs) is capped by ``scalinglaws.work_limits`` before any of it
    starts (the defaults take about 15-25 s on one core).
    """
    seed = check.seed("seed", seed)
    n = check.integer("n", n, low=2, high=4096)
    condition = check.real("condition", condition, low=1, high=1e12)
    sigma = check.real("sigma", sigma, low=0, high=1e150, low_open=True)
    log2_batch_max = check.integer("log2_batch_max", log2_batch_max, low=2, high=40)
    steps = check.integer("steps", steps, low=1)
    runs = check.integer("runs", runs, low=1)
    replicates = check.integer("replicates", replicates, low=2)
    n_rates = check.integer("n_rates", n_rates, low=5, high=10000)
    fractions = check.real_array("target_fractions", target_fractions, ndim=1, min_size=2, low=0, high=1,
                                 low_open=True, high_open=True)
    if np.any(np.diff(fractions) >= 0):
        raise ValueError(f"target_fractions must be decreasing, got {list(fractions)}")
    batch_sizes = 2.0 ** np.arange(log2_batch_max + 1)
    states = n_rates * runs * replicates
    dense_ops, dense_bytes = _quadratic_cost(n)
    check_ops, check_bytes = _hessian_cost(n)
    check.check_work("surge_training.run_experiment",
                     operations=(dense_ops + 4.0 / 3.0 * n**3 / _FLOPS_PER_OPERATION   # the problem, eigvalsh
                                 + sum(batch_sizes.size * (_operations(states, steps, n, opt) + 1.5e4 * steps)
                                       + check_ops for opt in OPTIMIZERS)),
                     memory_bytes=max(dense_bytes, check_bytes) + 8.0 * (
                         states * (7 * n + steps + 1) + replicates * batch_sizes.size * n_rates * (steps + 1)),
                     sizes=f"3 optimisers * {batch_sizes.size} batch sizes * {n_rates} rates * {runs} runs * "
                           f"{replicates} replicates * {steps} steps, n = {n}")
    H, theta0 = _random_quadratic(n, condition, seed)
    lam_max = float(np.linalg.eigvalsh(H)[-1])
    grids = rate_grids(lam_max, n_rates)
    L0 = 0.5 * float(theta0 @ H @ theta0)
    targets = L0 * fractions
    noise_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1, dtype=np.uint64)[0] >> 1)
    summaries = {}
    for opt in OPTIMIZERS:
        losses = mean_loss_grid(H, sigma, theta0, batch_sizes, grids[opt], steps, runs, replicates,
                                seed=noise_seed, optimizer=opt)
        summaries[opt] = [summarise_grid(losses, batch_sizes, grids[opt], tgt) for tgt in targets]
        del losses
    return BatchRateExperiment(H, theta0, sigma, batch_sizes, targets, grids, summaries, replicates, runs, steps)


class Claim(NamedTuple):
    """A claim about the experiment, the statistic behind it and whether its interval supports it."""

    text: str
    estimate: float
    low: float
    high: float
    holds: bool


def surge_claims(experiment: BatchRateExperiment, level: float = 0.95) -> list:
    r"""The qualitative claims the chapter asserts, each with its confidence interval.

    Every claim is "a ratio exceeds 1", supported when the lower end of the ``level`` Student-t
    interval of its log over the independent groups (:func:`log_t_interval`) exceeds 1.  Ratios of
    two optimisers or two targets are formed group by group (paired: the groups share their noise).
    With targets ``t_0 > t_1 > ...``:

    1. sign descent's optimal rate rises: peak / rate at the smallest batch, every target;
    2. it falls after the peak: peak / rate at the largest batch, every target except ``t_0``;
    3. its peak moves to larger batches from ``t_{-2}`` to ``t_{-1}`` (the two lowest targets);
    4. SGD's optimal rate rises, every target;
    5. Adam's optimal rate rises by more than sign descent's (ratio of the rises), every target
       except ``t_0``;
    6. the steps-examples ``B_noise`` grows between consecutive targets, for each optimiser.

    These are the statements that held on each of ten random instances (random seeds 0 to 9, the
    other arguments of :func:`run_experiment` at their defaults); the ones that did not hold on all of them (sign
    descent's fall at ``t_0``, Adam's fall, Adam's rise against sign descent's at ``t_0``, sign
    descent falling by more than SGD, where the peak sits relative to ``B_noise``) are reported by
    the chapter, not asserted.
    """
    if not isinstance(experiment, BatchRateExperiment):
        raise ValueError(f"experiment must be the BatchRateExperiment that run_experiment returns, got "
                         f"{type(experiment).__name__}")
    level = check.real("level", level, low=0, high=1, low_open=True, high_open=True)
    S = experiment.summaries
    for opt in OPTIMIZERS:
        if opt not in S:
            raise ValueError(f"experiment must hold summaries for {OPTIMIZERS}, got {tuple(S)}")
    out = []

    def claim(text, ratios):
        ratios = np.asarray(ratios, dtype=float)
        if np.any(~np.isfinite(ratios)) or np.any(ratios <= 0):
            out.append(Claim(text, math.nan, math.nan, math.nan, False))
            return
        c, lo, hi = (float(v) for v in log_t_interval(ratios, level))
        out.append(Claim(text, c, lo, hi, lo > 1.0))

    targets = experiment.targets
    name = [f"L={t:.3g}" for t in targets]
    for i, s in enumerate(S["sign"]):
        claim(f"sign descent rises, {name[i]}", s.rise)
    for i, s in enumerate(S["sign"][1:], start=1):
        claim(f"sign descent falls after its peak, {name[i]}", s.fall)
    claim(f"sign descent's peak moves right, {name[-2]} to {name[-1]}",
          S["sign"][-1].peak_batch / S["sign"][-2].peak_batch)
    for i, s in enumerate(S["sgd"]):
        claim(f"SGD rises, {name[i]}", s.rise)
    for i in range(1, len(targets)):
        claim(f"Adam rises more than sign descent, {name[i]}", S["adam"][i].rise / S["sign"][i].rise)
    for opt, label in (("sign", "sign descent"), ("adam", "Adam"), ("sgd", "SGD")):
        for i in range(1, len(targets)):
            claim(f"{label}: S-E B_noise grows, {name[i - 1]} to {name[i]}",
                  S[opt][i].B_noise / S[opt][i - 1].B_noise)
    return out


class OneStepExample(NamedTuple):
    """A quadratic for the one-step checks: Hessian, gradient mu = H theta, noise, and the point."""

    H: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    theta: np.ndarray


def one_step_examples(seed, n_coupled=64, rho=0.5, n_train=16, condition=100.0, sigma_train=10.0,
                      B_noise_coupled=64.0, B_noise_rotated=30.0) -> dict:
    r"""The chapter's three one-step examples A (coupled), B (rotated), C (diagonal).

    - A: ``H = (1 - rho) I + rho 1 1^T`` (dimension ``n_coupled``), ``mu = 0.1 + 0.3 |N(0, 1)|`` per
      coordinate (from ``default_rng([seed, 2])``), equal ``sigma`` set so that :func:`scalinglaws.surge.surge_parameters`
      gives ``B_noise = B_noise_coupled``;
    - B: the training Hessian :func:`random_quadratic` ``(n_train, condition, seed)``, at the point
      ``theta0`` scaled so that ``B_noise = B_noise_rotated`` with noise ``sigma_train``;
    - C: ``diag(lambda)`` with the same eigenvalues and the same point (no cross terms).

    Domain: ``seed`` in [0, 2**63); ``n_coupled``, ``n_train`` in [2, 4096]; ``rho`` in (0, 1);
    ``condition`` in (1, 1e12] (at 1 the Hessian is the identity, which couples no coordinates: no
    surge); ``sigma_train``, ``B_noise_coupled``, ``B_noise_rotated`` > 0 (finite), with a noise and
    a start that fit in a double (a ValueError otherwise).  The dense work (about
    ``5 n_train^3 + n_coupled^3`` flops) is capped by ``scalinglaws.work_limits``.
    """
    seed = check.seed("seed", seed)
    n_coupled = check.integer("n_coupled", n_coupled, low=2, high=4096)
    rho = check.real("rho", rho, low=0, high=1, low_open=True, high_open=True)
    n_train = check.integer("n_train", n_train, low=2, high=4096)
    condition = check.real("condition", condition, low=1, high=1e12, low_open=True,
                           domain="a real number in (1, 1e12] (condition = 1 gives H = I, which has no surge)")
    sigma_train = check.real("sigma_train", sigma_train, low=0, low_open=True)
    Bc = check.real("B_noise_coupled", B_noise_coupled, low=0, low_open=True)
    Br = check.real("B_noise_rotated", B_noise_rotated, low=0, low_open=True)
    train_ops, train_bytes = _quadratic_cost(n_train)
    train_check_ops, _ = _hessian_cost(n_train)
    coupled_ops, coupled_bytes = _hessian_cost(n_coupled)
    check.check_work("surge_training.one_step_examples",
                     operations=(train_ops + train_check_ops + coupled_ops
                                 + 2.0 / 3.0 * n_coupled**3 / _FLOPS_PER_OPERATION),   # the solve for theta_A
                     memory_bytes=max(train_bytes, coupled_bytes),
                     sizes=f"n_train = {n_train}, n_coupled = {n_coupled}")
    H, theta0 = _random_quadratic(n_train, condition, seed)
    lam = np.geomspace(1.0, condition, n_train)
    rng = np.random.default_rng([seed, 2])
    H_A = (1 - rho) * np.eye(n_coupled) + rho * np.ones((n_coupled, n_coupled))
    mu_A = 0.1 + 0.3 * np.abs(rng.standard_normal(n_coupled))
    Bn_A = surge.surge_parameters(mu_A, 1.0, H_A).B_noise
    ratio = Bc / Bn_A
    # B_noise scales like sigma^2 (the square roots apart only where the ratio itself overflows)
    sig_A = math.sqrt(ratio) if 0 < ratio < math.inf else math.sqrt(Bc) / math.sqrt(Bn_A)
    if not 0 < sig_A < math.inf:
        raise check.not_representable(f"the noise of example A for B_noise_coupled = {Bc:g}",
                                      "its sigma scales like sqrt(B_noise_coupled)")
    try:
        Bn = surge.surge_parameters(H @ theta0, sigma_train, H).B_noise
    except ValueError as exc:   # B_noise ~ sigma_train^2 beyond the doubles
        raise ValueError(f"sigma_train = {sigma_train:g} puts B_noise of the training quadratic outside double "
                         f"precision ({exc}); B_noise scales like sigma_train^2") from None
    if not math.isfinite(Bn):
        raise ValueError("the training quadratic has no surge at its start (B_noise = inf: the cross terms "
                         "sum_{i != j} H_ij r_i r_j are not positive there); choose another seed")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        th = theta0 * math.sqrt(Bn / Br)
        mu_th = H @ th
        mu_C = lam * th
    if not (np.all(np.isfinite(mu_th)) and np.all(np.isfinite(mu_C)) and np.any(th != 0)):
        raise check.not_representable(
            f"the start of example B for sigma_train = {sigma_train:g} and B_noise_rotated = {Br:g}",
            "it scales like sigma_train / sqrt(B_noise_rotated)")
    sig = np.full(n_train, sigma_train)
    return {"A (coupled)": OneStepExample(H_A, mu_A, np.full(n_coupled, sig_A), np.linalg.solve(H_A, mu_A)),
            "B (rotated)": OneStepExample(H, mu_th, sig, th),
            "C (diagonal)": OneStepExample(np.diag(lam), mu_C, sig, th)}
