r"""Sign descent (Adam with beta1, beta2 -> 0) on a local quadratic: the surge of the optimal rate.

Setting (Li et al. 2024, arXiv 2405.14578).  At the current point the loss is the quadratic

.. math::  L(\theta - \epsilon V) = L(\theta) - \epsilon\, G^\top V + \tfrac12 \epsilon^2 V^\top H V ,

with gradient ``G = mu`` and symmetric positive definite Hessian ``H``.  Per-sample gradients have
independent coordinates ``g_i ~ N(mu_i, sigma_i^2)``, so the mean of ``B`` of them has coordinates
``N(mu_i, sigma_i^2 / B)``.  Sign descent uses ``V = sign(batch mean)``, hence

.. math::  E[V_i] = \operatorname{erf}\!\big(\sqrt{B/2}\,\mu_i/\sigma_i\big), \qquad
           \operatorname{Var}[V_i] = 1 - E[V_i]^2 ,

the ``V_i`` are independent, and ``E[V^T H V] = tr H + sum_{i != j} H_ij E[V_i] E[V_j]``.  The
expected decrease ``eps G.E[V] - eps^2 E[V^T H V] / 2`` is maximised by

.. math::  \epsilon_{opt}(B) = \frac{G^\top E[V]}{\operatorname{tr}(H \operatorname{cov} V)
           + E[V]^\top H E[V]} = \frac{\sum_i \mu_i E_i}{\operatorname{tr} H
           + \sum_{i \ne j} H_{ij} E_i E_j} .

Replacing ``erf`` by its first-order form ``erf(z) ~ 2 z / sqrt(pi)`` (the small-batch regime
``B << pi sigma_i^2 / (2 mu_i^2)``, where the paper's "sigmoid" approximation
``erf(z) ~ z / sqrt(pi/4 + z^2)`` reduces to the same thing) gives exactly

.. math::  \epsilon_{opt}(B) = \frac{a\sqrt{B}}{c + d B}
           = \frac{\epsilon_{max}}{\tfrac12\left(\sqrt{B_{noise}/B} + \sqrt{B/B_{noise}}\right)},

with ``a = sqrt(2/pi) sum_i mu_i^2/sigma_i``, ``c = tr H``,
``d = (2/pi) sum_{i != j} H_ij mu_i mu_j / (sigma_i sigma_j)``, ``B_noise = c/d`` and
``eps_max = a / (2 sqrt(c d))``; the best one-step decrease is then
``Delta L_max / (1 + B_noise / B)`` with ``Delta L_max = a^2 / (2 d)``.  As ``B -> infinity``
the exact rate tends to ``sum_i |mu_i| / (s^T H s)`` with ``s = sign(mu)``.

Reference: S. Li et al., "Surge Phenomenon in Optimal Learning Rate and Batch Size Scaling",
arXiv:2405.14578 (2024), Lemma 1 and Theorems 2-4 (the constants above are derived in the
chapter book/surge.ipynb).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import erf

from ._validation import as_float_array, as_int

__all__ = [
    "sigmoid_erf",
    "sign_descent_expected_update",
    "optimal_rate",
    "expected_decrease",
    "optimal_decrease",
    "approximate_optimal_rate",
    "SurgeParameters",
    "surge_parameters",
    "one_step_monte_carlo",
    "OneStepMonteCarlo",
    "simulate_noisy_quadratic",
    "steps_to_target",
    "refine_grid_minimum",
    "fit_surge_curve",
    "fit_steps_examples",
]

_ERF_FORMS = ("exact", "sigmoid", "linear")


# --------------------------------------------------------------------------- argument checks
def _check_mu_sigma(mu, sigma) -> tuple[np.ndarray, np.ndarray]:
    mu = as_float_array("mu", mu)
    sigma = as_float_array("sigma", sigma)
    if mu.ndim != 1 or mu.size == 0:
        raise ValueError(f"mu must be a non-empty 1-D array (one entry per coordinate), got shape {mu.shape}")
    if sigma.ndim == 0:
        sigma = np.full(mu.shape, float(sigma))
    if sigma.shape != mu.shape:
        raise ValueError(f"sigma must be a scalar or have the shape of mu {mu.shape}, got shape {sigma.shape}")
    if np.any(sigma <= 0):
        raise ValueError(f"sigma must be > 0 in every coordinate, got min {float(sigma.min())!r}")
    return mu, sigma


def _check_hessian(H, n: int) -> np.ndarray:
    H = as_float_array("H", H)
    if H.shape != (n, n):
        raise ValueError(f"H must be a square matrix of shape ({n}, {n}), got shape {H.shape}")
    scale = max(float(np.max(np.abs(H))), np.finfo(float).tiny)
    if not np.allclose(H, H.T, rtol=0.0, atol=1e-12 * scale):
        raise ValueError("H must be symmetric, got max |H - H^T| = "
                         f"{float(np.max(np.abs(H - H.T))):.3g}")
    H = 0.5 * (H + H.T)
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise ValueError("H must be positive definite, got smallest eigenvalue "
                         f"{float(np.linalg.eigvalsh(H)[0]):.6g}") from None
    return H


def _check_batch(batch_size) -> np.ndarray:
    B = as_float_array("batch_size", batch_size)
    if np.any(B < 1):
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    return B


def _check_erf_form(erf_form: str) -> str:
    if erf_form not in _ERF_FORMS:
        raise ValueError(f"erf_form must be one of {_ERF_FORMS}, got {erf_form!r}")
    return erf_form


# --------------------------------------------------------------------------- one-step theory
def sigmoid_erf(z):
    r"""The "sigmoid-like" approximation ``erf(z) ~ z / sqrt(pi/4 + z^2)`` of Li et al. (2024).

    Odd, increasing, tends to +-1 at +-infinity and has slope ``2/sqrt(pi) = erf'(0)`` at 0, so
    it matches erf to first order at 0 and at infinity.  Domain: any real ``z``.
    """
    z = as_float_array("z", z)
    return z / np.sqrt(0.25 * math.pi + z * z)


def _mean_sign(mu: np.ndarray, sigma: np.ndarray, B: np.ndarray, erf_form: str) -> np.ndarray:
    z = np.sqrt(B / 2.0)[..., None] * (mu / sigma)
    if erf_form == "exact":
        return erf(z)
    if erf_form == "sigmoid":
        return z / np.sqrt(0.25 * math.pi + z * z)
    return (2.0 / math.sqrt(math.pi)) * z  # "linear": may exceed 1; only a model of small B


def sign_descent_expected_update(mu, sigma, batch_size):
    r"""Mean ``E[sign(g_B)]`` of the sign of a mini-batch gradient, coordinate by coordinate.

    ``g_B`` is the mean of ``B`` independent per-sample gradients whose coordinate i is
    ``N(mu_i, sigma_i^2)``, so ``g_B,i ~ N(mu_i, sigma_i^2/B)`` and

    .. math::  E[\operatorname{sign} g_{B,i}] = \operatorname{erf}(\sqrt{B/2}\,\mu_i/\sigma_i),

    with variance ``1 - E^2`` (``sign^2 = 1`` almost surely).

    Parameters
    ----------
    mu : array (n,)        per-sample gradient means (the true gradient G).
    sigma : scalar or (n,) per-sample gradient standard deviations, > 0.
    batch_size : real >= 1, scalar or array of any shape (real values allowed for curves).

    Returns
    -------
    array of shape ``batch_size.shape + (n,)`` with entries in (-1, 1).
    """
    mu, sigma = _check_mu_sigma(mu, sigma)
    B = _check_batch(batch_size)
    return _mean_sign(mu, sigma, B, "exact")


def _moments(mu, sigma, H, batch_size, erf_form):
    mu, sigma = _check_mu_sigma(mu, sigma)
    H = _check_hessian(H, mu.size)
    B = _check_batch(batch_size)
    _check_erf_form(erf_form)
    E = _mean_sign(mu, sigma, B, erf_form)
    first = E @ mu                                             # G . E[V]
    diag = np.diag(H)
    # E[V^T H V] = tr H + sum_{i != j} H_ij E_i E_j   (E[V_i^2] = 1, independent coordinates)
    second = np.trace(H) + np.einsum("...i,ij,...j->...", E, H, E) - (E * E) @ diag
    return first, second


def optimal_rate(mu, sigma, H, batch_size, erf_form: str = "exact"):
    r"""The rate that maximises the expected one-step decrease of sign descent (Li et al., Thm 2).

    .. math::  \epsilon_{opt}(B) = \frac{\sum_i \mu_i E_i}{\operatorname{tr} H
               + \sum_{i\ne j} H_{ij} E_i E_j}, \qquad E_i = \operatorname{erf}(\sqrt{B/2}\,\mu_i/\sigma_i),

    i.e. ``G.E[V] / (tr(H cov V) + E[V]^T H E[V])``.  ``erf_form`` selects how ``E_i`` is computed:
    ``"exact"`` (erf), ``"sigmoid"`` (``z / sqrt(pi/4 + z^2)``) or ``"linear"`` (``2z/sqrt(pi)``,
    which gives exactly :func:`approximate_optimal_rate` with :func:`surge_parameters`).

    Domain: ``mu`` (n,); ``sigma`` > 0 (scalar or (n,)); ``H`` symmetric positive definite (n, n);
    ``batch_size`` >= 1 (any shape).  Returns an array of the shape of ``batch_size``.  A coordinate
    with ``mu_i = 0`` contributes pure noise (``E_i = 0``), which only enlarges the denominator.
    """
    first, second = _moments(mu, sigma, H, batch_size, erf_form)
    return first / second


def expected_decrease(mu, sigma, H, batch_size, rate, erf_form: str = "exact"):
    r"""Exact expected one-step decrease ``L(theta) - E[L(theta - eps V)]`` of sign descent.

    .. math::  \Delta L(\epsilon) = \epsilon\, G^\top E[V] - \tfrac12 \epsilon^2
               \big(\operatorname{tr} H + \textstyle\sum_{i\ne j} H_{ij} E_i E_j\big).

    ``batch_size`` and ``rate`` broadcast against each other.  Domain as :func:`optimal_rate`;
    ``rate`` any real.
    """
    rate = as_float_array("rate", rate)
    first, second = _moments(mu, sigma, H, batch_size, erf_form)
    return rate * first - 0.5 * rate * rate * second


def optimal_decrease(mu, sigma, H, batch_size, erf_form: str = "exact"):
    r"""The best expected one-step decrease ``(G.E[V])^2 / (2 E[V^T H V])`` over the rate.

    In the linear (small-batch) form it equals ``Delta L_max / (1 + B_noise / B)`` exactly, the same
    law as for SGD (McCandlish et al. 2018) although the rate itself follows the surge curve.
    """
    first, second = _moments(mu, sigma, H, batch_size, erf_form)
    return 0.5 * first * first / second


def approximate_optimal_rate(batch_size, B_noise, eps_max):
    r"""The surge curve ``eps_max / ((1/2)(sqrt(B_noise/B) + sqrt(B/B_noise)))`` (Li et al., Thm 3).

    Written in the overflow-free form ``2 eps_max sqrt(B B_noise) / (B + B_noise)``.  It rises
    like ``sqrt(B)``, peaks at ``B = B_noise`` with value ``eps_max``, and falls like ``1/sqrt(B)``.

    Domain: ``batch_size`` >= 1; ``B_noise`` > 0 and ``eps_max`` > 0, both finite (when
    :func:`surge_parameters` returns ``inf`` there is no peak and this curve does not apply).
    Broadcasts.
    """
    B = _check_batch(batch_size)
    B_noise = as_float_array("B_noise", B_noise)
    eps_max = as_float_array("eps_max", eps_max)
    if np.any(B_noise <= 0):
        raise ValueError(f"B_noise must be > 0, got {B_noise!r}")
    if np.any(eps_max <= 0):
        raise ValueError(f"eps_max must be > 0, got {eps_max!r}")
    return 2.0 * eps_max * np.sqrt(B * B_noise) / (B + B_noise)


class SurgeParameters(NamedTuple):
    """Constants of the small-batch (linearised-erf) theorem and the large-batch limit."""

    B_noise: float         # c / d: where the small-batch surge curve peaks
    eps_max: float         # a / (2 sqrt(c d)): the peak rate
    delta_L_max: float     # a^2 / (2 d): the best one-step decrease as B -> infinity (linear model)
    eps_large_batch: float  # lim_{B->inf} of the exact optimal rate: sum|mu| / (s^T H s)


def surge_parameters(mu, sigma, H) -> SurgeParameters:
    r"""``B_noise``, ``eps_max`` and ``Delta L_max`` of the small-batch theorem, and the large-B limit.

    With ``r_i = mu_i / sigma_i``:

    .. math::  a = \sqrt{2/\pi}\sum_i \mu_i r_i,\quad c = \operatorname{tr} H,\quad
               d = \tfrac{2}{\pi}\sum_{i\ne j} H_{ij} r_i r_j,

    ``B_noise = c/d``, ``eps_max = a/(2 sqrt(c d))``, ``Delta L_max = a^2/(2d)``.  These are exact
    for the linearised mean sign ``E_i = sqrt(2B/pi) r_i``; they describe the exact (erf) rate when
    ``B_noise`` lies well inside the small-batch regime ``B << pi / (2 r_i^2)``, which needs the
    cross terms to dominate: ``sum_{i!=j} H_ij r_i r_j >> tr H * max r_i^2``.  If ``d <= 0`` (e.g. a
    diagonal H) the linearised rate has no interior maximum and ``B_noise``, ``eps_max``,
    ``delta_L_max`` are returned as ``inf``.  ``eps_large_batch = sum_i |mu_i| / (tr H +
    sum_{i != j} H_ij s_i s_j)`` with ``s = sign(mu)``.
    """
    mu, sigma = _check_mu_sigma(mu, sigma)
    H = _check_hessian(H, mu.size)
    r = mu / sigma
    diag = np.diag(H)
    a = math.sqrt(2.0 / math.pi) * float(mu @ r)
    c = float(np.trace(H))
    d = (2.0 / math.pi) * float(r @ H @ r - (r * r) @ diag)
    if d > 0:
        B_noise, eps_max, dl_max = c / d, a / (2.0 * math.sqrt(c * d)), a * a / (2.0 * d)
    else:
        B_noise = eps_max = dl_max = math.inf
    s = np.sign(mu)
    eps_inf = float(np.abs(mu).sum() / (c + s @ H @ s - (s * s) @ diag))
    return SurgeParameters(B_noise, eps_max, dl_max, eps_inf)


# --------------------------------------------------------------------------- simulation
class OneStepMonteCarlo(NamedTuple):
    """Monte Carlo of one sign-descent step on a grid of rates (see :func:`one_step_monte_carlo`)."""

    rates: np.ndarray           # (k,) the grid
    mean_decrease: np.ndarray   # (k,) mean of L(theta) - L(theta - eps V)
    se_decrease: np.ndarray     # (k,) its standard error
    best_rate: float            # grid argmax of mean_decrease
    ratio_estimate: float       # mean(G.V) / mean(V^T H V): the continuous argmax of the same curve
    ratio_se: float             # delta-method standard error of ratio_estimate


def one_step_monte_carlo(theta, H, sigma, batch_size, rates, samples, seed=0, chunk=20000):
    r"""Monte Carlo of one sign-descent step on ``L(theta) = theta^T H theta / 2``, grid over the rate.

    Each sample draws ``B`` per-sample gradients through their exact mean
    ``g_B = H theta + sigma * z / sqrt(B)`` (``z`` standard normal), takes ``V = sign(g_B)`` and computes
    the loss change ``L(theta) - L(theta - eps V) = eps G.V - eps^2 V^T H V / 2`` (exact for a quadratic,
    no Taylor remainder) for every rate of the grid, with the same ``V`` (common random numbers).
    Returns the mean decrease and its standard error per rate (from the sample moments of
    ``x = G.V`` and ``y = V^T H V``), the grid argmax, and the ratio estimate ``mean(x)/mean(y)``
    (the continuous argmax of the same Monte Carlo curve) with its delta-method standard error.

    Domain: ``theta`` (n,); ``H`` symmetric positive definite; ``sigma`` > 0; ``batch_size`` >= 1;
    ``rates`` 1-D; ``samples`` >= 2.  Random numbers from ``numpy.random.default_rng(seed)``.
    """
    theta = as_float_array("theta", theta)
    if theta.ndim != 1 or theta.size == 0:
        raise ValueError(f"theta must be a non-empty 1-D array, got shape {theta.shape}")
    H = _check_hessian(H, theta.size)
    _, sigma = _check_mu_sigma(theta, sigma)
    B = float(_check_batch(batch_size))
    rates = as_float_array("rates", rates)
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError(f"rates must be a non-empty 1-D array, got shape {rates.shape}")
    samples = as_int("samples", samples, minimum=2)
    chunk = as_int("chunk", chunk, minimum=1)
    rng = np.random.default_rng(seed)
    G = H @ theta
    mom = np.zeros(5)  # sums of x, y, x^2, y^2, xy with x = G.V, y = V^T H V
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        V = np.sign(G + sigma * rng.standard_normal((m, theta.size)) / math.sqrt(B))
        x = V @ G
        y = ((V @ H) * V).sum(axis=1)
        mom += [x.sum(), y.sum(), x @ x, y @ y, x @ y]
        done += m
    n = float(samples)
    mx, my = mom[0] / n, mom[1] / n
    c = n / (n - 1.0)  # unbiased (co)variances
    vx, vy, cxy = c * (mom[2] / n - mx * mx), c * (mom[3] / n - my * my), c * (mom[4] / n - mx * my)
    # per sample the decrease is eps x - eps^2 y / 2 (exact for a quadratic): its sample mean and the
    # standard error of that mean follow from the moments of (x, y) without storing samples x rates
    mean = rates * mx - 0.5 * rates**2 * my
    var = rates**2 * vx - rates**3 * cxy + 0.25 * rates**4 * vy
    ratio = mx / my
    ratio_var = (vx - 2 * ratio * cxy + ratio * ratio * vy) / (my * my * n)  # delta method
    return OneStepMonteCarlo(rates, mean, np.sqrt(np.maximum(var, 0.0) / n),
                             float(rates[int(np.argmax(mean))]), float(ratio),
                             float(math.sqrt(max(ratio_var, 0.0))))


def simulate_noisy_quadratic(H, sigma, theta0, rates, batch_size, steps, runs, seed=0,
                             optimizer: str = "sign", record_every: int = 1,
                             common_noise: bool = True):
    r"""Train ``L(theta) = theta^T H theta / 2`` with noisy mini-batch gradients, many runs and rates at once.

    Per-sample gradients are ``H theta + xi`` with independent ``xi_i ~ N(0, sigma_i^2)``; the mean of
    ``B`` of them is drawn exactly as ``H theta + sigma z / sqrt(B)`` (one normal per coordinate,
    whatever B).  Updates: ``optimizer="sign"``: ``theta <- theta - eps sign(g_B)`` (Adam with
    beta1 = beta2 = 0 and no epsilon); ``optimizer="sgd"``: ``theta <- theta - eps g_B``.

    Vectorised over the grid of ``rates`` and over ``runs`` (state of shape (rates, runs, n)).  With
    ``common_noise=True`` (default) run r uses the same noise sequence at every rate (common random
    numbers: each rate's runs are still independent of each other and exactly distributed, but the
    comparison between rates is much less noisy); ``False`` draws independent noise per rate.

    Parameters
    ----------
    H : (n, n) symmetric positive definite.   sigma : scalar or (n,), > 0.   theta0 : (n,) start.
    rates : 1-D array of learning rates > 0.   batch_size : real >= 1.
    steps : int >= 0.   runs : int >= 1.   seed : seed of ``numpy.random.default_rng``.
    record_every : int >= 1; the loss is recorded at steps 0, record_every, 2 record_every, ...

    Returns
    -------
    losses : array (len(rates), runs, steps // record_every + 1) of exact losses ``theta^T H theta/2``.
    """
    theta0 = as_float_array("theta0", theta0)
    if theta0.ndim != 1 or theta0.size == 0:
        raise ValueError(f"theta0 must be a non-empty 1-D array, got shape {theta0.shape}")
    n = theta0.size
    H = _check_hessian(H, n)
    _, sigma = _check_mu_sigma(theta0, sigma)
    rates = as_float_array("rates", rates)
    if rates.ndim != 1 or rates.size == 0 or np.any(rates <= 0):
        raise ValueError(f"rates must be a non-empty 1-D array of values > 0, got {rates!r}")
    B = float(_check_batch(batch_size))
    steps = as_int("steps", steps, minimum=0)
    runs = as_int("runs", runs, minimum=1)
    record_every = as_int("record_every", record_every, minimum=1)
    if optimizer not in ("sign", "sgd"):
        raise ValueError(f"optimizer must be 'sign' or 'sgd', got {optimizer!r}")
    rng = np.random.default_rng(seed)
    theta = np.broadcast_to(theta0, (rates.size, runs, n)).copy()
    eps = rates[:, None, None]
    scale = sigma / math.sqrt(B)
    out = np.empty((rates.size, runs, steps // record_every + 1))
    noise = np.empty((runs, n) if common_noise else theta.shape)

    def loss(th):
        return 0.5 * np.einsum("kri,ij,krj->kr", th, H, th, optimize=True)

    out[..., 0] = loss(theta)
    for t in range(1, steps + 1):
        rng.standard_normal(out=noise)
        g = theta @ H
        noise *= scale
        g += noise  # broadcasts over rates when the noise is common
        if optimizer == "sign":
            np.sign(g, out=g)
        g *= eps
        theta -= g
        if t % record_every == 0:
            out[..., t // record_every] = loss(theta)
    return out


# --------------------------------------------------------------------------- analysis of grid runs
def steps_to_target(losses, target):
    r"""First (fractional) step at which a loss curve reaches ``target``; ``inf`` if it never does.

    ``losses[..., t]`` is the (mean) loss after t steps.  If ``t`` is the first index with
    ``losses[t] <= target`` (t >= 1), the crossing is interpolated linearly in ``log loss`` between
    steps ``t-1`` and ``t``:  ``S = t - 1 + (log L_{t-1} - log target) / (log L_{t-1} - log L_t)``.
    Returns 0 if ``losses[..., 0] <= target``.  Domain: losses > 0 with at least one step; target > 0.
    """
    L = as_float_array("losses", losses)
    if L.ndim < 1 or L.shape[-1] < 1:
        raise ValueError(f"losses must have at least one entry along its last axis, got shape {L.shape}")
    if np.any(L <= 0):
        raise ValueError("losses must be > 0")
    target = float(as_float_array("target", target))
    if target <= 0:
        raise ValueError(f"target must be > 0, got {target!r}")
    hit = L <= target
    reached = hit.any(axis=-1)
    first = np.argmax(hit, axis=-1)
    prev = np.maximum(first - 1, 0)
    a = np.log(np.take_along_axis(L, prev[..., None], axis=-1)[..., 0])
    b = np.log(np.take_along_axis(L, first[..., None], axis=-1)[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(a > b, (a - math.log(target)) / (a - b), 1.0)
    S = np.where(first == 0, 0.0, prev + frac)
    return np.where(reached, S, np.inf)


def refine_grid_minimum(rates, values):
    r"""Minimiser of ``values`` over a log-spaced ``rates`` grid, refined by a parabola in log-log.

    Takes the discrete argmin ``k`` of ``values`` (last axis) and, when ``0 < k < len - 1`` and the
    three neighbours are finite, returns the vertex of the parabola through
    ``(log rate, log value)`` at ``k-1, k, k+1`` (clipped to that bracket); at an edge returns the
    edge rate; if every value is infinite returns ``nan``.  Works on arrays of curves (last axis).
    """
    rates = as_float_array("rates", rates)
    if rates.ndim != 1 or rates.size < 3 or np.any(rates <= 0) or np.any(np.diff(rates) <= 0):
        raise ValueError(f"rates must be an increasing 1-D array of >= 3 positive values, got {rates!r}")
    values = np.asarray(values, dtype=float)
    if values.shape[-1] != rates.size:
        raise ValueError(f"values must have {rates.size} entries on its last axis, got shape {values.shape}")
    flat = values.reshape(-1, rates.size)
    out = np.full(flat.shape[0], np.nan)
    x = np.log(rates)
    for i, v in enumerate(flat):
        if not np.isfinite(v).any():
            continue
        k = int(np.argmin(np.where(np.isfinite(v), v, np.inf)))
        if 0 < k < rates.size - 1 and np.all(np.isfinite(v[k - 1:k + 2])) and np.all(v[k - 1:k + 2] > 0):
            y = np.log(v[k - 1:k + 2])
            c2, c1, _ = np.polyfit(x[k - 1:k + 2], y, 2)
            vertex = -c1 / (2 * c2) if c2 > 0 else x[k]
            out[i] = math.exp(min(max(vertex, x[k - 1]), x[k + 1]))
        else:
            out[i] = rates[k]
    return out.reshape(values.shape[:-1])


def fit_surge_curve(batch_sizes, rates):
    r"""Least-squares fit of the surge curve to measured optimal rates, in log space.

    Minimises ``sum (log eps_k - log approximate_optimal_rate(B_k, B_noise, eps_max))^2`` over
    ``(log B_noise, log eps_max)`` (scipy ``least_squares``, started at the empirical peak).
    Points with non-finite rates are dropped; needs at least 3.  Returns ``(B_noise, eps_max)``.
    """
    from scipy.optimize import least_squares

    B = _check_batch(batch_sizes).ravel()
    eps = np.asarray(rates, dtype=float).ravel()
    if eps.shape != B.shape:
        raise ValueError(f"rates must have the shape of batch_sizes {B.shape}, got {eps.shape}")
    ok = np.isfinite(eps) & (eps > 0)
    if ok.sum() < 3:
        raise ValueError(f"need at least 3 finite positive rates to fit, got {int(ok.sum())}")
    B, eps = B[ok], eps[ok]
    k = int(np.argmax(eps))

    def resid(p):
        bn, em = math.exp(p[0]), math.exp(p[1])
        return np.log(eps) - np.log(2.0 * em * np.sqrt(B * bn) / (B + bn))

    sol = least_squares(resid, x0=[math.log(B[k]), math.log(eps[k])], method="lm")
    return float(math.exp(sol.x[0])), float(math.exp(sol.x[1]))


def fit_steps_examples(steps, examples):
    r"""Estimate ``B_noise`` and ``S_min`` from (S, E) pairs at equal loss (McCandlish et al. 2018).

    ``S = S_min (1 + B_noise / B)`` with ``E = B S`` is the straight line
    ``1/S = -B_noise (1/E) + 1/S_min``; an ordinary least-squares fit of ``1/S`` on ``1/E`` gives
    slope ``-B_noise`` and intercept ``1/S_min``.  Non-finite pairs are dropped; needs >= 2.
    Returns ``(B_noise, S_min)``.
    """
    S = np.asarray(steps, dtype=float).ravel()
    E = np.asarray(examples, dtype=float).ravel()
    if S.shape != E.shape:
        raise ValueError(f"steps and examples must have the same shape, got {S.shape} and {E.shape}")
    ok = np.isfinite(S) & np.isfinite(E) & (S > 0) & (E > 0)
    if ok.sum() < 2:
        raise ValueError(f"need at least 2 finite positive (S, E) pairs, got {int(ok.sum())}")
    slope, intercept = np.polyfit(1.0 / E[ok], 1.0 / S[ok], 1)
    return float(-slope), float(1.0 / intercept)
