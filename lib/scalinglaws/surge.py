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

Numerics.  Every function is evaluated over its whole domain without intermediate overflow:
``mu``, ``sigma`` and ``H`` are scaled by powers of two (exact) before the sums are formed and the
scale is restored at the end; a result whose true value lies outside the range of a double raises
``ValueError`` (``not representable``) instead of returning ``inf`` or ``0``.

Reference: S. Li et al., "Surge Phenomenon in Optimal Learning Rate and Batch Size Scaling",
arXiv:2405.14578 (2024), Lemma 1 and Theorems 2-4 (the constants above are derived in the
chapter book/surge.ipynb).  Adam: D. P. Kingma and J. Ba, arXiv:1412.6980 (2014), Algorithm 1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import erf, erfc

from . import _validation as check

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
_OPTIMIZERS = ("sign", "sgd", "adam")
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)  # the sigmoid form is z / sqrt(c^2 + z^2) with this c


# --------------------------------------------------------------------------- scaling helpers
def _pow2_exponent(x: np.ndarray) -> int:
    """The exponent e with max|x| / 2**e in [0.5, 1) (0 for an all-zero array)."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return int(np.frexp(m)[1]) if m > 0 else 0


def _scaled(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(x / 2**e, e)``: an exact rescaling that puts max|x| in [0.5, 1)."""
    e = _pow2_exponent(x)
    return np.ldexp(x, -e), e


def _times_pow2(mantissa, exponent, what: str) -> np.ndarray:
    """``mantissa * 2**exponent`` (exponent real), refusing a nonzero result outside the doubles."""
    mantissa = np.asarray(mantissa, dtype=float)
    exponent = np.asarray(exponent, dtype=float)
    m, e_m = np.frexp(mantissa)                       # |m| in [0.5, 1): no overflow below
    total = exponent + e_m
    k = np.floor(total)
    with np.errstate(over="ignore", under="ignore"):
        value = np.ldexp(m * np.exp2(total - k), k.astype(int))
    lost = (mantissa != 0) & (~np.isfinite(value) | (value == 0))
    if np.any(lost):
        log2 = np.log2(np.abs(np.where(lost, mantissa, 1.0))) + np.where(lost, exponent, 0.0)
        worst = float(log2.flat[int(np.argmax(np.abs(np.where(lost, log2, 0.0))))])
        raise check.not_representable(what, f"its magnitude is about 2**{worst:.0f}")
    return value


# --------------------------------------------------------------------------- argument checks
def _check_mu_sigma(mu, sigma, mu_name: str = "mu") -> tuple[np.ndarray, np.ndarray]:
    mu = check.real_array(mu_name, mu, ndim=1, min_size=1)
    sigma = check.real_array("sigma", sigma, low=0, low_open=True,
                             domain="real numbers > 0 (a scalar or one per coordinate)")
    if sigma.ndim == 0:
        sigma = np.full(mu.shape, float(sigma))
    if sigma.shape != mu.shape:
        raise ValueError(f"sigma must be a scalar or have the shape of {mu_name} {mu.shape}, "
                         f"got shape {sigma.shape}")
    return mu, sigma


def _check_hessian(H, n: int, vector: str = "mu") -> np.ndarray:
    H = check.real_array("H", H, domain=f"reals forming a symmetric positive definite ({n}, {n}) matrix")
    if H.shape != (n, n):
        raise ValueError(f"H must have shape ({n}, {n}) to match {vector} ({n} entries), got H of shape {H.shape}; "
                         f"H and {vector} must describe the same number of coordinates")
    Hs, _ = _scaled(H)
    if not np.allclose(Hs, Hs.T, rtol=0.0, atol=1e-12):
        raise ValueError("H must be symmetric, got max |H - H^T| / max |H| = "
                         f"{float(np.max(np.abs(Hs - Hs.T))) / max(float(np.max(np.abs(Hs))), 1e-300):.3g}")
    Hs = 0.5 * Hs + 0.5 * Hs.T
    try:
        np.linalg.cholesky(Hs)
    except np.linalg.LinAlgError:
        raise ValueError("H must be positive definite, got smallest eigenvalue / max |H| = "
                         f"{float(np.linalg.eigvalsh(Hs)[0]) / float(np.max(np.abs(Hs))):.6g}") from None
    return 0.5 * H + 0.5 * H.T


def _check_batch(batch_size, name: str = "batch_size") -> np.ndarray:
    return check.real_array(name, batch_size, low=1,
                            domain="batch sizes >= 1 (reals allowed, for curves)")


def _check_erf_form(erf_form) -> str:
    return check.choice("erf_form", erf_form, _ERF_FORMS)


def _signal_to_noise(mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, int]:
    """``r = mu / sigma`` as ``(r_hat, e)`` with ``r = r_hat * 2**e`` and max|r_hat| in [0.5, 1)."""
    mu_hat, e_mu = _scaled(mu)
    sigma_hat, e_sigma = _scaled(sigma)
    with np.errstate(over="ignore", under="ignore"):
        r = mu_hat / sigma_hat
    if not np.all(np.isfinite(r)) or np.any((r == 0) & (mu != 0)):
        raise check.not_representable(
            "mu / sigma", "its coordinates span more than the range of a double "
            f"(sigma from {float(sigma.min()):.3g} to {float(sigma.max()):.3g})")
    r_hat, e_r = _scaled(r)
    return r_hat, e_r + e_mu - e_sigma


# --------------------------------------------------------------------------- one-step theory
def sigmoid_erf(z):
    r"""The "sigmoid-like" approximation ``erf(z) ~ z / sqrt(pi/4 + z^2)`` of Li et al. (2024).

    Odd, increasing, tends to +-1 at +-infinity and has slope ``2/sqrt(pi) = erf'(0)`` at 0, so
    it matches erf to first order at 0 and at infinity.  Evaluated as ``z / hypot(sqrt(pi)/2, z)``,
    which neither overflows nor underflows for any double ``z``.

    Parameters
    ----------
    z : real or array of reals, finite.

    Returns
    -------
    ndarray of the shape of ``z``, entries in (-1, 1).
    """
    z = check.real_array("z", z, min_size=1)
    return z / np.hypot(_HALF_SQRT_PI, z)


def _mean_sign_and_variance(z: np.ndarray, erf_form: str) -> tuple[np.ndarray, np.ndarray]:
    """``E[V_i]`` and ``1 - E[V_i]^2`` for the exact and sigmoid forms (z may be +-inf)."""
    if erf_form == "exact":
        a = np.abs(z)
        tail = erfc(a)                                  # 1 - |E| without cancellation
        return erf(z), tail * (2.0 - tail)
    a = np.abs(z)
    ratio = np.where(a > 1.0, _HALF_SQRT_PI / np.where(a > 1.0, a, 1.0), 0.0)
    small = a <= 1.0
    mean = np.where(small, z / np.hypot(_HALF_SQRT_PI, np.where(small, z, 0.0)),
                    np.sign(z) / np.sqrt(1.0 + ratio * ratio))
    variance = np.where(small, _HALF_SQRT_PI**2 / (_HALF_SQRT_PI**2 + np.where(small, z, 0.0) ** 2),
                        ratio * ratio / (1.0 + ratio * ratio))
    return mean, variance


def sign_descent_expected_update(mu, sigma, batch_size):
    r"""Mean ``E[sign(g_B)]`` of the sign of a mini-batch gradient, coordinate by coordinate.

    ``g_B`` is the mean of ``B`` independent per-sample gradients whose coordinate i is
    ``N(mu_i, sigma_i^2)``, so ``g_B,i ~ N(mu_i, sigma_i^2/B)`` and

    .. math::  E[\operatorname{sign} g_{B,i}] = \operatorname{erf}(\sqrt{B/2}\,\mu_i/\sigma_i),

    with variance ``1 - E^2`` (``sign^2 = 1`` almost surely).

    Parameters
    ----------
    mu : array (n,)        per-sample gradient means (the true gradient G), finite.
    sigma : scalar or (n,) per-sample gradient standard deviations, > 0 and finite.
    batch_size : real >= 1, scalar or array of any shape (real values allowed for curves).

    Returns
    -------
    array of shape ``batch_size.shape + (n,)`` with entries in [-1, 1].  A mean sign whose
    magnitude is below the smallest double (``|mu_i| / sigma_i`` below about 1e-308) raises
    ``ValueError``.
    """
    mu, sigma = _check_mu_sigma(mu, sigma)
    B = _check_batch(batch_size)
    r_hat, e_r = _signal_to_noise(mu, sigma)
    with np.errstate(over="ignore", under="ignore"):
        z = np.ldexp(r_hat, e_r) * np.sqrt(B / 2.0)[..., None]
        E = erf(z)
    if np.any((E == 0) & (mu != 0)):
        raise check.not_representable("the mean sign", "|mu_i| / sigma_i is below about 1e-308")
    return E


def _linear_moments(mu_hat, e_mu, r_hat, e_r, H_hat, e_h, B):
    """Moments for the linearised mean sign ``E_i = sqrt(2B/pi) r_i``, in the scaled form of :func:`_moments`.

    ``E_i = k r_hat_i`` with ``k = sqrt(2B/pi) 2**e_r`` kept as an exponent, so that neither a huge
    nor a tiny signal-to-noise ratio overflows: ``first = k 2**e_mu (mu_hat . r_hat)`` and
    ``second = 2**e_h (c_hat + d_hat k^2)`` with the larger of the two terms factored out.
    """
    diag = np.diag(H_hat)
    log2_k = 0.5 * np.log2(2.0 * B / math.pi) + e_r
    first_hat = np.full(B.shape, float(mu_hat @ r_hat))
    c_hat = float(np.trace(H_hat))
    d_hat = float(r_hat @ (H_hat - np.diag(diag)) @ r_hat)
    if d_hat == 0:
        return first_hat, e_mu + log2_k, np.full(B.shape, c_hat), np.full(B.shape, float(e_h))
    top = np.maximum(0.0, 2.0 * log2_k)
    with np.errstate(under="ignore"):
        second_hat = c_hat * np.exp2(-top) + d_hat * np.exp2(2.0 * log2_k - top)
    return first_hat, e_mu + log2_k, second_hat, e_h + top


def _moments(mu, sigma, H, batch_size, erf_form):
    """``G.E[V]`` and ``E[V^T H V]`` as ``(first_hat, e_first, second_hat, e_second)``.

    ``first = first_hat * 2**e_first`` and ``second = second_hat * 2**e_second``, where the hatted
    factors are of moderate size (the exponents absorb the scales of ``mu``, ``sigma`` and ``H``).
    """
    mu, sigma = _check_mu_sigma(mu, sigma)
    H = _check_hessian(H, mu.size)
    B = _check_batch(batch_size)
    erf_form = _check_erf_form(erf_form)
    mu_hat, e_mu = _scaled(mu)
    H_hat, e_h = _scaled(H)
    r_hat, e_r = _signal_to_noise(mu, sigma)
    linear = _linear_moments(mu_hat, e_mu, r_hat, e_r, H_hat, e_h, B)
    if erf_form == "linear":
        if np.any(linear[2] <= 0):
            raise ValueError("the linearised mean sign has no optimal rate at these batch sizes: "
                             "tr H + sum_{i!=j} H_ij E_i E_j <= 0 (negative cross-curvature d, B >= "
                             "B_noise); use erf_form='exact' or 'sigmoid'")
        return linear
    with np.errstate(over="ignore", under="ignore"):
        z = np.ldexp(r_hat, e_r) * np.sqrt(B / 2.0)[..., None]
    E, var = _mean_sign_and_variance(z, erf_form)
    first_hat = E @ mu_hat                                   # >= 0: E_i has the sign of mu_i
    # E[V^T H V] = sum_i H_ii (1 - E_i^2) + E^T H E: two non-negative terms, no cancellation
    second_hat = var @ np.diag(H_hat) + ((E @ H_hat) * E).sum(axis=-1)
    # where every |z| < 2**-500, erf and the sigmoid equal their linear form to double precision
    # (relative corrections z^2 < 2**-1000), and the linear form keeps tiny mean signs exact
    tiny = (0.5 * np.log2(B / 2.0) + e_r) < -500
    pick = lambda lin, full: np.where(tiny, lin, full)  # noqa: E731
    return (pick(linear[0], first_hat), pick(linear[1], float(e_mu)),
            pick(linear[2], second_hat), pick(linear[3], float(e_h)))


def optimal_rate(mu, sigma, H, batch_size, erf_form: str = "exact"):
    r"""The rate that maximises the expected one-step decrease of sign descent (Li et al., Thm 2).

    .. math::  \epsilon_{opt}(B) = \frac{\sum_i \mu_i E_i}{\operatorname{tr} H
               + \sum_{i\ne j} H_{ij} E_i E_j}, \qquad E_i = \operatorname{erf}(\sqrt{B/2}\,\mu_i/\sigma_i),

    i.e. ``G.E[V] / (tr(H cov V) + E[V]^T H E[V])``.  ``erf_form`` selects how ``E_i`` is computed:
    ``"exact"`` (erf), ``"sigmoid"`` (``z / sqrt(pi/4 + z^2)``) or ``"linear"`` (``2z/sqrt(pi)``,
    which gives exactly :func:`approximate_optimal_rate` with :func:`surge_parameters`).

    Domain: ``mu`` (n,) finite; ``sigma`` > 0 (scalar or (n,)); ``H`` symmetric positive definite
    (n, n); ``batch_size`` >= 1 (any shape).  Returns an array of the shape of ``batch_size``.  A
    coordinate with ``mu_i = 0`` contributes pure noise (``E_i = 0``), which only enlarges the
    denominator.  For ``"linear"`` with a negative cross-curvature the denominator vanishes at
    finite ``B``; such batch sizes raise ``ValueError``.  A rate outside the range of a double raises
    ``ValueError``.
    """
    f, ef, s, es = _moments(mu, sigma, H, batch_size, erf_form)
    return _times_pow2(f / s, ef - es, "the optimal rate")


def expected_decrease(mu, sigma, H, batch_size, rate, erf_form: str = "exact"):
    r"""Exact expected one-step decrease ``L(theta) - E[L(theta - eps V)]`` of sign descent.

    .. math::  \Delta L(\epsilon) = \epsilon\, G^\top E[V] - \tfrac12 \epsilon^2
               \big(\operatorname{tr} H + \textstyle\sum_{i\ne j} H_{ij} E_i E_j\big).

    Evaluated as ``eps G.E[V] (1 - eps / (2 eps_opt))`` (no cancellation of large terms).
    ``batch_size`` and ``rate`` broadcast against each other.  Domain as :func:`optimal_rate`;
    ``rate`` any finite real.  A decrease outside the range of a double raises ``ValueError``.
    """
    rate = check.real_array("rate", rate)
    f, ef, s, es = _moments(mu, sigma, H, batch_size, erf_form)
    f, ef, s, es, eps = np.broadcast_arrays(f, ef, s, es, rate)
    out_mant = np.zeros(eps.shape)
    out_exp = np.zeros(eps.shape)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        log2_eps = np.log2(np.abs(eps))
        has_signal = (f > 0) & (eps != 0)
        # u = eps / (2 eps_opt) = eps s / (2 f), in log2 form
        log2_u = log2_eps + np.log2(s) - 1.0 - np.log2(f) + es - ef
        u = np.sign(eps) * np.exp2(np.minimum(log2_u, 1000.0))
        big = log2_u > 1000.0                                  # then 1 - u is -u to double precision
        mant_signal = np.where(big, -np.sign(eps) * 0.5 * s, np.sign(eps) * f * (1.0 - u))
        exp_signal = np.where(big, 2.0 * log2_eps + es, log2_eps + ef)
        # no signal (mu = 0): the decrease is -eps^2 second / 2
        mant_noise = -0.5 * s
        exp_noise = 2.0 * log2_eps + es
    out_mant = np.where(has_signal, mant_signal, np.where(eps != 0, mant_noise, 0.0))
    out_exp = np.where(has_signal, exp_signal, np.where(eps != 0, exp_noise, 0.0))
    return _times_pow2(out_mant, out_exp, "the expected decrease")


def optimal_decrease(mu, sigma, H, batch_size, erf_form: str = "exact"):
    r"""The best expected one-step decrease ``(G.E[V])^2 / (2 E[V^T H V])`` over the rate.

    In the linear (small-batch) form it equals ``Delta L_max / (1 + B_noise / B)`` exactly, the same
    law as for SGD (McCandlish et al. 2018) although the rate itself follows the surge curve.
    Domain as :func:`optimal_rate`.
    """
    f, ef, s, es = _moments(mu, sigma, H, batch_size, erf_form)
    return _times_pow2(0.5 * f * (f / s), 2.0 * ef - es, "the optimal decrease")


def approximate_optimal_rate(batch_size, B_noise, eps_max):
    r"""The surge curve ``eps_max / ((1/2)(sqrt(B_noise/B) + sqrt(B/B_noise)))`` (Li et al., Thm 3).

    Evaluated as ``eps_max / cosh(x)`` with ``x = (log B - log B_noise) / 2``, written
    ``2 eps_max e^{-|x|} / (1 + e^{-2|x|})``, which cannot overflow.  It rises like ``sqrt(B)``,
    peaks at ``B = B_noise`` with value ``eps_max``, and falls like ``1/sqrt(B)``.

    Domain: ``batch_size`` >= 1; ``B_noise`` > 0 and ``eps_max`` > 0, both finite (when
    :func:`surge_parameters` returns ``inf`` there is no peak and this curve does not apply).
    Broadcasts.  A value below the smallest double raises ``ValueError``.
    """
    B = _check_batch(batch_size)
    B_noise = check.real_array("B_noise", B_noise, low=0, low_open=True)
    eps_max = check.real_array("eps_max", eps_max, low=0, low_open=True)
    x = np.abs(0.5 * (np.log(B) - np.log(B_noise)))
    with np.errstate(under="ignore"):
        # 1/cosh(x) = 2 e^{-x} / (1 + e^{-2x}); e^{-x} = 2**(-x/ln 2) goes into the exponent
        return _times_pow2(eps_max / (1.0 + np.exp(-2.0 * x)), 1.0 - x / math.log(2.0), "the surge curve")


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
    diagonal H, or mu = 0) the linearised rate has no interior maximum and ``B_noise``, ``eps_max``,
    ``delta_L_max`` are returned as ``inf``.  ``eps_large_batch = sum_i |mu_i| / (tr H +
    sum_{i != j} H_ij s_i s_j)`` with ``s = sign(mu)``.

    All four are computed from power-of-two rescaled ``mu``, ``sigma`` and ``H`` (no intermediate
    overflow: ``mu = 1e155`` works); a finite constant outside the range of a double raises
    ``ValueError``.  Domain: ``mu`` (n,) finite, ``sigma`` > 0, ``H`` symmetric positive definite.
    """
    mu, sigma = _check_mu_sigma(mu, sigma)
    H = _check_hessian(H, mu.size)
    mu_hat, e_mu = _scaled(mu)
    H_hat, e_h = _scaled(H)
    diag = np.diag(H_hat)
    off = H_hat - np.diag(diag)
    r_hat, e_r = _signal_to_noise(mu, sigma)
    a_hat = float(mu_hat @ r_hat)            # a = sqrt(2/pi) a_hat 2**(e_mu + e_r)
    c_hat = float(np.trace(H_hat))           # c = c_hat 2**e_h
    d_hat = float(r_hat @ off @ r_hat)       # d = (2/pi) d_hat 2**(e_h + 2 e_r)
    s = np.sign(mu)
    eps_inf = float(_times_pow2(np.abs(mu_hat).sum() / (c_hat + s @ off @ s), e_mu - e_h,
                                "eps_large_batch"))
    if d_hat > 0 and a_hat > 0:
        B_noise = float(_times_pow2(0.5 * math.pi * c_hat / d_hat, -2 * e_r, "B_noise"))
        eps_max = float(_times_pow2(a_hat / (2.0 * math.sqrt(c_hat * d_hat)), e_mu - e_h, "eps_max"))
        dl_max = float(_times_pow2(a_hat * (a_hat / (2.0 * d_hat)), 2 * e_mu - e_h, "delta_L_max"))
    else:
        B_noise = eps_max = dl_max = math.inf
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


def _check_quadratic(H, sigma, theta, theta_name: str, squares: bool = False):
    """Validate (H, sigma, theta) and refuse a start whose gradient or loss would overflow.

    With ``squares`` (Adam, which accumulates g^2) the gradient plus 40 noise standard deviations
    must also have a square that fits in a double.
    """
    theta = check.real_array(theta_name, theta, ndim=1, min_size=1)
    H = _check_hessian(H, theta.size, theta_name)
    _, sigma = _check_mu_sigma(theta, sigma, mu_name=theta_name)
    with np.errstate(over="ignore", invalid="ignore"):
        G = H @ theta
        loss = 0.5 * float(theta @ G)
        noise = float(np.max(sigma))
        scale = float(np.max(np.abs(G))) + 40.0 * noise
    if not (np.all(np.isfinite(G)) and math.isfinite(loss)) or (squares and not math.isfinite(scale * scale)):
        raise ValueError(f"{theta_name}, H and sigma must give a loss theta^T H theta / 2, a gradient H theta"
                         f"{' and squared gradients' if squares else ''} that fit in a double (scale the "
                         f"problem), got max |{theta_name}| = "
                         f"{float(np.max(np.abs(theta))):.3g}, max |H| = {float(np.max(np.abs(H))):.3g}, "
                         f"max sigma = {noise:.3g}")
    return H, sigma, theta, G


def one_step_monte_carlo(theta, H, sigma, batch_size, rates, samples, seed=0, chunk=20000):
    r"""Monte Carlo of one sign-descent step on ``L(theta) = theta^T H theta / 2``, grid over the rate.

    Each sample draws ``B`` per-sample gradients through their exact mean
    ``g_B = H theta + sigma * z / sqrt(B)`` (``z`` standard normal), takes ``V = sign(g_B)`` and computes
    the loss change ``L(theta) - L(theta - eps V) = eps G.V - eps^2 V^T H V / 2`` (exact for a quadratic,
    no Taylor remainder) for every rate of the grid, with the same ``V`` (common random numbers).
    Returns the mean decrease and its standard error per rate (from the sample moments of
    ``x = G.V`` and ``y = V^T H V``), the grid argmax, and the ratio estimate ``mean(x)/mean(y)``
    (the continuous argmax of the same Monte Carlo curve) with its delta-method standard error.

    Domain: ``theta`` (n,) with ``H theta`` and the loss finite; ``H`` symmetric positive definite;
    ``sigma`` > 0; ``batch_size`` >= 1; ``rates`` 1-D, > 0, with ``rates * |H theta|`` finite;
    ``samples`` >= 2; ``chunk`` >= 1; ``seed`` an integer in [0, 2**63).  Random numbers from
    ``numpy.random.default_rng(seed)``.  The work (``samples * n^2``) is capped by
    ``scalinglaws.work_limits``.
    """
    H, sigma, theta, G = _check_quadratic(H, sigma, theta, "theta")
    B = float(check.real("batch_size", batch_size, low=1, domain="a batch size >= 1"))
    rates = check.real_array("rates", rates, ndim=1, min_size=1, low=0, low_open=True,
                             domain="learning rates > 0")
    samples = check.integer("samples", samples, low=2)
    chunk = check.integer("chunk", chunk, low=1)
    seed = check.seed("seed", seed)
    n = theta.size
    # per sample: n normals, signs and products, the n^2 of V H V; per chunk about 20 us of overhead
    check.check_work("surge.one_step_monte_carlo",
                     operations=float(samples) * (20 * n + n * n / 4 + 10) + 1e4 * math.ceil(samples / chunk),
                     memory_bytes=8.0 * min(chunk, samples) * n * 4 + 8.0 * n * n,
                     sizes=f"samples = {samples}, n = {n}")
    # scale the loss change by powers of two so that x, y and their squares stay finite
    G_hat, e_g = _scaled(G)
    H_hat, e_h = _scaled(H)
    rng = np.random.default_rng(seed)
    mom = np.zeros(5)  # sums of x, y, x^2, y^2, xy with x = G.V, y = V^T H V (scaled)
    done = 0
    while done < samples:
        m = min(chunk, samples - done)
        with np.errstate(over="ignore"):
            V = np.sign(G + sigma * rng.standard_normal((m, n)) / math.sqrt(B))
        x = V @ G_hat / n
        y = ((V @ H_hat) * V).sum(axis=1) / n
        mom += [x.sum(), y.sum(), x @ x, y @ y, x @ y]
        done += m
    count = float(samples)
    mx, my = mom[0] / count, mom[1] / count
    c = count / (count - 1.0)  # unbiased (co)variances
    vx, vy = c * max(mom[2] / count - mx * mx, 0.0), c * max(mom[3] / count - my * my, 0.0)
    cxy = c * (mom[4] / count - mx * my)
    # per sample the decrease is eps x - eps^2 y / 2 (exact for a quadratic); in original units
    # x -> x n 2**e_g and y -> y n 2**e_h
    top = max(e_g, e_h)                                    # factor 2**top out of both terms
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        gx, hy = np.ldexp(1.0, e_g - top), np.ldexp(1.0, e_h - top)
        mean_hat = rates * (mx * n * gx) - 0.5 * rates**2 * (my * n * hy)
        var_hat = n * n * (rates**2 * vx * gx * gx - rates**3 * cxy * gx * hy + 0.25 * rates**4 * vy * hy * hy)
    if not (np.all(np.isfinite(mean_hat)) and np.all(np.isfinite(var_hat))):
        raise ValueError("rates, theta and H must give one-step loss changes that fit in a double, "
                         f"got max |rate| = {float(np.max(np.abs(rates))):.3g}, |H theta| up to "
                         f"{float(np.max(np.abs(G))):.3g}, |H| up to {float(np.max(np.abs(H))):.3g}")
    mean = _times_pow2(mean_hat, top, "the mean one-step decrease")
    se = _times_pow2(np.sqrt(np.maximum(var_hat, 0.0) / count), top, "its standard error")
    ratio = float(_times_pow2(mx / my, e_g - e_h, "the ratio estimate")) if mx != 0 else 0.0
    rel_var = (vx / (mx * mx) - 2 * cxy / (mx * my) + vy / (my * my)) / count if mx != 0 else vx / (my * my) / count
    ratio_se = abs(ratio) * math.sqrt(max(rel_var, 0.0)) if mx != 0 else float(
        _times_pow2(math.sqrt(max(rel_var, 0.0)), e_g - e_h, "the ratio standard error"))
    return OneStepMonteCarlo(rates, mean, se, float(rates[int(np.argmax(mean))]), ratio, float(ratio_se))


def _check_optimizer(optimizer, beta1, beta2, adam_eps):
    optimizer = check.choice("optimizer", optimizer, _OPTIMIZERS)
    beta1 = check.real("beta1", beta1, low=0, high=1, high_open=True)
    beta2 = check.real("beta2", beta2, low=0, high=1, high_open=True)
    adam_eps = check.real("adam_eps", adam_eps, low=0)
    return optimizer, beta1, beta2, adam_eps


class _Stepper:
    """One optimiser's state for a block of parameter vectors ``theta`` of shape (..., n).

    ``update(g, t)`` turns the noisy gradients ``g`` (overwritten) into the step ``theta -= step``
    for step number ``t`` = 1, 2, ...; ``eta`` broadcasts against ``theta``.

    - ``"sign"``: ``eta * sign(g)`` (Adam with beta1 = beta2 = 0 and epsilon = 0), written with
      ``copysign`` (a gradient coordinate exactly 0, which has probability 0, moves by ``eta``).
    - ``"sgd"``: ``eta * g``.
    - ``"adam"``: Kingma & Ba's Algorithm 1: ``m = beta1 m + (1 - beta1) g``,
      ``v = beta2 v + (1 - beta2) g^2``, step ``eta m_hat / (sqrt(v_hat) + adam_eps)`` with
      ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``.  Stored as ``M = m / (1 - beta1)``
      and ``V = v / (1 - beta2)`` (so each update is two operations), which is the same algorithm.
    """

    def __init__(self, optimizer: str, shape: tuple, eta: np.ndarray, beta1: float, beta2: float,
                 adam_eps: float):
        self.optimizer = optimizer
        self.eta = np.broadcast_to(eta, shape).copy() if optimizer == "sign" else eta
        self.beta1, self.beta2, self.adam_eps = beta1, beta2, adam_eps
        if optimizer == "adam":
            self.M = np.zeros(shape)
            self.V = np.zeros(shape)
            self.tmp = np.empty(shape)

    def update(self, g: np.ndarray, t: int) -> np.ndarray:
        if self.optimizer == "sign":
            return np.copysign(self.eta, g, out=g)
        if self.optimizer == "sgd":
            g *= self.eta
            return g
        b1, b2 = self.beta1, self.beta2
        self.M *= b1
        self.M += g
        np.multiply(g, g, out=self.tmp)
        self.V *= b2
        self.V += self.tmp
        c1 = (1.0 - b1) / (1.0 - b1**t)                     # m_hat = c1 M
        c2 = (1.0 - b2) / (1.0 - b2**t)                     # v_hat = c2 V
        # eta c1 M / (sqrt(c2 V) + eps) = (eta c1 / sqrt(c2)) M / (sqrt(V) + eps / sqrt(c2))
        np.sqrt(self.V, out=self.tmp)
        self.tmp += self.adam_eps / math.sqrt(c2)
        np.divide(self.M, self.tmp, out=g)
        g *= self.eta * (c1 / math.sqrt(c2))
        return g


def simulate_noisy_quadratic(H, sigma, theta0, rates, batch_size, steps, runs, seed=0,
                             optimizer: str = "sign", record_every: int = 1,
                             common_noise: bool = True, beta1: float = 0.9, beta2: float = 0.999,
                             adam_eps: float = 1e-8):
    r"""Train ``L(theta) = theta^T H theta / 2`` with noisy mini-batch gradients, many runs and rates at once.

    Per-sample gradients are ``H theta + xi`` with independent ``xi_i ~ N(0, sigma_i^2)``; the mean of
    ``B`` of them is drawn exactly as ``H theta + sigma z / sqrt(B)`` (one normal per coordinate,
    whatever B).  Updates: ``optimizer="sign"``: ``theta <- theta - eps sign(g_B)`` (Adam with
    beta1 = beta2 = 0 and no epsilon); ``"sgd"``: ``theta <- theta - eps g_B``; ``"adam"``: Adam
    (Kingma & Ba 2014, Algorithm 1, with bias correction) with ``beta1``, ``beta2``, ``adam_eps``.

    Vectorised over the grid of ``rates`` and over ``runs`` (state of shape (rates, runs, n)).  With
    ``common_noise=True`` (default) run r uses the same noise sequence at every rate (common random
    numbers: each rate's runs are still independent of each other and exactly distributed, but the
    comparison between rates is much less noisy); ``False`` draws independent noise per rate.

    Parameters
    ----------
    H : (n, n) symmetric positive definite.   sigma : scalar or (n,), > 0.
    theta0 : (n,) start, with a finite loss and gradient.
    rates : 1-D array of learning rates > 0.   batch_size : real >= 1.
    steps : int >= 0.   runs : int >= 1.   seed : integer in [0, 2**63).
    record_every : int >= 1; the loss is recorded at steps 0, record_every, 2 record_every, ...
    beta1, beta2 : Adam's decay rates, in [0, 1).   adam_eps : Adam's epsilon, >= 0.

    Returns
    -------
    losses : array (len(rates), runs, steps // record_every + 1) of exact losses ``theta^T H theta/2``;
    a run that diverges (SGD above its stability limit) has loss ``inf`` from the step its loss
    leaves the range of a double.  The work (``rates * runs * steps * n^2``) and memory are capped
    by ``scalinglaws.work_limits``.
    """
    optimizer, beta1, beta2, adam_eps = _check_optimizer(optimizer, beta1, beta2, adam_eps)
    H, sigma, theta0, _ = _check_quadratic(H, sigma, theta0, "theta0", squares=optimizer == "adam")
    n = theta0.size
    rates = check.real_array("rates", rates, ndim=1, min_size=1, low=0, low_open=True)
    B = check.real("batch_size", batch_size, low=1, domain="a batch size >= 1")
    steps = check.integer("steps", steps, low=0)
    runs = check.integer("runs", runs, low=1)
    seed = check.seed("seed", seed)
    record_every = check.integer("record_every", record_every, low=1)
    common_noise = check.flag("common_noise", common_noise)
    states = rates.size * runs
    check.check_work("surge.simulate_noisy_quadratic",
                     operations=float(states) * steps * (2 * n * n + 12 * n) + 1e4 * float(steps),
                     memory_bytes=8.0 * states * (n * 6 + steps // record_every + 1),
                     sizes=f"rates * runs * steps = {rates.size} * {runs} * {steps}, n = {n}")
    rng = np.random.default_rng(seed)
    theta = np.broadcast_to(theta0, (rates.size, runs, n)).copy()
    stepper = _Stepper(optimizer, theta.shape, rates[:, None, None], beta1, beta2, adam_eps)
    scale = sigma / math.sqrt(B)
    out = np.empty((rates.size, runs, steps // record_every + 1))
    noise = np.empty((runs, n) if common_noise else theta.shape)
    g = np.empty_like(theta)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            np.matmul(theta, H, out=g)
            if t % record_every == 0:
                loss = 0.5 * np.einsum("kri,kri->kr", theta, g)
                out[..., t // record_every] = np.where(np.isfinite(loss), loss, np.inf)
            if t == steps:
                break
            rng.standard_normal(out=noise)
            noise *= scale
            g += noise  # broadcasts over rates when the noise is common
            theta -= stepper.update(g, t + 1)
    if optimizer == "sgd":  # once a run diverges its loss stays infinite (NaN from inf - inf included)
        out = np.where(np.maximum.accumulate(np.isinf(out), axis=-1), np.inf, out)
    return out


# --------------------------------------------------------------------------- analysis of grid runs
def steps_to_target(losses, target):
    r"""First (fractional) step at which a loss curve reaches ``target``; ``inf`` if it never does.

    ``losses[..., t]`` is the (mean) loss after t steps.  If ``t`` is the first index with
    ``losses[t] <= target`` (t >= 1), the crossing is interpolated linearly in ``log loss`` between
    steps ``t-1`` and ``t``:  ``S = t - 1 + (log L_{t-1} - log target) / (log L_{t-1} - log L_t)``
    (``S = t`` when ``L_{t-1}`` is ``inf``).  Returns 0 if ``losses[..., 0] <= target``, and ``inf``
    for a curve that never reaches it, a diverged one (entries ``inf``) included.

    Domain: ``losses`` > 0 (``inf`` allowed, NaN refused) with at least one step; ``target`` > 0.
    """
    L = check.real_array("losses", losses, low=0, low_open=True, allow_inf=True,
                         domain="losses > 0 (inf for a diverged run)")
    if L.ndim < 1 or L.shape[-1] < 1:
        raise ValueError(f"losses must have at least one entry along its last axis, got shape {L.shape}")
    target = check.real("target", target, low=0, low_open=True)
    hit = L <= target
    reached = hit.any(axis=-1)
    first = np.argmax(hit, axis=-1)
    prev = np.maximum(first - 1, 0)
    a = np.log(np.take_along_axis(L, prev[..., None], axis=-1)[..., 0])
    b = np.log(np.take_along_axis(L, first[..., None], axis=-1)[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(np.isinf(a), 1.0, np.where(a > b, (a - math.log(target)) / (a - b), 1.0))
    S = np.where(first == 0, 0.0, prev + frac)
    return np.where(reached, S, np.inf)


def refine_grid_minimum(rates, values):
    r"""Minimiser of ``values`` over an increasing ``rates`` grid, refined by a parabola in log-log.

    Takes the discrete argmin ``k`` of ``values`` (last axis) and, when ``0 < k < len - 1`` and the
    three neighbours are finite, returns the vertex of the parabola through
    ``(log rate, log value)`` at ``k-1, k, k+1`` (clipped to that bracket; the grid point when the
    parabola is not convex); at an edge returns the edge rate.  Works on arrays of curves (last
    axis), vectorised.

    Domain: ``rates`` an increasing 1-D array of at least 3 finite values > 0; ``values`` > 0 with
    last axis of the length of ``rates`` (``inf`` allowed: a rate that never reaches the target).
    Returns ``nan`` for a curve that is ``inf`` everywhere (no minimiser exists).
    """
    rates = check.real_array("rates", rates, ndim=1, min_size=3, low=0, low_open=True)
    if np.any(np.diff(rates) <= 0):
        raise ValueError(f"rates must be strictly increasing, got {rates!r}")
    values = check.real_array("values", values, low=0, low_open=True, allow_inf=True,
                              domain="values > 0 (inf allowed)")
    if values.ndim < 1 or values.shape[-1] != rates.size:
        raise ValueError(f"values must have {rates.size} entries on its last axis, got shape {values.shape}")
    flat = values.reshape(-1, rates.size)
    x = np.log(rates)
    k = np.argmin(flat, axis=1)
    any_finite = np.isfinite(flat).any(axis=1)
    out = np.where(any_finite, rates[k], np.nan)
    interior = any_finite & (k > 0) & (k < rates.size - 1)
    rows = np.nonzero(interior)[0]
    if rows.size:
        kk = k[rows]
        y = np.log(np.stack([flat[rows, kk - 1], flat[rows, kk], flat[rows, kk + 1]], axis=1))
        x0, x1, x2 = x[kk - 1], x[kk], x[kk + 1]
        ok = np.all(np.isfinite(y), axis=1)
        y = np.where(ok[:, None], y, 0.0)                     # rows with an inf neighbour keep x1
        y0, y1, y2 = y[:, 0], y[:, 1], y[:, 2]
        # vertex of the parabola through three points (unequal spacing allowed)
        num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
        den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
        # convex iff the second divided difference is positive
        curv = ((y2 - y1) / (x2 - x1) - (y1 - y0) / (x1 - x0)) / (x2 - x0)
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = np.where(ok & (curv > 0) & (den != 0), x1 - 0.5 * num / den, x1)
        vertex = np.clip(vertex, x0, x2)
        out[rows] = np.exp(vertex)
    return out.reshape(values.shape[:-1])


def fit_surge_curve(batch_sizes, rates):
    r"""Least-squares fit of the surge curve to measured optimal rates, in log space.

    Minimises ``sum (log eps_k - log approximate_optimal_rate(B_k, B_noise, eps_max))^2`` over
    ``(log B_noise, log eps_max)`` (scipy ``least_squares``, started at the empirical peak).
    Needs at least 3 points with at least 2 distinct batch sizes.  Returns ``(B_noise, eps_max)``.

    Domain: ``batch_sizes`` >= 1 and ``rates`` > 0, finite, 1-D of the same length (drop the batch
    sizes where no optimal rate was found before calling).
    """
    from scipy.optimize import least_squares

    B = check.real_array("batch_sizes", batch_sizes, ndim=1, low=1, domain="batch sizes >= 1")
    eps = check.real_array("rates", rates, ndim=1, low=0, low_open=True)
    if eps.shape != B.shape:
        raise ValueError(f"rates must have the shape of batch_sizes {B.shape}, got {eps.shape}")
    if B.size < 3 or np.unique(B).size < 2:
        raise ValueError(f"batch_sizes must hold at least 3 points with 2 distinct values, got {B.size} "
                         f"points and {np.unique(B).size} distinct")
    k = int(np.argmax(eps))
    logB, logeps = np.log(B), np.log(eps)

    def resid(p):
        x = np.abs(0.5 * (logB - p[0]))
        # log of 1/cosh(x) without overflow
        return logeps - (p[1] + math.log(2.0) - x - np.log1p(np.exp(-2.0 * x)))

    sol = least_squares(resid, x0=[logB[k], logeps[k]], method="lm")
    return (float(_times_pow2(1.0, sol.x[0] / math.log(2.0), "the fitted B_noise")),
            float(_times_pow2(1.0, sol.x[1] / math.log(2.0), "the fitted eps_max")))


def fit_steps_examples(steps, examples):
    r"""Estimate ``B_noise`` and ``S_min`` from (S, E) pairs at equal loss (McCandlish et al. 2018).

    ``S = S_min (1 + B_noise / B)`` with ``E = B S`` is the straight line
    ``1/S = -B_noise (1/E) + 1/S_min``; an ordinary least-squares fit of ``1/S`` on ``1/E`` gives
    slope ``-B_noise`` and intercept ``1/S_min``.  Returns ``(B_noise, S_min)``.

    Domain: ``steps`` and ``examples`` 1-D of the same length >= 2, finite, ``steps`` > 0 and
    ``examples >= steps`` (a batch holds at least one example), with at least two distinct batch
    sizes ``E / S``.  Pairs that do not follow the law with ``B_noise >= 0`` and ``S_min > 0`` (steps
    that grow with the batch size, or an intercept <= 0) raise ``ValueError`` rather than returning a
    meaningless estimate.
    """
    S = check.real_array("steps", steps, ndim=1, min_size=2, low=0, low_open=True)
    E = check.real_array("examples", examples, ndim=1, min_size=2, low=0, low_open=True)
    if S.shape != E.shape:
        raise ValueError(f"steps and examples must have the same shape, got {S.shape} and {E.shape}")
    if np.any(E < S * (1 - 1e-12)):
        i = int(np.argmax(E < S * (1 - 1e-12)))
        raise ValueError(f"examples must be >= steps (batches of at least one example), got examples[{i}] = "
                         f"{E[i]:.6g} < steps[{i}] = {S[i]:.6g}")
    # regress in scaled variables: y = S_0 / S against x = E_0 / E (both in (0, 1])
    S0, E0 = float(S.min()), float(E.min())
    x, y = E0 / E, S0 / S
    batch = E / S
    if np.ptp(batch) <= 1e-12 * np.max(batch) or np.ptp(x) <= 1e-12 * np.max(x):
        raise ValueError("examples and steps must come from at least two distinct batch sizes examples / steps "
                         f"and two distinct numbers of examples, got batch sizes {batch!r} and examples {E!r}")
    xm, ym = x.mean(), y.mean()
    slope = float(((x - xm) @ (y - ym)) / ((x - xm) @ (x - xm)))
    intercept = float(ym - slope * xm)
    # 1/S = y / S0 and 1/E = x / E0: the line's slope is slope * S0 / E0 ... in y, x units, so
    # B_noise = -slope E0 / S0 and 1/S_min = intercept / S0
    if slope > 0 or intercept <= 0:
        raise ValueError("steps and examples do not follow S = S_min (1 + B_noise / B) with B_noise >= 0 and "
                         f"S_min > 0: the fitted line 1/S = -B_noise / E + 1/S_min has B_noise = "
                         f"{-slope * E0 / S0:.4g} and 1/S_min = {intercept / S0:.4g}")
    B_noise, S_min = -slope * (E0 / S0) + 0.0, S0 / intercept
    if not (math.isfinite(B_noise) and math.isfinite(S_min)):
        raise check.not_representable("the fitted (B_noise, S_min)", f"got ({B_noise}, {S_min})")
    return float(B_noise), float(S_min)
