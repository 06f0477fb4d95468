r"""Gradient noise scale, critical batch size and the batch-size schedule.

The local quadratic model of one SGD step (McCandlish et al. 2018, section 2).  At parameters
``theta`` the loss has gradient ``G`` and Hessian ``H``; a mini-batch of ``B`` examples gives the
gradient estimate ``V`` with mean ``G`` and covariance ``Sigma / B`` (``Sigma`` the per-example
covariance).  A step ``theta - eps V`` changes the expected loss, to second order, by

.. math::  E[\Delta L](\epsilon) = \epsilon |G|^2
           - \tfrac12 \epsilon^2 \left(G^T H G + \operatorname{tr}(H\Sigma)/B\right),

maximised at ``eps_opt(B) = eps_max / (1 + B_noise / B)`` with
``DeltaL_opt(B) = DeltaL_max / (1 + B_noise / B)``, where

.. math::  \epsilon_{max} = \frac{|G|^2}{G^T H G},\quad
           \Delta L_{max} = \frac{|G|^4}{2\, G^T H G},\quad
           B_{noise} = \frac{\operatorname{tr}(H\Sigma)}{G^T H G},\quad
           B_{simple} = \frac{\operatorname{tr}\Sigma}{|G|^2}.

The module also holds the models the chapter checks this against:

- linear regression with Gaussian design ``x ~ N(0, C)``, ``y = w*^T x + sqrt(s2) n``: per-example
  gradient ``g = x (x^T u - sqrt(s2) n)`` with ``u = w - w*``, so ``G = C u``, ``H = C`` and
  (Isserlis) ``Sigma = C u u^T C + (u^T C u) C + s2 C`` (:func:`regression_moments`);
- the one-dimensional model of :mod:`scalinglaws.linear1d` (``C = 1``, ``w* = 3``, ``s2 = 1``), where
  ``B_noise = 2 + 1/m`` with ``m = (w - 3)^2`` (or its expectation), its exact second-moment
  recursion under the greedy (one-step optimal) rate, the number of steps and examples it needs to
  reach a target loss, and the continuum (small-step) theory of the steps/examples trade-off;
- the two-batch-size unbiased estimator of ``|G|^2`` and ``tr(Sigma)`` (McCandlish et al. 2018,
  appendix A).

References: S. McCandlish, J. Kaplan, D. Amodei et al., "An Empirical Model of Large-Batch
Training", arXiv:1812.06162 (2018); J. Kaplan et al., "Scaling Laws for Neural Language Models",
arXiv:2001.08361 (2020).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, as_int
from .linear1d import contraction_factor, stable_rate_bound, stationary_second_moment

__all__ = [
    "NoiseScales",
    "continuum_gamma",
    "continuum_sqrt_integral",
    "continuum_steps_examples",
    "expected_improvement",
    "greedy_rate_1d",
    "greedy_trajectory",
    "noise_scale_1d",
    "noise_scale_from_loss",
    "noise_scales",
    "optimal_improvement",
    "optimal_rate",
    "regression_moments",
    "sample_batch_gradients",
    "second_moment_step",
    "simulate_schedule_1d",
    "steps_to_target",
    "steps_to_target_constant_rate",
    "two_batch_estimate",
    "two_batch_variance",
]


class NoiseScales(NamedTuple):
    """The four scales of the local quadratic model (see the module docstring)."""

    eps_max: float
    delta_loss_max: float
    B_noise: float
    B_simple: float


def _scalar(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def _check_moments(G, H, Sigma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """G as a vector (d,), H and Sigma as (d, d); H symmetric positive definite, Sigma symmetric PSD."""
    G = np.atleast_1d(as_float_array("G", G))
    if G.ndim != 1:
        raise ValueError(f"G must be a vector (shape (d,)), got shape {G.shape}")
    d = G.shape[0]
    if d == 0:
        raise ValueError("G must have at least one component, got an empty array")
    mats = []
    for name, M in (("H", H), ("Sigma", Sigma)):
        M = as_float_array(name, M)
        if M.ndim == 0 and d == 1:
            M = M.reshape(1, 1)
        if M.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}) to match G, got shape {M.shape}")
        scale = max(float(np.max(np.abs(M))), np.finfo(float).tiny)
        if not np.allclose(M, M.T, rtol=0.0, atol=1e-12 * scale):
            raise ValueError(f"{name} must be symmetric, got {M!r}")
        mats.append(0.5 * (M + M.T))
    H, Sigma = mats
    eig_H = np.linalg.eigvalsh(H)
    if eig_H[0] <= 0:
        raise ValueError(f"H must be positive definite, got smallest eigenvalue {eig_H[0]:.6g}")
    eig_S = np.linalg.eigvalsh(Sigma)
    tol = 1e-12 * max(float(np.abs(eig_S).max()), np.finfo(float).tiny)
    if eig_S[0] < -tol:
        raise ValueError(f"Sigma must be positive semi-definite, got smallest eigenvalue {eig_S[0]:.6g}")
    if not np.any(G != 0):
        raise ValueError("G must be nonzero (at a stationary point every scale is undefined)")
    return G, H, Sigma


def _check_batch(B, name: str = "B") -> np.ndarray:
    B = as_float_array(name, B)
    if np.any(B <= 0):
        raise ValueError(f"{name} must be positive (a batch size), got {_scalar(B)!r}")
    return B


def noise_scales(G, H, Sigma) -> NoiseScales:
    r"""``(eps_max, DeltaL_max, B_noise, B_simple)`` of the local quadratic model.

    .. math:: \epsilon_{max} = \frac{|G|^2}{G^T H G},\ \Delta L_{max} = \frac{|G|^4}{2 G^T H G},\
              B_{noise} = \frac{\operatorname{tr}(H\Sigma)}{G^T H G},\
              B_{simple} = \frac{\operatorname{tr}\Sigma}{|G|^2}.

    Parameters
    ----------
    G : array (d,), nonzero; the true gradient (a scalar when d = 1).
    H : array (d, d), symmetric positive definite; the Hessian.
    Sigma : array (d, d), symmetric positive semi-definite; the per-example gradient covariance.

    Reference: McCandlish et al. (2018), eqs. (2.4)–(2.8).

    Examples
    --------
    >>> noise_scales(-1.0, 1.0, 3.0)   # the 1-D model at w = 2: G = -1, H = 1, Sigma = 3
    NoiseScales(eps_max=1.0, delta_loss_max=0.5, B_noise=3.0, B_simple=3.0)
    """
    G, H, Sigma = _check_moments(G, H, Sigma)
    g2 = float(G @ G)
    gHg = float(G @ H @ G)
    return NoiseScales(eps_max=g2 / gHg, delta_loss_max=0.5 * g2 * g2 / gHg,
                       B_noise=float(np.trace(H @ Sigma)) / gHg, B_simple=float(np.trace(Sigma)) / g2)


def expected_improvement(eps, B, G, H, Sigma):
    r"""Expected loss decrease of one step in the local quadratic model,
    ``eps |G|^2 - eps^2 (G^T H G + tr(H Sigma)/B) / 2`` (exact when the loss is quadratic).

    Vectorised over ``eps`` (real) and ``B`` (> 0) by broadcasting.
    """
    G, H, Sigma = _check_moments(G, H, Sigma)
    eps = as_float_array("eps", eps)
    B = _check_batch(B)
    g2 = float(G @ G)
    gHg = float(G @ H @ G)
    trHS = float(np.trace(H @ Sigma))
    return _scalar(eps * g2 - 0.5 * eps**2 * (gHg + trHS / B))


def optimal_rate(B, G, H, Sigma):
    r"""The one-step optimal rate ``eps_opt(B) = eps_max / (1 + B_noise / B)``.

    Vectorised over ``B`` (real, > 0).  Domain and reference as :func:`noise_scales`.
    """
    s = noise_scales(G, H, Sigma)
    B = _check_batch(B)
    return _scalar(s.eps_max * B / (B + s.B_noise))


def optimal_improvement(B, G, H, Sigma):
    r"""The one-step optimal improvement ``DeltaL_opt(B) = DeltaL_max / (1 + B_noise / B)``."""
    s = noise_scales(G, H, Sigma)
    B = _check_batch(B)
    return _scalar(s.delta_loss_max * B / (B + s.B_noise))


# ----------------------------------------------------------------------------------------------
# Linear regression with Gaussian design: G, H and Sigma in closed form.

def _check_regression(u, cov, noise_var):
    u = np.atleast_1d(as_float_array("u", u))
    if u.ndim != 1:
        raise ValueError(f"u must be a vector (shape (d,)), got shape {u.shape}")
    d = u.shape[0]
    cov = as_float_array("cov", cov)
    if cov.ndim == 0 and d == 1:
        cov = cov.reshape(1, 1)
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape ({d}, {d}) to match u, got shape {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-12 * float(np.abs(cov).max() or 1.0)):
        raise ValueError(f"cov must be symmetric, got {cov!r}")
    cov = 0.5 * (cov + cov.T)
    if np.linalg.eigvalsh(cov)[0] <= 0:
        raise ValueError("cov must be positive definite")
    noise_var = float(as_float_array("noise_var", noise_var))
    if noise_var < 0:
        raise ValueError(f"noise_var must be >= 0, got {noise_var!r}")
    return u, cov, noise_var


def regression_moments(u, cov, noise_var: float = 1.0):
    r"""``(G, H, Sigma)`` for linear regression with Gaussian design, at ``w = w* + u``.

    Data ``x ~ N(0, C)``, ``y = w*^T x + sqrt(s2) n`` with ``n ~ N(0, 1)``; loss
    ``L(w) = E[(w^T x - y)^2] / 2 = (u^T C u + s2) / 2``; per-example gradient
    ``g = x (x^T u - sqrt(s2) n)``.  Then

    .. math:: G = C u,\quad H = C,\quad \Sigma = C u u^T C + (u^T C u)\, C + s_2 C

    (Isserlis' theorem: ``E[x x^T u u^T x x^T] = 2 C u u^T C + (u^T C u) C``).  In the
    one-dimensional model (C = 1, s2 = 1): ``G = u``, ``H = 1``, ``Sigma = 2 u^2 + 1``.

    Parameters
    ----------
    u : array (d,), the offset ``w - w*``.
    cov : array (d, d), symmetric positive definite (a positive scalar when d = 1).
    noise_var : float >= 0, the label-noise variance s2.
    """
    u, C, s2 = _check_regression(u, cov, noise_var)
    Cu = C @ u
    G = Cu
    Sigma = np.outer(Cu, Cu) + float(u @ Cu) * C + s2 * C
    return G, C.copy(), Sigma


def sample_batch_gradients(u, cov, noise_var: float, batch_size: int, reps: int, rng) -> np.ndarray:
    r"""``reps`` independent mini-batch gradients ``V = mean_i x_i (x_i^T u - sqrt(s2) n_i)``.

    Each of the ``reps`` rows averages ``batch_size`` fresh examples of the regression model of
    :func:`regression_moments` (drawn explicitly, in chunks to bound memory).

    Parameters
    ----------
    u, cov, noise_var : as :func:`regression_moments`.
    batch_size : int >= 1.
    reps : int >= 1.
    rng : numpy.random.Generator.

    Returns
    -------
    array (reps, d).
    """
    u, C, s2 = _check_regression(u, cov, noise_var)
    B = as_int("batch_size", batch_size, minimum=1)
    reps = as_int("reps", reps, minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {rng!r}")
    d = u.shape[0]
    L = np.linalg.cholesky(C)
    out = np.empty((reps, d))
    chunk = max(1, 2_000_000 // (B * d + B))
    sd = math.sqrt(s2)
    for start in range(0, reps, chunk):
        n = min(chunk, reps - start)
        x = rng.standard_normal((n, B, d)) @ L.T
        resid = x @ u - sd * rng.standard_normal((n, B))
        out[start:start + n] = np.einsum("nbd,nb->nd", x, resid) / B
    return out


# ----------------------------------------------------------------------------------------------
# The two-batch-size estimator (McCandlish et al. 2018, appendix A).

def _check_two_batch(B_small, B_big):
    B_small = _check_batch(B_small, "B_small")
    B_big = _check_batch(B_big, "B_big")
    if np.any(B_big <= B_small):
        raise ValueError(f"B_big must exceed B_small, got B_small={_scalar(B_small)!r}, B_big={_scalar(B_big)!r}")
    return B_small, B_big


def two_batch_estimate(grad_small, grad_big, B_small, B_big):
    r"""Unbiased estimates of ``|G|^2`` and ``tr(Sigma)`` from gradients at two batch sizes.

    Since ``E|G_B|^2 = |G|^2 + tr(Sigma)/B`` for a mean ``G_B`` of B independent per-example
    gradients,

    .. math:: \widehat{|G|^2} = \frac{B_{big}|G_{B_{big}}|^2 - B_{small}|G_{B_{small}}|^2}
                                     {B_{big} - B_{small}},\qquad
              \widehat{\operatorname{tr}\Sigma} = \frac{|G_{B_{small}}|^2 - |G_{B_{big}}|^2}
                                     {1/B_{small} - 1/B_{big}}

    are unbiased (McCandlish et al. 2018, appendix A, eqs. A.1–A.2).  Their ratio estimates
    ``B_simple`` (biased; the paper averages numerator and denominator separately first).

    Parameters
    ----------
    grad_small, grad_big : arrays (..., d) of the same shape: batch-mean gradients (last axis the
        parameters); leading axes index independent repetitions and broadcast.
    B_small, B_big : batch sizes, ``0 < B_small < B_big``.

    Returns
    -------
    (G2_hat, trSigma_hat) : arrays shaped like the leading axes (floats for single gradients).
    """
    gs = as_float_array("grad_small", grad_small)
    gb = as_float_array("grad_big", grad_big)
    if gs.ndim == 0 or gb.ndim == 0:
        raise ValueError("grad_small and grad_big must be arrays with the parameters on the last axis")
    if gs.shape[-1] != gb.shape[-1]:
        raise ValueError(f"grad_small and grad_big must have the same number of parameters (last axis), "
                         f"got shapes {gs.shape} and {gb.shape}")
    Bs, Bb = _check_two_batch(B_small, B_big)
    ns = np.sum(gs * gs, axis=-1)
    nb = np.sum(gb * gb, axis=-1)
    G2 = (Bb * nb - Bs * ns) / (Bb - Bs)
    trS = (ns - nb) / (1.0 / Bs - 1.0 / Bb)
    return _scalar(G2), _scalar(trS)


def two_batch_variance(G, Sigma, B_small, B_big, third: float = 0.0, fourth=None):
    r"""Variances of the two estimators of :func:`two_batch_estimate` for independent batches.

    For the mean ``G_B`` of B i.i.d. per-example gradients ``g = G + e`` (``E e = 0``,
    ``cov e = Sigma``), expanding ``|G_B|^2 = |G|^2 + 2 G.e_bar + |e_bar|^2`` and counting the index
    pairings of the fourth moment gives

    .. math:: v(B) = \operatorname{Var}|G_B|^2 = \frac{4 G^T\Sigma G}{B} + \frac{4\kappa_3}{B^2}
              + \frac{2(B-1)\operatorname{tr}\Sigma^2 + \mu_4 - (\operatorname{tr}\Sigma)^2}{B^3},

    with ``kappa_3 = E[(G.e)|e|^2]`` (``third``) and ``mu_4 = E|e|^4`` (``fourth``; default the
    Gaussian value ``(tr Sigma)^2 + 2 tr Sigma^2``, and ``third`` defaults to 0, so the defaults give
    ``2 tr(Sigma^2)/B^2 + 4 G^T Sigma G / B``).  Then

    .. math:: \operatorname{Var}\widehat{|G|^2} = \frac{B_{big}^2 v(B_{big}) + B_{small}^2 v(B_{small})}
              {(B_{big} - B_{small})^2},\qquad
              \operatorname{Var}\widehat{\operatorname{tr}\Sigma} = \frac{v(B_{small}) + v(B_{big})}
              {(1/B_{small} - 1/B_{big})^2}.

    Vectorised over the batch sizes (integers >= 1 for the formula to describe a real batch).

    Returns
    -------
    (var_G2, var_trSigma)
    """
    G, _, Sigma = _check_moments(G, np.eye(np.atleast_1d(np.asarray(G)).shape[0]), Sigma)
    Bs, Bb = _check_two_batch(B_small, B_big)
    t1 = float(np.trace(Sigma))
    t2 = float(np.trace(Sigma @ Sigma))
    gSg = float(G @ Sigma @ G)
    k3 = float(as_float_array("third", third))
    mu4 = t1 * t1 + 2.0 * t2 if fourth is None else float(as_float_array("fourth", fourth))
    if mu4 < t1 * t1:
        raise ValueError(f"fourth must be >= (tr Sigma)^2 = {t1 * t1:.6g} (Jensen), got {fourth!r}")

    def var(B):
        return 4.0 * gSg / B + 4.0 * k3 / B**2 + (2.0 * (B - 1.0) * t2 + mu4 - t1 * t1) / B**3

    vs, vb = var(Bs), var(Bb)
    return _scalar((Bb**2 * vb + Bs**2 * vs) / (Bb - Bs) ** 2), _scalar((vs + vb) / (1.0 / Bs - 1.0 / Bb) ** 2)


# ----------------------------------------------------------------------------------------------
# The one-dimensional model: B_noise, the greedy rate, steps and examples to a target loss.

def _check_m(m, name: str = "m") -> np.ndarray:
    m = as_float_array(name, m)
    if np.any(m <= 0):
        raise ValueError(f"{name} must be positive (a squared distance (w - 3)^2), got {_scalar(m)!r}")
    return m


def noise_scale_1d(m):
    r"""``B_noise = tr(H Sigma)/(G^T H G) = (2m + 1)/m = 2 + 1/m`` in the 1-D model, ``m = (w - 3)^2``.

    Since ``G^2 = m`` and ``Sigma = 2m + 1`` are affine in m, the same formula gives the ratio of
    expectations when m is ``E[(w_t - 3)^2]``.  Domain: m > 0.
    """
    m = _check_m(m)
    return _scalar(2.0 + 1.0 / m)


def noise_scale_from_loss(loss):
    r"""``B_noise`` as a function of the loss at w, ``L = ((w-3)^2 + 1)/2``: ``2 + 1/(2L - 1)``.

    Domain: L > 1/2 (the noise floor).  ``B_noise -> infinity`` like ``1/(2(L - 1/2))`` as the
    loss falls to 1/2.
    """
    loss = as_float_array("loss", loss)
    if np.any(loss <= 0.5):
        raise ValueError(f"loss must exceed the noise floor 1/2, got {_scalar(loss)!r}")
    return _scalar(2.0 + 1.0 / (2.0 * loss - 1.0))


def greedy_rate_1d(m, B):
    r"""The one-step optimal rate ``eps = 1/(1 + B_noise/B) = B m / ((B + 2) m + 1)`` (1-D model).

    Minimises ``E[(w_{t+1} - 3)^2] = r(eps) m + eps^2/B`` over eps.  Domain: m > 0, B > 0.
    """
    m = _check_m(m)
    B = _check_batch(B)
    return _scalar(B * m / ((B + 2.0) * m + 1.0))


def second_moment_step(m, eps, B):
    r"""One step of the exact recursion ``m' = (1 - 2 eps + eps^2 (B+2)/B) m + eps^2 / B``.

    Written as ``(1 - eps)^2 m + eps^2 (2m + 1)/B`` (a sum of non-negative terms).  For integer
    B it is :func:`scalinglaws.linear1d.contraction_factor` times m plus eps^2/B; non-integer B > 0
    is accepted as the analytic interpolation the continuum theory uses.  Broadcasts.
    """
    m = as_float_array("m", m)
    if np.any(m < 0):
        raise ValueError(f"m must be >= 0, got {_scalar(m)!r}")
    eps = as_float_array("eps", eps)
    B = _check_batch(B)
    return _scalar((1.0 - eps) ** 2 * m + eps**2 * (2.0 * m + 1.0) / B)


def _batch_at(m, batch_size, batch_coef):
    if batch_coef is None:
        return batch_size
    return batch_coef * np.sqrt(2.0 + 1.0 / m)


def _check_batch_choice(batch_size, batch_coef):
    if (batch_size is None) == (batch_coef is None):
        raise ValueError("give exactly one of batch_size (constant B) and batch_coef (B = c sqrt(B_noise))")
    if batch_size is not None:
        return _check_batch(batch_size, "batch_size"), None
    c = as_float_array("batch_coef", batch_coef)
    if np.any(c <= 0):
        raise ValueError(f"batch_coef must be positive, got {_scalar(c)!r}")
    return None, c


def _check_rate_factor(rate_factor) -> float:
    k = float(as_float_array("rate_factor", rate_factor))
    if not 0.0 < k <= 1.0:
        raise ValueError(f"rate_factor must lie in (0, 1], got {rate_factor!r}")
    return k


def greedy_trajectory(T: int, batch_size=None, batch_coef=None, m0: float = 9.0, integer: bool = False,
                      rate_factor: float = 1.0):
    r"""Exact ``m_t = E[(w_t - 3)^2]``, rates and batch sizes for t <= T under the greedy rate.

    Each step uses ``eps_t = B_t m_t / ((B_t + 2) m_t + 1)`` (the one-step optimum), which turns
    the recursion into ``m_{t+1} = m_t (1 - eps_t) = m_t (2 m_t + 1)/((B_t + 2) m_t + 1)``.  The
    batch is either constant (``batch_size``) or ``B_t = batch_coef * sqrt(B_noise(m_t))``; with
    ``integer=True`` the schedule is rounded to the nearest integer >= 1 (what a simulation can run).

    ``rate_factor = k`` in (0, 1] scales every rate, ``eps_t = k * eps_opt``; then
    ``m_{t+1} = m_t (1 - (2k - k^2) eps_opt)``: each step achieves the fraction ``2k - k^2`` of the
    one-step optimal improvement.  Small k makes every step small (the continuum regime).

    Returns
    -------
    (m, eps, B) : arrays of lengths T + 1, T, T.
    """
    T = as_int("T", T, minimum=0)
    bs, bc = _check_batch_choice(batch_size, batch_coef)
    if bs is not None and bs.ndim or bc is not None and bc.ndim:
        raise ValueError("greedy_trajectory takes a single batch_size or batch_coef (use steps_to_target "
                         "to sweep)")
    m0 = float(_check_m(m0, "m0"))
    k = _check_rate_factor(rate_factor)
    m = np.empty(T + 1)
    eps = np.empty(T)
    Bt = np.empty(T)
    m[0] = m0
    for t in range(T):
        B = float(_batch_at(m[t], bs, bc))
        if integer:
            B = max(1.0, float(np.rint(B)))
        e = B * m[t] / ((B + 2.0) * m[t] + 1.0)
        eps[t], Bt[t] = k * e, B
        m[t + 1] = m[t] * (1.0 - (2.0 * k - k * k) * e)
    return m, eps, Bt


def steps_to_target(m_target, batch_size=None, batch_coef=None, m0: float = 9.0, max_steps: int = 10**7,
                    rate_factor: float = 1.0):
    r"""Steps S and examples E for the greedy-rate recursion to reach ``E[(w-3)^2] <= m_target``.

    ``S`` is the first t with ``m_t <= m_target`` (an integer) and ``E = sum_{t<S} B_t``, with the
    exact recursion of :func:`greedy_trajectory`.  Vectorised over an array of constant batch sizes
    (``batch_size``, real > 0) or of schedule coefficients (``batch_coef``: ``B_t = c sqrt(B_noise(m_t))``).
    The target loss is ``(1 + m_target)/2``; ``rate_factor`` as in :func:`greedy_trajectory`.

    Domain: 0 < m_target < m0; max_steps bounds the loop (a ValueError if some run needs more).

    Returns
    -------
    (S, E) : arrays shaped like the batch argument (floats for scalars).
    """
    bs, bc = _check_batch_choice(batch_size, batch_coef)
    m_target = float(_check_m(m_target, "m_target"))
    m0 = float(_check_m(m0, "m0"))
    if m_target >= m0:
        raise ValueError(f"m_target must be below m0={m0!r}, got {m_target!r}")
    max_steps = as_int("max_steps", max_steps, minimum=1)
    k = _check_rate_factor(rate_factor)
    arg = bs if bs is not None else bc
    f = 2.0 * k - k * k
    S = np.empty(arg.shape)
    E = np.empty(arg.shape)
    for idx, a in np.ndenumerate(arg):  # scalar loops: faster than numpy on tiny arrays
        a = float(a)
        m, steps, examples = m0, 0, 0.0
        while m > m_target:
            if steps == max_steps:
                raise ValueError(f"max_steps={max_steps} is too small to reach m_target={m_target!r}")
            B = a if bs is not None else a * math.sqrt(2.0 + 1.0 / m)
            m = m * (1.0 - f * B * m / ((B + 2.0) * m + 1.0))
            steps += 1
            examples += B
        S[idx], E[idx] = steps, examples
    shape = arg.shape
    return _scalar(S.reshape(shape)), _scalar(E.reshape(shape))


def steps_to_target_constant_rate(m_target, batch_size, m0: float = 9.0, grid: int = 4000):
    r"""Fewest steps to ``E[(w-3)^2] <= m_target`` with a constant rate tuned for each batch size.

    With a constant rate the exact second moment is ``m_t = m_* + (m0 - m_*) r^t``
    (:func:`scalinglaws.linear1d.contraction_factor`, :func:`~scalinglaws.linear1d.stationary_second_moment`),
    so the target is reached after ``ceil(log((m_target - m_*)/(m0 - m_*)) / log r)`` steps when
    ``m_* < m_target``.  The rate is searched on a log grid of ``grid`` points in
    ``(0, B/(B+2)]`` (faster rates are dominated) and the best integer step count is kept.

    Parameters
    ----------
    m_target : 0 < m_target < m0.
    batch_size : int >= 1 or array of them.
    grid : int >= 10, the number of candidate rates per batch size.

    Returns
    -------
    (S, E, eta) : arrays shaped like batch_size; ``E = B S``.
    """
    m_target = float(_check_m(m_target, "m_target"))
    m0 = float(_check_m(m0, "m0"))
    if m_target >= m0:
        raise ValueError(f"m_target must be below m0={m0!r}, got {m_target!r}")
    grid = as_int("grid", grid, minimum=10)
    Bs = as_float_array("batch_size", batch_size)
    if np.any(Bs < 1) or np.any(Bs != np.floor(Bs)):
        raise ValueError(f"batch_size must be an integer >= 1 (or an array of them), got {batch_size!r}")
    S = np.empty(Bs.shape)
    etas = np.empty(Bs.shape)
    for idx, B in np.ndenumerate(Bs):
        B = int(B)
        upper = B / (B + 2.0)
        eta = upper * np.logspace(-6, 0, grid)
        m_star = stationary_second_moment(eta, B)
        r = contraction_factor(eta, B)
        ok = m_star < m_target
        with np.errstate(divide="ignore", invalid="ignore"):
            T = np.where(ok, np.ceil(np.log((m_target - m_star) / (m0 - m_star)) / np.log(r) - 1e-9), np.inf)
        T = np.maximum(T, 1.0)
        k = int(np.argmin(T))
        S[idx], etas[idx] = T[k], eta[k]
    return _scalar(S), _scalar(Bs * S), _scalar(etas)


def continuum_steps_examples(m_target, m0: float = 9.0):
    r"""The continuum (small-step) theory for the 1-D model: ``(S_min, E_min)``.

    In units of ideal noiseless steps, ``ds = dL / DeltaL_max = -dm/m``, so from m0 to m_target
    ``S_min = log(m0/m_target)`` and ``E_min = integral B_noise ds = 2 S_min + 1/m_target - 1/m0``.
    A constant batch B then needs ``S = S_min + E_min/B`` steps and ``E = B S_min + E_min``
    examples, so ``(S/S_min - 1)(E/E_min - 1) = 1`` and ``B_crit = E_min/S_min`` is the average of
    ``B_noise`` over s.  With rates ``k eps_opt`` (see :func:`greedy_trajectory`) every count is
    divided by ``2k - k^2`` and ``B_crit`` is unchanged.  Domain: 0 < m_target < m0.
    """
    m_target = float(_check_m(m_target, "m_target"))
    m0 = float(_check_m(m0, "m0"))
    if m_target >= m0:
        raise ValueError(f"m_target must be below m0={m0!r}, got {m_target!r}")
    S_min = math.log(m0 / m_target)
    return S_min, 2.0 * S_min + 1.0 / m_target - 1.0 / m0


def continuum_sqrt_integral(m_target, m0: float = 9.0) -> float:
    r"""``I = integral_0^{S_min} sqrt(B_noise(s)) ds`` for the 1-D model, ``B_noise = 2 + e^s/m0``.

    With ``v = sqrt(B_noise)``: ``I = [2 v + sqrt(2) log((v - sqrt 2)/(v + sqrt 2))]`` between
    ``v0 = sqrt(2 + 1/m0)`` and ``v1 = sqrt(2 + 1/m_target)``.  The sqrt(B_noise) schedule with
    ``B = sqrt(lambda B_noise)`` needs ``S = S_min + I/sqrt(lambda)``, ``E = E_min + sqrt(lambda) I``.
    """
    continuum_steps_examples(m_target, m0)  # validates m_target and m0
    r2 = math.sqrt(2.0)

    def F(m):
        v = math.sqrt(2.0 + 1.0 / m)
        # log((v - r2)/(v + r2)) with v - r2 = (1/m)/(v + r2) computed without cancellation
        return 2.0 * v + r2 * (math.log(1.0 / m) - 2.0 * math.log(v + r2))

    return F(m_target) - F(m0)


def continuum_gamma(m_target, m0: float = 9.0) -> float:
    r"""``gamma = I^2 / (S_min E_min)`` (<= 1 by Cauchy–Schwarz) for the sqrt(B_noise) schedule:
    ``(S/S_min - 1)(E/E_min - 1) = gamma`` along the whole family ``B = sqrt(lambda B_noise)``."""
    S_min, E_min = continuum_steps_examples(m_target, m0)
    return continuum_sqrt_integral(m_target, m0) ** 2 / (S_min * E_min)


def simulate_schedule_1d(rates, batch_sizes, runs: int, seed: int = 0, m0: float = 9.0) -> np.ndarray:
    r"""Test losses ``((w_t - 3)^2 + 1)/2`` of ``runs`` SGD runs of the 1-D model, for every t <= T.

    Step t uses rate ``rates[t]`` and ``batch_sizes[t]`` fresh examples, starting from
    ``w_0 = 3 - sqrt(m0)`` (``w_0 = 0`` for the default m0 = 9).  The batch-mean gradient
    ``mean_i (w x_i - y_i) x_i = u Q/B - sqrt(Q) z/B`` with ``Q = sum x_i^2 ~ chi^2_B`` and, given
    the x's, ``sum x_i n_i ~ N(0, Q)``: an exact shortcut that draws two numbers per run and step
    whatever B.  Random numbers from ``numpy.random.default_rng(seed)``.

    Domain: rates in the stable range ``(0, 2B/(B+2))`` of each step; integer batch sizes >= 1.

    Returns
    -------
    array (T + 1, runs).
    """
    rates = np.atleast_1d(as_float_array("rates", rates))
    Bs = np.atleast_1d(as_float_array("batch_sizes", batch_sizes))
    if rates.ndim != 1 or Bs.shape != rates.shape:
        raise ValueError(f"rates and batch_sizes must be 1-D arrays of the same length, got shapes "
                         f"{rates.shape} and {Bs.shape}")
    if np.any(Bs < 1) or np.any(Bs != np.floor(Bs)):
        raise ValueError(f"batch_sizes must be integers >= 1, got {batch_sizes!r}")
    for eta, B in zip(rates, Bs):
        if not 0.0 < eta < stable_rate_bound(int(B)):
            raise ValueError(f"rates must lie in the stable range (0, 2B/(B+2)), got {eta!r} with B={int(B)}")
    runs = as_int("runs", runs, minimum=1)
    m0 = float(_check_m(m0, "m0"))
    rng = np.random.default_rng(seed)
    u = np.full(runs, -math.sqrt(m0))
    out = np.empty((rates.size + 1, runs))
    out[0] = 0.5 * (u * u + 1.0)
    for t, (eta, B) in enumerate(zip(rates, Bs)):
        Q = rng.chisquare(B, size=runs)
        z = rng.standard_normal(runs)
        u -= eta * (u * Q - np.sqrt(Q) * z) / B
        out[t + 1] = 0.5 * (u * u + 1.0)
    return out
