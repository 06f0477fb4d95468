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

import mpmath
import numpy as np

from . import _validation as check
from .linear1d import _gap, _log_contraction

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

# Costs of one iteration of the Python-level loops below, in elementary operations (see
# _validation.check_work: about 3e10 of them a minute), measured on the 2-core development machine
SCALAR_STEP = 300     # a loop on Python floats (steps_to_target)
ARRAY_STEP = 2000     # a loop that also writes numpy arrays element by element (greedy_trajectory)
M_DOMAIN = dict(low=1e-300, high=1e300)  # second moments m with 1/m representable, with room to spare
MAX_DIM = 4096  # the local quadratic model's matrices are dense: d^2 entries, eigendecompositions


class NoiseScales(NamedTuple):
    """The four scales of the local quadratic model (see the module docstring)."""

    eps_max: float
    delta_loss_max: float
    B_noise: float
    B_simple: float


def _scalar(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def _finite_or_raise(x, what: str, detail: str = ""):
    """Return ``x`` if every entry is finite, else raise: the true value does not fit in a double."""
    if not np.all(np.isfinite(x)):
        raise check.not_representable(what, detail)
    return x


def _pow2(a: np.ndarray) -> int:
    """The binary exponent e with max|a| in [2^(e-1), 2^e): dividing by 2^e is exact."""
    top = float(np.max(np.abs(a)))
    return int(np.frexp(top)[1]) if top > 0 else 0


def _ldexp(x: float, e: int, what: str) -> float:
    """x 2^e, refusing overflow and the underflow of a non-zero value to zero."""
    try:
        y = math.ldexp(x, e)
    except OverflowError:
        raise check.not_representable(what, f"about 2^{math.frexp(x)[1] + e}") from None
    if x != 0.0 and abs(y) < np.finfo(float).tiny:  # zero or subnormal: most or all digits lost
        raise check.not_representable(what, f"about 2^{math.frexp(x)[1] + e}, below the smallest normal double")
    return y


def _square_matrix(name: str, M, d: int) -> np.ndarray:
    M = check.real_array(name, M)
    if M.ndim == 0 and d == 1:
        M = M.reshape(1, 1)
    if M.shape != (d, d):
        raise ValueError(f"{name} must have shape ({d}, {d}) to match G, got shape {M.shape}")
    return M


def _check_moments(G, H, Sigma):
    """G (d,), H and Sigma (d, d), each divided by a power of two so that its largest entry is in [1/2, 1).

    Returns the scaled arrays and the three binary exponents. H must be symmetric positive definite,
    Sigma symmetric positive semi-definite (both to a relative 1e-12 of their largest entry), G nonzero.
    """
    G = check.real_array("G", G)
    if G.ndim == 0:
        G = G.reshape(1)
    if G.ndim != 1:
        raise ValueError(f"G must be a vector (shape (d,)), got shape {G.shape}")
    d = G.shape[0]
    if d == 0:
        raise ValueError("G must have at least one component, got an empty array")
    if d > MAX_DIM:
        raise ValueError(f"G must have at most {MAX_DIM} components (dense d x d matrices), got {d}")
    if not np.any(G != 0):
        raise ValueError("G must be nonzero (at a stationary point every scale is undefined)")
    H = _square_matrix("H", H, d)
    Sigma = _square_matrix("Sigma", Sigma, d)
    eg, eh, es = _pow2(G), _pow2(H), _pow2(Sigma)
    G, H, Sigma = np.ldexp(G, -eg), np.ldexp(H, -eh), np.ldexp(Sigma, -es)
    for name, M in (("H", H), ("Sigma", Sigma)):
        if not np.allclose(M, M.T, rtol=0.0, atol=1e-12):
            raise ValueError(f"{name} must be symmetric, got {M!r}")
    H, Sigma = 0.5 * (H + H.T), 0.5 * (Sigma + Sigma.T)
    eig_H = np.linalg.eigvalsh(H)
    if not eig_H[0] > 1e-15 * eig_H[-1]:
        raise ValueError(f"H must be positive definite (smallest eigenvalue above 1e-15 times the largest), got "
                         f"eigenvalues from {math.ldexp(eig_H[0], eh):.6g} to {math.ldexp(eig_H[-1], eh):.6g}")
    eig_S = np.linalg.eigvalsh(Sigma) if np.any(Sigma) else np.zeros(d)
    if eig_S[0] < -1e-12 * max(abs(eig_S[-1]), 1e-300):
        raise ValueError(f"Sigma must be positive semi-definite, got smallest eigenvalue {math.ldexp(eig_S[0], es):.6g}")
    return G, H, Sigma, eg, eh, es


def _batch(B, name: str = "B") -> np.ndarray:
    """Batch sizes of the local model: reals >= 1 (one example or more), inf for the noiseless limit."""
    return check.real_array(name, B, low=1, allow_inf=True,
                            domain="batch sizes >= 1 (one example or more; inf for the noiseless limit)")


def noise_scales(G, H, Sigma) -> NoiseScales:
    r"""``(eps_max, DeltaL_max, B_noise, B_simple)`` of the local quadratic model.

    .. math:: \epsilon_{max} = \frac{|G|^2}{G^T H G},\ \Delta L_{max} = \frac{|G|^4}{2 G^T H G},\
              B_{noise} = \frac{\operatorname{tr}(H\Sigma)}{G^T H G},\
              B_{simple} = \frac{\operatorname{tr}\Sigma}{|G|^2}.

    Computed from ``G``, ``H``, ``Sigma`` divided by powers of two (exact), so that no intermediate
    sum overflows or underflows; the powers are put back exactly. A scale whose true value does not
    fit in a double raises ``ValueError`` (e.g. ``DeltaL_max`` for ``|G| = 1e200``, ``H = 1``).

    Parameters
    ----------
    G : array (d,), nonzero, finite, d <= 4096; the true gradient (a scalar when d = 1).
    H : array (d, d), symmetric positive definite (smallest eigenvalue above 1e-15 times the
        largest); the Hessian.
    Sigma : array (d, d), symmetric positive semi-definite; the per-example gradient covariance.

    Reference: McCandlish et al. (2018), eqs. (2.4)–(2.8).

    Examples
    --------
    >>> noise_scales(-1.0, 1.0, 3.0)   # the 1-D model at w = 2: G = -1, H = 1, Sigma = 3
    NoiseScales(eps_max=1.0, delta_loss_max=0.5, B_noise=3.0, B_simple=3.0)
    """
    G, H, Sigma, eg, eh, es = _check_moments(G, H, Sigma)
    g2 = float(G @ G)             # in [1/4, d)
    gHg = float(G @ H @ G)        # > 0: H is positive definite relative to its largest entry
    trHS = float(np.sum(H * Sigma))  # tr(H Sigma) for symmetric matrices, >= 0
    trS = float(np.trace(Sigma))
    return NoiseScales(eps_max=_ldexp(g2 / gHg, -eh, "eps_max"),
                       delta_loss_max=_ldexp(0.5 * g2 * g2 / gHg, 4 * eg - 2 * eg - eh, "delta_loss_max"),
                       B_noise=_ldexp(trHS / gHg, es - 2 * eg, "B_noise") if trHS > 0 else 0.0,
                       B_simple=_ldexp(trS / g2, es - 2 * eg, "B_simple") if trS > 0 else 0.0)


def expected_improvement(eps, B, G, H, Sigma):
    r"""Expected loss decrease of one step in the local quadratic model (exact when the loss is quadratic),

    .. math:: \Delta L(\epsilon) &= \epsilon |G|^2 - \tfrac12\epsilon^2\big(G^T H G + \operatorname{tr}(H\Sigma)/B\big)\\
              &= \Delta L_{max}\,\rho\,\big(2 - \rho\,(1 + B_{noise}/B)\big),\qquad \rho = \epsilon/\epsilon_{max},

    evaluated in the second form (no intermediate overflow); an entry whose true value does not fit
    in a double raises ``ValueError``.

    Parameters
    ----------
    eps : real array (any sign, finite); the rate.
    B : array of batch sizes >= 1 (inf for the noiseless step); broadcasts with ``eps``.
    G, H, Sigma : as :func:`noise_scales`.
    """
    s = noise_scales(G, H, Sigma)
    eps = check.real_array("eps", eps)
    B = _batch(B)
    eps, B = np.broadcast_arrays(eps, B)
    with np.errstate(over="ignore", invalid="ignore"):
        rho = eps / s.eps_max
        out = s.delta_loss_max * rho * (2.0 - rho * (1.0 + s.B_noise / B))
    bad = ~np.isfinite(out)
    if np.any(bad):  # an intermediate overflowed: redo those entries in high precision
        out = np.array(out, dtype=float)
        with mpmath.workdps(30):
            for idx in zip(*np.nonzero(np.atleast_1d(bad))):
                e, b = np.atleast_1d(eps)[idx], np.atleast_1d(B)[idx]
                r = mpmath.mpf(float(e)) / s.eps_max
                v = s.delta_loss_max * r * (2 - r * (1 + (0 if math.isinf(b) else mpmath.mpf(s.B_noise) / float(b))))
                if abs(v) > np.finfo(float).max:
                    raise check.not_representable("the expected improvement", f"about {mpmath.nstr(v, 3)} at "
                                                  f"eps={float(e)!r}, B={float(b)!r}")
                np.atleast_1d(out)[idx] = float(v)
    return _scalar(out)


def optimal_rate(B, G, H, Sigma):
    r"""The one-step optimal rate ``eps_opt(B) = eps_max / (1 + B_noise / B)``.

    Vectorised over ``B`` (batch sizes >= 1; ``inf`` gives ``eps_max``). Domain and reference as
    :func:`noise_scales`.
    """
    s = noise_scales(G, H, Sigma)
    B = _batch(B)
    return _scalar(s.eps_max / (1.0 + s.B_noise / B))


def optimal_improvement(B, G, H, Sigma):
    r"""The one-step optimal improvement ``DeltaL_opt(B) = DeltaL_max / (1 + B_noise / B)``.

    Vectorised over ``B`` (batch sizes >= 1; ``inf`` gives ``DeltaL_max``). Domain as :func:`noise_scales`.
    """
    s = noise_scales(G, H, Sigma)
    B = _batch(B)
    return _scalar(s.delta_loss_max / (1.0 + s.B_noise / B))


# ----------------------------------------------------------------------------------------------
# Linear regression with Gaussian design: G, H and Sigma in closed form.

def _check_regression(u, cov, noise_var):
    u = check.real_array("u", u, low=-1e150, high=1e150, domain="reals in [-1e150, 1e150]")
    if u.ndim == 0:
        u = u.reshape(1)
    if u.ndim != 1 or u.shape[0] == 0:
        raise ValueError(f"u must be a non-empty vector (shape (d,)), got shape {u.shape}")
    d = u.shape[0]
    if d > MAX_DIM:
        raise ValueError(f"u must have at most {MAX_DIM} components (dense d x d matrices), got {d}")
    cov = check.real_array("cov", cov, low=-1e150, high=1e150, domain="reals in [-1e150, 1e150]")
    if cov.ndim == 0 and d == 1:
        cov = cov.reshape(1, 1)
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape ({d}, {d}) to match u, got shape {cov.shape}")
    scale = float(np.abs(cov).max())
    if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-12 * scale):
        raise ValueError(f"cov must be symmetric, got {cov!r}")
    cov = 0.5 * (cov + cov.T)
    eig = np.linalg.eigvalsh(cov / scale) if scale > 0 else np.zeros(d)
    if not eig[0] > 1e-15 * eig[-1]:
        raise ValueError(f"cov must be positive definite (smallest eigenvalue above 1e-15 times the largest), "
                         f"got smallest eigenvalue {eig[0] * scale:.6g}")
    noise_var = check.real("noise_var", noise_var, low=0, high=1e150)
    return u, cov, noise_var


def regression_moments(u, cov, noise_var=1.0):
    r"""``(G, H, Sigma)`` for linear regression with Gaussian design, at ``w = w* + u``.

    Data ``x ~ N(0, C)``, ``y = w*^T x + sqrt(s2) n`` with ``n ~ N(0, 1)``; loss
    ``L(w) = E[(w^T x - y)^2] / 2 = (u^T C u + s2) / 2``; per-example gradient
    ``g = x (x^T u - sqrt(s2) n)``.  Then

    .. math:: G = C u,\quad H = C,\quad \Sigma = C u u^T C + (u^T C u)\, C + s_2 C

    (Isserlis' theorem: ``E[x x^T u u^T x x^T] = 2 C u u^T C + (u^T C u) C``).  In the
    one-dimensional model (C = 1, s2 = 1): ``G = u``, ``H = 1``, ``Sigma = 2 u^2 + 1``.

    Parameters
    ----------
    u : array (d,) of reals in [-1e150, 1e150], d <= 4096; the offset ``w - w*``.
    cov : array (d, d), entries in [-1e150, 1e150], symmetric positive definite (a positive scalar
        when d = 1).
    noise_var : real in [0, 1e150], the label-noise variance s2.

    A moment whose true value does not fit in a double raises ``ValueError``.
    """
    u, C, s2 = _check_regression(u, cov, noise_var)
    with np.errstate(over="ignore", invalid="ignore"):
        Cu = C @ u
        Sigma = np.outer(Cu, Cu) + float(u @ Cu) * C + s2 * C
    _finite_or_raise(Cu, "G = C u")
    _finite_or_raise(Sigma, "Sigma", "u or cov too large")
    return Cu, C.copy(), Sigma


def sample_batch_gradients(u, cov, noise_var, batch_size, reps, rng) -> np.ndarray:
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
    B = check.integer("batch_size", batch_size, low=1)
    reps = check.integer("reps", reps, low=1)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {rng!r}")
    d = u.shape[0]
    check.check_work("noise_scale.sample_batch_gradients", operations=2.0 * reps * B * d * (d + 3),
                     memory_bytes=8.0 * reps * d + 8.0 * 3 * 2_000_000,
                     sizes=f"reps * batch_size * d^2 = {reps * B * d * d:.3g}")
    L = np.linalg.cholesky(C)
    out = np.empty((reps, d))
    chunk = max(1, 2_000_000 // (B * d + B))
    sd = math.sqrt(s2)
    for start in range(0, reps, chunk):
        n = min(chunk, reps - start)
        x = rng.standard_normal((n, B, d)) @ L.T
        resid = x @ u - sd * rng.standard_normal((n, B))
        out[start:start + n] = np.einsum("nbd,nb->nd", x, resid) / B
    return _finite_or_raise(out, "a batch gradient", "u or cov too large")


# ----------------------------------------------------------------------------------------------
# The two-batch-size estimator (McCandlish et al. 2018, appendix A).

def _check_two_batch(B_small, B_big):
    B_small = check.integer_array("B_small", B_small, low=1, high=10**15)
    B_big = check.integer_array("B_big", B_big, low=1, high=10**15)
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
    The gradients are divided by a common power of two first (exact), so squares cannot overflow;
    an estimate whose true value does not fit in a double raises ``ValueError``.

    Parameters
    ----------
    grad_small, grad_big : arrays (..., d) of finite reals: batch-mean gradients (last axis the
        parameters); leading axes index independent repetitions and broadcast.
    B_small, B_big : integer batch sizes, ``1 <= B_small < B_big <= 1e15``.

    Returns
    -------
    (G2_hat, trSigma_hat) : arrays shaped like the leading axes (floats for single gradients).
    """
    gs = check.real_array("grad_small", grad_small)
    gb = check.real_array("grad_big", grad_big)
    if gs.ndim == 0 or gb.ndim == 0:
        raise ValueError("grad_small and grad_big must be arrays with the parameters on the last axis")
    if gs.shape[-1] != gb.shape[-1]:
        raise ValueError(f"grad_small and grad_big must have the same number of parameters (last axis), "
                         f"got shapes {gs.shape} and {gb.shape}")
    Bs, Bb = _check_two_batch(B_small, B_big)
    e = max(_pow2(gs), _pow2(gb))
    gs, gb = np.ldexp(gs, -e), np.ldexp(gb, -e)
    ns_ = np.sum(gs * gs, axis=-1)
    nb_ = np.sum(gb * gb, axis=-1)
    with np.errstate(over="ignore"):
        G2 = np.ldexp((Bb * nb_ - Bs * ns_) / (Bb - Bs), 2 * e)
        trS = np.ldexp((ns_ - nb_) / (1.0 / Bs - 1.0 / Bb), 2 * e)
    _finite_or_raise(G2, "the estimate of |G|^2", "gradients too large")
    _finite_or_raise(trS, "the estimate of tr(Sigma)", "gradients too large")
    return _scalar(G2), _scalar(trS)


def two_batch_variance(G, Sigma, B_small, B_big, third=0.0, fourth=None):
    r"""Variances of the two estimators of :func:`two_batch_estimate` for independent batches.

    For the mean ``G_B`` of B i.i.d. per-example gradients ``g = G + e`` (``E e = 0``,
    ``cov e = Sigma``), expanding ``|G_B|^2 = |G|^2 + 2 G.e_bar + |e_bar|^2`` and counting the index
    pairings of the fourth moment gives

    .. math:: v(B) = \operatorname{Var}|G_B|^2 = \frac{4 G^T\Sigma G}{B} + \frac{4\kappa_3}{B^2}
              + \frac{2(B-1)\operatorname{tr}\Sigma^2 + \mu_4 - (\operatorname{tr}\Sigma)^2}{B^3},

    with ``kappa_3 = E[(G.e)|e|^2]`` (``third``) and ``mu_4 = E|e|^4`` (``fourth``; default the
    Gaussian value ``(tr Sigma)^2 + 2 tr Sigma^2``, and ``third`` defaults to 0, so the defaults give
    ``2 tr(Sigma^2)/B^2 + 4 G^T Sigma G / B``).  Then

    .. math:: \operatorname{Var}\widehat{|G|^2} &= \frac{B_{big}^2 v(B_{big}) + B_{small}^2 v(B_{small})}
              {(B_{big} - B_{small})^2},\\
              \operatorname{Var}\widehat{\operatorname{tr}\Sigma} &= \frac{v(B_{small}) + v(B_{big})}
              {(1/B_{small} - 1/B_{big})^2}.

    Parameters
    ----------
    G : array (d,), finite (zero allowed); Sigma : array (d, d), symmetric positive semi-definite.
    B_small, B_big : integer batch sizes, ``1 <= B_small < B_big <= 1e15`` (broadcast).
    third : real; ``kappa_3``. fourth : real >= (tr Sigma)^2, or None for the Gaussian value.

    Evaluated in double precision, and in high precision (mpmath) where an intermediate overflows;
    a variance whose true value does not fit in a double raises ``ValueError``.

    Returns
    -------
    (var_G2, var_trSigma)
    """
    G = check.real_array("G", G)
    if G.ndim == 0:
        G = G.reshape(1)
    if G.ndim != 1 or G.size == 0 or G.size > MAX_DIM:
        raise ValueError(f"G must be a vector of 1 to {MAX_DIM} components, got shape {G.shape}")
    Sigma = _square_matrix("Sigma", Sigma, G.size)
    es = _pow2(Sigma)
    Ss = np.ldexp(Sigma, -es)
    if not np.allclose(Ss, Ss.T, rtol=0.0, atol=1e-12):
        raise ValueError(f"Sigma must be symmetric, got {Sigma!r}")
    eig = np.linalg.eigvalsh(0.5 * (Ss + Ss.T)) if np.any(Ss) else np.zeros(G.size)
    if eig[0] < -1e-12 * max(abs(eig[-1]), 1e-300):
        raise ValueError(f"Sigma must be positive semi-definite, got smallest eigenvalue {math.ldexp(eig[0], es):.6g}")
    Bs, Bb = _check_two_batch(B_small, B_big)
    k3 = check.real("third", third)
    with np.errstate(over="ignore", invalid="ignore"):
        t1 = float(np.trace(Sigma))
        t2 = float(np.sum(Sigma * Sigma))
        gSg = float(G @ Sigma @ G)
    exact_mu4 = None
    if fourth is None and math.isfinite(t1) and math.isfinite(t2) and math.isfinite(gSg):
        mu4_default = t1 * t1 + 2.0 * t2
    else:
        mu4_default = None
    if fourth is not None:
        mu4 = check.real("fourth", fourth, low=0)
        with mpmath.workdps(30):
            jensen = mpmath.mpf(t1) ** 2 if math.isfinite(t1) else None
        if jensen is not None and mu4 < jensen * (1 - 1e-12):
            raise ValueError(f"fourth must be >= (tr Sigma)^2 = {float(jensen):.6g} (Jensen), got {fourth!r}")
        exact_mu4 = mu4
    # Cauchy-Schwarz: |kappa_3| = |E[(G.e)|e|^2]| <= sqrt(E[(G.e)^2] E|e|^4) = sqrt(G Sigma G mu_4)
    mu4_ref = exact_mu4 if exact_mu4 is not None else mu4_default
    if mu4_ref is not None and math.isfinite(gSg):
        with mpmath.workdps(30):
            bound = mpmath.sqrt(mpmath.mpf(max(gSg, 0.0)) * mpmath.mpf(mu4_ref))
        if abs(k3) > bound * (1 + 1e-9) + 1e-300:
            raise ValueError(f"third must satisfy |third| <= sqrt(G Sigma G * fourth) = {float(bound):.6g} "
                             f"(Cauchy-Schwarz), got {third!r}")

    def v_of(B, T1, T2, GSG, MU4):
        # Var |G_B|^2 of one batch, in floats or in mpmath numbers
        return 4 * GSG / B + 4 * k3 / B**2 + (2 * (B - 1) * T2 + MU4 - T1 * T1) / B**3

    with np.errstate(over="ignore", invalid="ignore"):
        ok = all(math.isfinite(x) for x in (t1, t2, gSg))
        if ok:
            mu4 = t1 * t1 + 2 * t2 if exact_mu4 is None else exact_mu4
            vs, vb = v_of(Bs, t1, t2, gSg, mu4), v_of(Bb, t1, t2, gSg, mu4)
            var_g2 = (Bb**2 * vb + Bs**2 * vs) / (Bb - Bs) ** 2
            var_tr = (vs + vb) / (1.0 / Bs - 1.0 / Bb) ** 2
            ok = np.all(np.isfinite(var_g2)) and np.all(np.isfinite(var_tr))
    if not ok:  # redo in high precision from the exact inputs
        with mpmath.workdps(40):
            Gm = [mpmath.mpf(float(x)) for x in G]
            Sm = [[mpmath.mpf(float(x)) for x in row] for row in Sigma]
            d = len(Gm)
            t1m = mpmath.fsum(Sm[i][i] for i in range(d))
            t2m = mpmath.fsum(Sm[i][j] ** 2 for i in range(d) for j in range(d))
            gsgm = mpmath.fsum(Gm[i] * Sm[i][j] * Gm[j] for i in range(d) for j in range(d))
            mu4m = t1m**2 + 2 * t2m if exact_mu4 is None else mpmath.mpf(exact_mu4)
            if mu4m < t1m**2 * (1 - mpmath.mpf("1e-12")):
                raise ValueError(f"fourth must be >= (tr Sigma)^2 = {mpmath.nstr(t1m**2, 6)} (Jensen), got {fourth!r}")

            def vm(B):
                return v_of(mpmath.mpf(float(B)), t1m, t2m, gsgm, mu4m)

            shape = np.broadcast(Bs, Bb).shape
            var_g2, var_tr = np.empty(shape), np.empty(shape)
            for idx, (bs_, bb_) in enumerate(zip(np.broadcast_to(Bs, shape).ravel(), np.broadcast_to(Bb, shape).ravel())):
                a, b = vm(bs_), vm(bb_)
                g2v = (mpmath.mpf(float(bb_)) ** 2 * b + mpmath.mpf(float(bs_)) ** 2 * a) / (float(bb_) - float(bs_)) ** 2
                trv = (a + b) / (1 / mpmath.mpf(float(bs_)) - 1 / mpmath.mpf(float(bb_))) ** 2
                for name, val in (("Var of the |G|^2 estimate", g2v), ("Var of the tr(Sigma) estimate", trv)):
                    if abs(val) > np.finfo(float).max:
                        raise check.not_representable(name, f"about {mpmath.nstr(val, 3)}")
                var_g2.ravel()[idx], var_tr.ravel()[idx] = float(g2v), float(trv)
    if np.any(np.asarray(var_g2) < 0) or np.any(np.asarray(var_tr) < 0):
        raise ValueError("third and fourth are not the moments of any distribution with this G and Sigma: "
                         "the variance of |G_B|^2 would be negative")
    return _scalar(var_g2), _scalar(var_tr)


# ----------------------------------------------------------------------------------------------
# The one-dimensional model: B_noise, the greedy rate, steps and examples to a target loss.

def _check_m(m, name: str = "m") -> np.ndarray:
    return check.real_array(name, m, **M_DOMAIN, domain="second moments (w - 3)^2 in [1e-300, 1e300]")


def _check_m_scalar(m, name: str) -> float:
    return check.real(name, m, **M_DOMAIN, domain="a second moment (w - 3)^2 in [1e-300, 1e300]")


def noise_scale_1d(m):
    r"""``B_noise = tr(H Sigma)/(G^T H G) = (2m + 1)/m = 2 + 1/m`` in the 1-D model, ``m = (w - 3)^2``.

    Since ``G^2 = m`` and ``Sigma = 2m + 1`` are affine in m, the same formula gives the ratio of
    expectations ``E[tr(H Sigma)]/E[G^T H G]`` when m is ``E[(w_t - 3)^2]`` (not the expectation of
    the local ``B_noise``, which is infinite when ``w_t`` has a density at 3).
    Domain: m in [1e-300, 1e300] (array).
    """
    m = _check_m(m)
    return _scalar(2.0 + 1.0 / m)


def noise_scale_from_loss(loss):
    r"""``B_noise`` as a function of the loss at w, ``L = ((w-3)^2 + 1)/2``: ``2 + 1/(2L - 1)``.

    Evaluated as ``2 + 0.5/(L - 1/2)`` (exact subtraction near the floor, no overflow for large L).
    Domain: L in (1/2, 1e300] (array); ``B_noise -> infinity`` like ``1/(2(L - 1/2))`` as the loss
    falls to the floor 1/2, and a ``B_noise`` above the largest double raises ``ValueError``.
    """
    loss = check.real_array("loss", loss, low=0.5, high=1e300, low_open=True,
                            domain="losses in (1/2, 1e300] (above the noise floor 1/2)")
    with np.errstate(over="ignore", divide="ignore"):
        out = 2.0 + 0.5 / (loss - 0.5)
    return _scalar(_finite_or_raise(out, "B_noise", "the loss is too close to the floor 1/2"))


def greedy_rate_1d(m, B):
    r"""The one-step optimal rate ``eps = 1/(1 + B_noise/B) = B m / ((B + 2) m + 1)`` (1-D model).

    Minimises ``E[(w_{t+1} - 3)^2] = r(eps) m + eps^2/B`` over eps. Evaluated in whichever of the two
    forms cannot overflow. Domain: m in [1e-300, 1e300], B a batch size >= 1 (inf: the Newton step,
    eps = 1); both broadcast.
    """
    m = _check_m(m)
    B = _batch(B)
    m, B = np.broadcast_arrays(m, B)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        small = B * m / ((B + 2.0) * m + 1.0)                  # finite when m < 1 and B finite
        large = 1.0 / (1.0 + (2.0 + 1.0 / m) / B)              # finite when m >= 1
        out = np.where((m < 1.0) & np.isfinite(B), small, large)
    return _scalar(out)


def second_moment_step(m, eps, B):
    r"""One step of the exact recursion ``m' = (1 - 2 eps + eps^2 (B+2)/B) m + eps^2 / B``.

    Written as ``(1 - eps)^2 m + eps^2 (2m + 1)/B``, a sum of squares
    ``((1 - eps) sqrt m)^2 + (eps sqrt((2m + 1)/B))^2`` that overflows only when the result does (then a
    ``ValueError``). Integer B gives the recursion of the first chapter; real B >= 1 its analytic
    interpolation (used by the continuum theory); ``B = inf`` the noiseless step. Broadcasts.

    Domain: m in [0, 1e300]; eps real (finite); B >= 1.
    """
    m = check.real_array("m", m, low=0, high=1e300, domain="second moments in [0, 1e300]")
    eps = check.real_array("eps", eps)
    B = _batch(B)
    with np.errstate(over="ignore", invalid="ignore"):
        a = (1.0 - eps) * np.sqrt(m)
        b = eps * np.sqrt((2.0 * m + 1.0) / B)
        out = a * a + b * b
    return _scalar(_finite_or_raise(out, "the second moment after the step", "the rate is too large"))


def _schedule_batch(m: float, B: float | None, c: float | None, integer: bool) -> float:
    b = B if c is None else max(1.0, c * math.sqrt(2.0 + 1.0 / m))
    return max(1.0, float(np.rint(b))) if integer else b


def _check_batch_choice(batch_size, batch_coef):
    if (batch_size is None) == (batch_coef is None):
        raise ValueError("give exactly one of batch_size (constant B) and batch_coef (B = max(1, c sqrt(B_noise)))")
    if batch_size is not None:
        return check.real_array("batch_size", batch_size, low=1, high=1e15,
                                domain="batch sizes in [1, 1e15] (one example or more)"), None
    return None, check.real_array("batch_coef", batch_coef, low=0, high=1e15, low_open=True,
                                  domain="coefficients c in (0, 1e15]")


def _check_rate_factor(rate_factor) -> float:
    return check.real("rate_factor", rate_factor, low=0, high=1, low_open=True)


def greedy_trajectory(T, batch_size=None, batch_coef=None, m0=9.0, integer=False, rate_factor=1.0):
    r"""Exact ``m_t = E[(w_t - 3)^2]``, rates and batch sizes for t <= T under the greedy rate.

    Each step uses ``eps_t = B_t m_t / ((B_t + 2) m_t + 1)`` (the one-step optimum), which turns
    the recursion into ``m_{t+1} = m_t (1 - eps_t) = m_t (2 m_t + 1)/((B_t + 2) m_t + 1)``.  The
    batch is either constant (``batch_size``) or ``B_t = max(1, batch_coef * sqrt(B_noise(m_t)))``
    (never below one example); with ``integer=True`` it is rounded to the nearest integer (what a
    simulation can run).

    ``rate_factor = k`` in (0, 1] scales every rate, ``eps_t = k * eps_opt``; then
    ``m_{t+1} = m_t (1 - (2k - k^2) eps_opt)``: each step achieves the fraction ``2k - k^2`` of the
    one-step optimal improvement.  Small k makes every step small (the continuum regime).

    Parameters
    ----------
    T : int in [0, 1e6]; batch_size : real in [1, 1e15], or batch_coef : real in (0, 1e15] (one of the
    two); m0 : real in [1e-300, 1e300]; integer : bool; rate_factor : real in (0, 1].

    Returns
    -------
    (m, eps, B) : arrays of lengths T + 1, T, T.
    """
    T = check.integer("T", T, low=0, high=10**6)
    bs, bc = _check_batch_choice(batch_size, batch_coef)
    if (bs if bs is not None else bc).ndim:
        raise ValueError("greedy_trajectory takes a single batch_size or batch_coef (use steps_to_target "
                         "to sweep)")
    m0 = _check_m_scalar(m0, "m0")
    integer = check.flag("integer", integer)
    k = _check_rate_factor(rate_factor)
    check.check_work("noise_scale.greedy_trajectory", operations=ARRAY_STEP * T, sizes=f"T = {T}")
    B_const = None if bs is None else float(bs)
    c = None if bc is None else float(bc)
    f = 2.0 * k - k * k
    m = np.empty(T + 1)
    eps = np.empty(T)
    Bt = np.empty(T)
    m[0] = m0
    for t in range(T):
        B = _schedule_batch(m[t], B_const, c, integer)
        e = 1.0 / (1.0 + (2.0 + 1.0 / m[t]) / B)   # B m/((B + 2) m + 1) without overflow
        eps[t], Bt[t] = k * e, B
        m[t + 1] = m[t] * (1.0 - f * e)
    return m, eps, Bt


def steps_to_target(m_target, batch_size=None, batch_coef=None, m0=9.0, max_steps=10**6, rate_factor=1.0,
                    integer=False):
    r"""Steps S and examples E for the greedy-rate recursion to reach ``E[(w-3)^2] <= m_target``.

    ``S`` is the first t with ``m_t <= m_target`` (an integer) and ``E = sum_{t<S} B_t``, with the
    exact recursion of :func:`greedy_trajectory`.  Vectorised over an array of constant batch sizes
    (``batch_size``, reals in [1, 1e15]) or of schedule coefficients (``batch_coef``:
    ``B_t = max(1, c sqrt(B_noise(m_t)))``), rounded to the nearest integer when ``integer`` (as in
    :func:`greedy_trajectory`). The target loss is ``(1 + m_target)/2``; ``rate_factor`` as in
    :func:`greedy_trajectory`.

    Domain: 0 < m_target < m0, both in [1e-300, 1e300]; max_steps an int >= 1 bounds each run (a
    ValueError if some run needs more), and the total work of all runs is capped by check_work.

    Returns
    -------
    (S, E) : arrays shaped like the batch argument (floats for scalars).
    """
    bs, bc = _check_batch_choice(batch_size, batch_coef)
    m0 = _check_m_scalar(m0, "m0")
    m_target = check.real("m_target", m_target, low=M_DOMAIN["low"], high=m0, high_open=True,
                          domain=f"a real number in [1e-300, m0) = [1e-300, {m0:.6g})")
    max_steps = check.integer("max_steps", max_steps, low=1)
    k = _check_rate_factor(rate_factor)
    integer = check.flag("integer", integer)
    check.check_work("noise_scale.steps_to_target", operations=SCALAR_STEP * max_steps,
                     sizes=f"max_steps = {max_steps}")
    arg = bs if bs is not None else bc
    f = 2.0 * k - k * k
    S = np.empty(arg.shape)
    E = np.empty(arg.shape)
    total = 0                   # steps of all runs so far: the work actually done, checked as it grows
    for idx, a in np.ndenumerate(arg):  # scalar loops: faster than numpy on tiny arrays
        a = float(a)
        m, steps, examples = m0, 0, 0.0
        while m > m_target:
            if steps == max_steps:
                raise ValueError(f"max_steps={max_steps} is too small to reach m_target={m_target!r}")
            B = a if bs is not None else max(1.0, a * math.sqrt(2.0 + 1.0 / m))
            if integer:
                B = max(1.0, float(round(B)))
            m = m * (1.0 - f / (1.0 + (2.0 + 1.0 / m) / B))
            steps += 1
            examples += B
            if not (total + steps) & 0xFFFFF:
                check.check_work("noise_scale.steps_to_target", operations=SCALAR_STEP * (total + steps),
                                 sizes=f"{arg.size} runs, {total + steps} steps so far")
        total += steps
        check.check_work("noise_scale.steps_to_target", operations=SCALAR_STEP * total,
                         sizes=f"{arg.size} runs, {total} steps so far")
        S[idx], E[idx] = steps, examples
    return _scalar(S), _scalar(E)


def steps_to_target_constant_rate(m_target, batch_size, m0=9.0, grid=4000):
    r"""Fewest steps to ``E[(w-3)^2] <= m_target`` with a constant rate tuned for each batch size.

    With a constant rate the exact second moment is ``m_t = m_* + (m0 - m_*) r^t`` with
    ``r = 1 - 2 eta + eta^2 (B + 2)/B`` and ``m_* = eta/(2B - eta (B + 2))`` (the first chapter's closed
    form, written out here), so the target is reached after
    ``ceil(log((m_target - m_*)/(m0 - m_*)) / log r)`` steps when ``m_* < m_target``.  The rate is
    searched on a log grid of ``grid`` points in ``(0, B/(B+2)]`` (faster rates are dominated) and the
    best integer step count is kept.

    Parameters
    ----------
    m_target : 0 < m_target < m0, both in [1e-300, 1e300].
    batch_size : int in [1, 1e15] or array of them.
    grid : int in [10, 1e6], the number of candidate rates per batch size.

    Returns
    -------
    (S, E, eta) : arrays shaped like batch_size; ``E = B S``.
    """
    m0 = _check_m_scalar(m0, "m0")
    m_target = check.real("m_target", m_target, low=M_DOMAIN["low"], high=m0, high_open=True,
                          domain=f"a real number in [1e-300, m0) = [1e-300, {m0:.6g})")
    grid = check.integer("grid", grid, low=10, high=10**6)
    Bs = check.integer_array("batch_size", batch_size, low=1, high=10**15)
    check.check_work("noise_scale.steps_to_target_constant_rate", operations=60.0 * grid * max(Bs.size, 1),
                     memory_bytes=8.0 * 8 * grid, sizes=f"grid * batch sizes = {grid * Bs.size}")
    S = np.empty(Bs.shape)
    etas = np.empty(Bs.shape)
    for idx, B in np.ndenumerate(Bs):
        B = float(B)
        eta = B / (B + 2.0) * np.logspace(-6, 0, grid)
        log_r, _, gap = _log_contraction(eta, B)            # gap > 0 in the stable range, no cancellation
        m_star = eta / gap
        ok = m_star < m_target
        with np.errstate(divide="ignore", invalid="ignore"):
            T = np.where(ok, np.ceil(np.log((m_target - m_star) / (m0 - m_star)) / log_r - 1e-9), np.inf)
        T = np.maximum(T, 1.0)
        j = int(np.argmin(T))
        if not np.isfinite(T[j]):
            raise ValueError(f"m_target={m_target!r} is below the noise floor of every rate on the grid at "
                             f"batch size {B:g}; raise grid")
        S[idx], etas[idx] = T[j], eta[j]
    return _scalar(S), _scalar(Bs * S), _scalar(etas)


def continuum_steps_examples(m_target, m0=9.0):
    r"""The continuum (small-step) theory for the 1-D model: ``(S_min, E_min)``.

    In units of ideal noiseless steps, ``ds = dL / DeltaL_max = -dm/m``, so from m0 to m_target
    ``S_min = log(m0/m_target)`` and ``E_min = integral B_noise ds = 2 S_min + 1/m_target - 1/m0``.
    A constant batch B then needs ``S = S_min + E_min/B`` steps and ``E = B S_min + E_min``
    examples, so ``(S/S_min - 1)(E/E_min - 1) = 1`` and ``B_crit = E_min/S_min`` is the average of
    ``B_noise`` over s.  With rates ``k eps_opt`` (see :func:`greedy_trajectory`) every count is
    divided by ``2k - k^2`` and ``B_crit`` is unchanged.  Domain: 0 < m_target < m0, both in
    [1e-300, 1e300].
    """
    m0 = _check_m_scalar(m0, "m0")
    m_target = check.real("m_target", m_target, low=M_DOMAIN["low"], high=m0, high_open=True,
                          domain=f"a real number in [1e-300, m0) = [1e-300, {m0:.6g})")
    # log(m0/m_target) = log1p((m0 - m_target)/m_target): the difference is exact when the two are close
    S_min = math.log1p((m0 - m_target) / m_target)
    return S_min, 2.0 * S_min + (m0 - m_target) / m_target / m0


# Gauss-Legendre nodes for short intervals, where the integrand sqrt(2 + e^s/m0) varies by less than 6 %
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)


def continuum_sqrt_integral(m_target, m0=9.0) -> float:
    r"""``I = integral_0^{S_min} sqrt(B_noise(s)) ds`` for the 1-D model, ``B_noise = 2 + e^s/m0``.

    With ``v = sqrt(B_noise)``: ``I = [2 v + sqrt(2) log((v - sqrt 2)/(v + sqrt 2))]`` between
    ``v0 = sqrt(2 + 1/m0)`` and ``v1 = sqrt(2 + 1/m_target)``.  The sqrt(B_noise) schedule with
    ``B = sqrt(lambda B_noise)`` needs ``S = S_min + I/sqrt(lambda)``, ``E = E_min + sqrt(lambda) I``.
    For ``S_min < 0.1`` the difference of antiderivatives cancels, and the integral is evaluated by
    12-point Gauss–Legendre quadrature instead (exact to rounding on so short an interval).
    Domain as :func:`continuum_steps_examples`.
    """
    S_min, _ = continuum_steps_examples(m_target, m0)  # validates m_target and m0
    m_target, m0 = float(m_target), float(m0)
    if S_min < 0.1:
        s = 0.5 * S_min * (_GL_NODES + 1.0)
        return float(0.5 * S_min * (_GL_WEIGHTS @ np.sqrt(2.0 + np.exp(s) / m0)))
    r2 = math.sqrt(2.0)

    def F(m):
        v = math.sqrt(2.0 + 1.0 / m)
        # log((v - r2)/(v + r2)) with v - r2 = (1/m)/(v + r2) computed without cancellation
        return 2.0 * v + r2 * (math.log(1.0 / m) - 2.0 * math.log(v + r2))

    return F(m_target) - F(m0)


def continuum_gamma(m_target, m0=9.0) -> float:
    r"""``gamma = I^2 / (S_min E_min)`` (<= 1 by Cauchy–Schwarz) for the sqrt(B_noise) schedule:
    ``(S/S_min - 1)(E/E_min - 1) = gamma`` along the whole family ``B = sqrt(lambda B_noise)``.
    Domain as :func:`continuum_steps_examples`; ``gamma -> 1`` as ``m_target -> m0``."""
    S_min, E_min = continuum_steps_examples(m_target, m0)
    # I^2/(S E) with I/S and I/E formed first: no underflow of S E when S_min is tiny
    I = continuum_sqrt_integral(m_target, m0)
    return min(1.0, (I / S_min) * (I / E_min))


def simulate_schedule_1d(rates, batch_sizes, runs, seed=0, m0=9.0) -> np.ndarray:
    r"""Test losses ``((w_t - 3)^2 + 1)/2`` of ``runs`` SGD runs of the 1-D model, for every t <= T.

    Step t uses rate ``rates[t]`` and ``batch_sizes[t]`` fresh examples, starting from
    ``w_0 = 3 - sqrt(m0)`` (``w_0 = 0`` for the default m0 = 9).  The batch-mean gradient
    ``mean_i (w x_i - y_i) x_i = u Q/B - sqrt(Q) z/B`` with ``Q = sum x_i^2 ~ chi^2_B`` and, given
    the x's, ``sum x_i n_i ~ N(0, Q)``: an exact shortcut that draws two numbers per run and step
    whatever B.  Random numbers from ``numpy.random.default_rng(seed)``.

    Domain: rates in the stable range ``(0, 2B/(B+2))`` of each step; integer batch sizes in
    [1, 1e15]; runs an int >= 1; seed: an int in [0, 2^63); m0 in [1e-300, 1e300].

    Returns
    -------
    array (T + 1, runs).
    """
    rates = check.real_array("rates", rates, ndim=1, min_size=1)
    Bs = check.integer_array("batch_sizes", batch_sizes, low=1, high=10**15, ndim=1)
    if Bs.shape != rates.shape:
        raise ValueError(f"rates and batch_sizes must have the same length, got {rates.size} and {Bs.size}")
    bad = ~((rates > 0) & (_gap(rates, Bs) > 0))    # the stable range decided exactly, as in linear1d
    if np.any(bad):
        t = int(np.argmax(bad))
        raise ValueError(f"rates must lie in the stable range (0, 2B/(B+2)) of each step, got rates[{t}] = "
                         f"{rates[t]!r} with B = {int(Bs[t])}")
    runs = check.integer("runs", runs, low=1)
    seed = check.seed("seed", seed)
    m0 = _check_m_scalar(m0, "m0")
    check.check_work("noise_scale.simulate_schedule_1d", operations=80.0 * rates.size * runs,
                     memory_bytes=8.0 * (rates.size + 1) * runs + 8.0 * 4 * runs,
                     sizes=f"steps * runs = {rates.size * runs:.3g}")
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
