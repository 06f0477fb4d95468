r"""The Multi-Power Law of loss curves under learning-rate schedules, its baselines, fitting and scores.

Conventions.  A *curve* is ``(lrs, steps, losses)``: ``lrs[s]`` is the rate used at step ``s``
(``s = 0, ..., T-1``), ``losses[i]`` the loss observed after ``steps[i]`` updates, i.e. after the
rates ``lrs[0], ..., lrs[steps[i] - 1]`` were used (``1 <= steps[i] <= T``).  The warmup is the
part of the schedule before its (first) peak: with ``W = argmax(lrs) + 1`` the steps ``s < W``
ramp up and the rate drops counted by the laws start at ``k = W`` (an explicit ``warmup=W`` may be
given instead).

The Multi-Power Law (Luo et al. 2025, eq. (1)) for the loss after ``n`` updates:

.. math::

    L(n) = L_0 + A\,\bigl(S_1(n) + S_W\bigr)^{-\alpha} - LD(n),\qquad
    LD(n) = B \sum_{k=W}^{n-1} (\eta_{k-1} - \eta_k)\, G\bigl(\eta_k^{-\gamma} S_k(n)\bigr),

    G(x) = 1 - (C x + 1)^{-\beta},\qquad S_k(n) = \sum_{\tau=k}^{n-1} \eta_\tau,

where ``S_1(n) + S_W = sum_{s<n} lrs[s]`` is the whole area under the schedule so far (warmup area
``S_W`` plus post-warmup area; the paper's ``S_1`` omits the peak step itself, a difference of one
step).  Baselines, fitted and scored the same way:

* :class:`PowerLaw`: ``L0 + A (S_1 + S_W)^{-alpha}`` (the constant-rate law with the area as time);
* :class:`MomentumLaw` (Tissue et al. 2024, "scaling law with learning-rate annealing"):
  ``L0 + A (S_1 + S_W)^{-alpha} - C S_2`` with ``S_2(n) = sum_{i=W}^{n-1} m_i``,
  ``m_i = lambda m_{i-1} + (eta_{i-1} - eta_i)`` (``m_{W-1} = 0``), the "annealing area" with decay
  factor ``lambda`` (the paper's default ``0.999``, kept fixed here).

The loss-drop sum is evaluated without a Python loop over steps: only steps where the rate changes
contribute, partial sums are differences of one cumulative sum, and the (observation x change point)
matrix is compressed hierarchically (:func:`loss_drop_nodes`): change points within ``window``
steps of the observation are summed exactly; farther ones are grouped in aligned dyadic blocks whose
rate area is at most ``ratio`` times their area-distance to the observation, and each block's drops
are replaced by ``order`` of its own change points with weights that reproduce the block's drop
moments ``sum d_k u_k^j`` (j < order; exact for summands that are cubic in k).  With the defaults the
relative error of LD is below 1e-7 on smooth schedules (about 3e-8 in the tests against the dense sum); ``window=None``
gives the dense exact sum.

Fitting follows the authors: minimise the Huber loss (``delta = 1e-3``) of the residuals of the
log-loss, ``sum_i H(log L_pred_i - log L_i)``, over the log-parameters with L-BFGS-B and analytic
gradients, from a grid of initialisations (for each grid point of the non-linear parameters the
linear ones ``L0, A, B`` are first set by non-negative least squares; the best ``n_starts`` grid
points are refined).  Rates are divided by the largest training rate internally, so the same grid
serves rates of 1e-4 and of 0.3; ``.params`` are returned in the original units.

References: Luo et al. (2025), arXiv:2503.12811; Tissue et al. (2024), arXiv:2408.11029;
Huber (1964).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.signal import lfilter

from ._validation import as_float_array

__all__ = [
    "PARAM_NAMES",
    "FittedLaw",
    "final_loss_and_gradient",
    "fit",
    "fit_momentum_law",
    "fit_power_law",
    "huber",
    "loss_drop_nodes",
    "mae",
    "mean_relative_error",
    "multi_power_law",
    "optimal_schedule",
    "r2",
    "rmse",
    "score",
    "worst_relative_error",
]

PARAM_NAMES = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
_TINY = 1e-300


# ----------------------------------------------------------------------------- argument checks
def _check_lrs(lrs) -> np.ndarray:
    e = as_float_array("lrs", lrs)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-D array of rates, got shape {e.shape}")
    if np.any(e < 0) or not np.any(e > 0):
        raise ValueError("lrs must be non-negative with at least one positive rate, got "
                         f"min {e.min():.6g}, max {e.max():.6g}")
    return e


def _check_steps(steps, T: int) -> np.ndarray:
    s = as_float_array("steps", steps)
    if s.ndim != 1 or s.size == 0 or np.any(s != np.floor(s)) or np.any(s < 1) or np.any(s > T):
        raise ValueError(f"steps must be a non-empty 1-D array of integers in 1..{T} (= len(lrs)), "
                         f"got {steps!r}")
    return s.astype(np.int64)


def _check_warmup(warmup, e: np.ndarray) -> int:
    if warmup is None:
        return int(np.argmax(e)) + 1
    if isinstance(warmup, bool) or int(warmup) != warmup or not 0 <= warmup <= e.size:
        raise ValueError(f"warmup must be None or an integer in [0, {e.size}], got {warmup!r}")
    return max(int(warmup), 1)


def _check_losses(losses, n: int) -> np.ndarray:
    y = as_float_array("losses", losses)
    if y.shape != (n,) or np.any(y <= 0):
        raise ValueError(f"losses must be {n} positive numbers (one per step), got {losses!r}")
    return y


def _check_curves(curves):
    try:
        curves = list(curves)
    except TypeError:
        raise ValueError(f"curves must be a list of (lrs, steps, losses) triples, got {curves!r}") from None
    if not curves:
        raise ValueError("curves must contain at least one (lrs, steps, losses) triple, got []")
    out = []
    for j, c in enumerate(curves):
        if len(c) != 3:
            raise ValueError(f"curves[{j}] must be a triple (lrs, steps, losses), got length {len(c)}")
        e = _check_lrs(c[0])
        s = _check_steps(c[1], e.size)
        y = _check_losses(c[2], s.size)
        out.append((e, s, y))
    return out


# ----------------------------------------------------------------------------- loss-drop quadrature
def _block_nodes(d: np.ndarray, nz: np.ndarray, log_e: np.ndarray, a: int, H: int, order: int,
                 smooth_tol: float):
    """Change points and weights representing sum_{k in [a, a+H)} d_k f(k), or None if the rates in
    the block are not smooth enough (log-rate farther than smooth_tol from a polynomial of degree
    ``order``) for the moment-matching rule, which is exact for f a polynomial of degree < order."""
    S = np.flatnonzero(nz[a:a + H]) + a
    if S.size <= 2 * order:
        return S, d[S]
    mid, half = 0.5 * (S[0] + S[-1]), max(0.5 * (S[-1] - S[0]), 1.0)
    uS = (S - mid) / half
    V_fit = np.polynomial.chebyshev.chebvander(uS, order)
    coef = np.linalg.lstsq(V_fit, log_e[S], rcond=None)[0]
    if np.max(np.abs(V_fit @ coef - log_e[S])) > smooth_tol:
        return None
    j = np.round((S.size - 1) * 0.5 * (1.0 - np.cos(np.pi * (2 * np.arange(order) + 1) / (2 * order))))
    j = np.unique(j.astype(np.int64))
    nodes = S[j]
    un = (nodes - mid) / half
    powers = np.arange(nodes.size)
    V = un[None, :] ** powers[:, None]
    rhs = (uS[None, :] ** powers[:, None]) @ d[S]
    return nodes, np.linalg.solve(V, rhs)


def loss_drop_nodes(lrs, steps, warmup=None, window=64, ratio=0.25, base=16, order=4,
                    smooth_tol=1e-7):
    r"""Change points ``k`` and weights ``w`` with ``LD(n_i)/B ~= sum_j w_ij G(eta_k^-gamma S_k(n_i))``.

    For observation ``n`` the change points ``W <= k < n`` with ``d_k = eta_{k-1} - eta_k != 0`` in
    the last ``window`` steps (rounded down to a multiple of ``base``) get their own weight ``d_k``;
    earlier ones are covered, from the exact window backwards, by aligned blocks of ``base * 2^l``
    steps, each the largest one whose rate area is at most ``ratio`` times the area between its end
    and ``n`` (blocks failing this even at ``base`` steps are summed exactly); a block with more than
    ``2 order`` change points is replaced by ``order`` of them with moment-matching weights, provided
    the log-rate over the block is within ``smooth_tol`` of a polynomial of degree ``order`` (blocks
    of rough schedules are split further or summed exactly).

    Parameters
    ----------
    lrs : 1-D array of rates >= 0;  steps : 1-D integer array in 1..len(lrs);
    warmup : None (peak detection) or int;  window : int >= base/ratio, or None for the dense sum;
    ratio : float in (0, 1];  base : int >= 1;  order : int in 1..8.

    Returns
    -------
    (idx, w) : int and float arrays of shape ``(len(steps), P)``, padded with ``w = 0``.
    """
    e = _check_lrs(lrs)
    n_arr = _check_steps(steps, e.size)
    W = _check_warmup(warmup, e)
    if not (0 < ratio <= 1) or int(base) != base or base < 1 or int(order) != order or not 1 <= order <= 8:
        raise ValueError(f"need 0 < ratio <= 1, integer base >= 1, integer order in 1..8; got "
                         f"ratio={ratio!r}, base={base!r}, order={order!r}")
    if window is not None and (int(window) != window or window < base / ratio):
        raise ValueError(f"window must be None or an integer >= base/ratio = {base / ratio:.6g}, got {window!r}")
    T = e.size
    c = np.concatenate([[0.0], np.cumsum(e)])
    d = np.zeros(T)
    if W < T:
        d[W:] = e[W - 1:-1] - e[W:]
    nz = d != 0
    log_e = np.log(np.maximum(e, _TINY))
    cache: dict = {}

    def block(a, H):
        key = (a, H)
        if key not in cache:
            cache[key] = _block_nodes(d, nz, log_e, a, H, int(order), smooth_tol)
        return cache[key]

    rows_k, rows_w = [], []
    for n in n_arr.tolist():
        if n <= W:
            rows_k.append(np.empty(0, np.int64))
            rows_w.append(np.empty(0))
            continue
        if window is None:
            lo = W
        else:
            rel = n - W - int(window)
            lo = W + (rel // base) * base if rel > 0 else W
        ks = [np.flatnonzero(nz[lo:n]) + lo]
        ws = [d[ks[0]]]
        pos = lo - W
        while pos > 0:
            end = W + pos
            dist = c[n] - c[end]
            H = base
            if c[end] - c[end - H] <= ratio * dist and block(end - H, H) is not None:
                while (pos % (2 * H) == 0 and c[end] - c[end - 2 * H] <= ratio * dist
                       and block(end - 2 * H, 2 * H) is not None):
                    H *= 2
                kk, ww = block(end - H, H)
            else:
                kk = np.flatnonzero(nz[end - H:end]) + end - H
                ww = d[kk]
            ks.append(kk)
            ws.append(ww)
            pos -= H
        rows_k.append(np.concatenate(ks))
        rows_w.append(np.concatenate(ws))
    P = max(1, max(r.size for r in rows_k))
    idx = np.zeros((n_arr.size, P), np.int64)
    w = np.zeros((n_arr.size, P))
    for i, (kk, ww) in enumerate(zip(rows_k, rows_w)):
        idx[i, :kk.size] = kk
        w[i, :kk.size] = ww
    return idx, w


# ----------------------------------------------------------------------------- designs
@dataclass
class _Design:
    """Everything about one curve that does not depend on the parameters."""
    log_area: np.ndarray                 # log(S1 + S_W) at each observation
    w: np.ndarray | None = None          # (n_obs, P) drop weights
    log_dist: np.ndarray | None = None   # (n_obs, P) log S_k(n)
    log_eta: np.ndarray | None = None    # (n_obs, P) log eta_k
    s2: np.ndarray | None = None         # momentum-law annealing area
    y: np.ndarray | None = None          # observed losses
    extra: dict = field(default_factory=dict)


def _mpl_design(e, n, W, quad):
    c = np.concatenate([[0.0], np.cumsum(e)])
    idx, w = loss_drop_nodes(e, n, W, **quad)
    dist = c[n][:, None] - c[idx]                        # S_k(n) = c_n - c_k
    log_dist = np.log(np.maximum(dist, _TINY))
    log_eta = np.log(np.maximum(e[idx], _TINY))
    return _Design(log_area=np.log(c[n]), w=w, log_dist=log_dist, log_eta=log_eta)


def _momentum_s2(e, n, W, lam):
    d = np.zeros(e.size)
    if W < e.size:
        d[W:] = e[W - 1:-1] - e[W:]
    m = lfilter([1.0], [1.0, -lam], d)
    return np.cumsum(m)[n - 1]


# ----------------------------------------------------------------------------- laws (normalised units)
def _G_terms(theta, D: _Design, grad: bool):
    """sum_j w_j G(x_j) per observation and, if asked, its derivatives w.r.t. log C, log beta, log gamma."""
    C, beta, gamma = math.exp(theta[4]), math.exp(theta[5]), math.exp(theta[6])
    lx = np.minimum(D.log_dist - gamma * D.log_eta, 700.0)
    Cx = C * np.exp(lx)
    u = np.log1p(Cx)
    q = np.exp(-beta * u)
    g = (1.0 - q) * D.w
    ld = g.sum(axis=1)
    if not grad:
        return ld, None
    h = beta * q * (Cx / (1.0 + Cx)) * D.w               # dG/dlogC * w
    dC = h.sum(axis=1)
    dbeta = (beta * u * q * D.w).sum(axis=1)
    dgamma = -gamma * (h * D.log_eta).sum(axis=1)
    return ld, np.stack([dC, dbeta, dgamma], axis=1)


class _Law:
    names: tuple = ()
    n_lin: int = 0

    def design(self, e, n, W):  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, theta, D, grad=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def grid(self):  # pragma: no cover - abstract
        raise NotImplementedError


class _MPL(_Law):
    names = PARAM_NAMES

    def __init__(self, quad):
        self.quad = quad

    def design(self, e, n, W):
        return _mpl_design(e, n, W, self.quad)

    def basis(self, theta, D):
        ld, _ = _G_terms(theta, D, grad=False)
        return np.stack([np.ones_like(ld), np.exp(-math.exp(theta[2]) * D.log_area), -ld], axis=1)

    def value(self, theta, D, grad=False):
        L0, A, alpha, B = (math.exp(v) for v in theta[:4])
        powr = A * np.exp(-alpha * D.log_area)
        ld, dG = _G_terms(theta, D, grad)
        pred = L0 + powr - B * ld
        if not grad:
            return pred, None
        J = np.empty((pred.size, 7))
        J[:, 0] = L0
        J[:, 1] = powr
        J[:, 2] = -alpha * D.log_area * powr
        J[:, 3] = -B * ld
        J[:, 4:] = -B * dG
        return pred, J

    def grid(self):
        return [np.log([1.0, 1.0, al, 1.0, C, be, ga]) for al, C, be, ga in itertools.product(
            (0.3, 0.6, 1.0), (0.3, 1.0, 3.0, 10.0), (0.3, 0.6, 1.2), (0.2, 0.5, 0.8))]

    @staticmethod
    def to_original(p, r):
        L0, A, alpha, B, C, beta, gamma = p
        return (L0, A * r ** alpha, alpha, B / r, C * r ** (gamma - 1.0), beta, gamma)


class _Power(_Law):
    names = ("L0", "A", "alpha")

    def design(self, e, n, W):
        return _Design(log_area=np.log(np.cumsum(e)[n - 1]))

    def basis(self, theta, D):
        return np.stack([np.ones_like(D.log_area), np.exp(-math.exp(theta[2]) * D.log_area)], axis=1)

    def value(self, theta, D, grad=False):
        L0, A, alpha = (math.exp(v) for v in theta[:3])
        powr = A * np.exp(-alpha * D.log_area)
        pred = L0 + powr
        if not grad:
            return pred, None
        return pred, np.stack([np.full_like(pred, L0), powr, -alpha * D.log_area * powr], axis=1)

    def grid(self):
        return [np.log([1.0, 1.0, al]) for al in (0.1, 0.2, 0.3, 0.5, 0.8, 1.2)]

    @staticmethod
    def to_original(p, r):
        L0, A, alpha = p
        return (L0, A * r ** alpha, alpha)


class _Momentum(_Law):
    names = ("L0", "A", "alpha", "C")

    def __init__(self, lam):
        self.lam = lam

    def design(self, e, n, W):
        return _Design(log_area=np.log(np.cumsum(e)[n - 1]), s2=_momentum_s2(e, n, W, self.lam))

    def basis(self, theta, D):
        return np.stack([np.ones_like(D.log_area), np.exp(-math.exp(theta[2]) * D.log_area), -D.s2],
                        axis=1)

    def value(self, theta, D, grad=False):
        L0, A, alpha, C = (math.exp(v) for v in theta[:4])
        powr = A * np.exp(-alpha * D.log_area)
        pred = L0 + powr - C * D.s2
        if not grad:
            return pred, None
        return pred, np.stack([np.full_like(pred, L0), powr, -alpha * D.log_area * powr,
                               -C * D.s2], axis=1)

    def grid(self):
        return [np.log([1.0, 1.0, al, 1.0]) for al in (0.1, 0.2, 0.3, 0.5, 0.8, 1.2)]

    @staticmethod
    def to_original(p, r):
        L0, A, alpha, C = p
        return (L0, A * r ** alpha, alpha, C / r)


# ----------------------------------------------------------------------------- objective
def huber(r, delta: float = 1e-3):
    r"""Huber loss ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (Huber 1964)."""
    r = np.asarray(r, dtype=float)
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _objective(theta, law, designs, delta, scale):
    J = 0.0
    g = np.zeros(theta.size)
    for D in designs:
        pred, jac = law.value(theta, D, grad=True)
        # log(pred), continued linearly below eps so that the objective stays smooth and finite
        eps = 0.01 * D.y.min()
        safe = np.maximum(pred, eps)
        logp = np.where(pred >= eps, np.log(safe), math.log(eps) + (pred - eps) / eps)
        r = logp - np.log(D.y)
        J += huber(r, delta).sum()
        g += (np.clip(r, -delta, delta) / safe) @ jac
    return J * scale, g * scale


def _linear_start(theta, law, designs):
    """Set the linear parameters (L0, A[, B or C]) by non-negative least squares on the losses."""
    X = np.concatenate([law.basis(theta, D) for D in designs])
    y = np.concatenate([D.y for D in designs])
    col = np.maximum(np.abs(X).max(axis=0), 1e-300)
    coef, _ = nnls(X / col, y)
    coef = np.maximum(coef / col, 1e-8)
    th = theta.copy()
    lin = [0, 1, 3][:X.shape[1]]   # L0, A and (B or C) sit at these positions in every law
    for j, v in zip(lin, coef):
        th[j] = math.log(v)
    return th


@dataclass
class FittedLaw:
    """A fitted loss-curve law: ``.params`` (dict, original rate units) and ``.predict(lrs, steps)``."""
    law: str
    params: dict
    objective: float
    eta_ref: float
    _theta: np.ndarray = field(repr=False)
    _impl: _Law = field(repr=False)

    def predict(self, lrs, steps, warmup=None) -> np.ndarray:
        """Predicted loss after ``steps[i]`` updates of the schedule ``lrs`` (see module docstring)."""
        e = _check_lrs(lrs)
        n = _check_steps(steps, e.size)
        W = _check_warmup(warmup, e)
        pred, _ = self._impl.value(self._theta, self._impl.design(e / self.eta_ref, n, W))
        return pred


def _fit(law: _Law, name, curves, warmup, delta, n_starts, maxiter):
    curves = _check_curves(curves)
    if not (isinstance(delta, (int, float)) and delta > 0):
        raise ValueError(f"delta must be a positive number, got {delta!r}")
    if int(n_starts) != n_starts or n_starts < 1:
        raise ValueError(f"n_starts must be an integer >= 1, got {n_starts!r}")
    r = max(float(e.max()) for e, _, _ in curves)
    designs = []
    for e, n, y in curves:
        D = law.design(e / r, n, _check_warmup(warmup, e))
        D.y = y
        designs.append(D)
    n_obs = sum(D.y.size for D in designs)
    scale = 1.0 / (n_obs * delta * delta)
    starts = []
    for th in law.grid():
        th = _linear_start(np.asarray(th, float), law, designs)
        starts.append((_objective(th, law, designs, delta, scale)[0], th))
    starts.sort(key=lambda t: t[0])
    best = None
    bounds = [(-30.0, 30.0)] * len(law.names)
    for _, th in starts[:int(n_starts)]:
        res = minimize(_objective, th, args=(law, designs, delta, scale), jac=True,
                       method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": int(maxiter), "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20})
        if best is None or res.fun < best.fun:
            best = res
    p_norm = tuple(math.exp(v) for v in best.x)
    params = dict(zip(law.names, (float(v) for v in law.to_original(p_norm, r))))
    return FittedLaw(law=name, params=params, objective=float(best.fun / scale),
                     eta_ref=r, _theta=best.x.copy(), _impl=law)


_DEFAULT_QUAD = {"window": 64, "ratio": 0.25, "base": 16, "order": 4, "smooth_tol": 1e-7}


def fit(curves, *, warmup=None, delta: float = 1e-3, n_starts: int = 4, maxiter: int = 3000,
        quadrature: dict | None = None) -> FittedLaw:
    r"""Fit the Multi-Power Law to loss curves ``[(lrs, steps, losses), ...]``.

    Minimises ``sum_i Huber_delta(log L_pred_i - log L_i)`` over the log-parameters with L-BFGS-B
    (analytic gradient), started from the ``n_starts`` best points of a grid of 108 initialisations of
    ``(alpha, C, beta, gamma)`` (the linear ``L0, A, B`` set by non-negative least squares).

    Returns
    -------
    FittedLaw with ``.params`` = {L0, A, alpha, B, C, beta, gamma} and ``.predict(lrs, steps)``.
    """
    quad = dict(_DEFAULT_QUAD if quadrature is None else quadrature)
    return _fit(_MPL(quad), "multi-power", curves, warmup, delta, n_starts, maxiter)


def fit_power_law(curves, *, warmup=None, delta: float = 1e-3, n_starts: int = 3,
                  maxiter: int = 3000) -> FittedLaw:
    r"""Fit ``L0 + A (S1 + S_W)^(-alpha)`` (a power law in the rate area) the same way as :func:`fit`."""
    return _fit(_Power(), "power", curves, warmup, delta, n_starts, maxiter)


def fit_momentum_law(curves, *, lam: float = 0.999, warmup=None, delta: float = 1e-3,
                     n_starts: int = 3, maxiter: int = 3000) -> FittedLaw:
    r"""Fit Tissue et al.'s ``L0 + A (S1 + S_W)^(-alpha) - C S2`` (annealing area, decay ``lam``)."""
    if not (isinstance(lam, (int, float)) and 0 <= lam < 1):
        raise ValueError(f"lam must be a number in [0, 1), got {lam!r}")
    return _fit(_Momentum(float(lam)), "momentum", curves, warmup, delta, n_starts, maxiter)


# ----------------------------------------------------------------------------- direct evaluation
def _check_params(params) -> tuple:
    try:
        vals = tuple(float(params[k]) for k in PARAM_NAMES)
    except (KeyError, TypeError):
        raise ValueError(f"params must be a mapping with keys {PARAM_NAMES}, got {params!r}") from None
    if not all(math.isfinite(v) and v > 0 for v in vals[1:]) or not math.isfinite(vals[0]):
        raise ValueError(f"params must be finite with A, alpha, B, C, beta, gamma > 0, got {params!r}")
    return vals


def multi_power_law(lrs, steps, params, warmup=None, window=64) -> np.ndarray:
    r"""The Multi-Power Law prediction ``L(n)`` at ``n = steps`` for given parameters (module docstring).

    ``window=None`` evaluates the loss-drop sum densely (exact, O(len(steps) x changes) memory).
    """
    L0, A, alpha, B, C, beta, gamma = _check_params(params)
    e = _check_lrs(lrs)
    n = _check_steps(steps, e.size)
    W = _check_warmup(warmup, e)
    quad = dict(_DEFAULT_QUAD, window=window)
    D = _mpl_design(e, n, W, quad)
    theta = np.log([1.0, A, alpha, B, C, beta, gamma])
    pred, _ = _MPL(quad).value(theta, D)
    return pred - 1.0 + L0


def final_loss_and_gradient(lrs, params, warmup=None):
    r"""The Multi-Power Law's final loss ``L(T)`` (``T = len(lrs)``) and its gradient in every rate.

    With ``c_T = sum_s eta_s``, ``R_k = c_T - c_k``, ``x_k = eta_k^{-gamma} R_k``, ``d_k = eta_{k-1} - eta_k``:

    .. math:: \frac{\partial L}{\partial \eta_j} = -\alpha A c_T^{-\alpha-1}
       - B\Bigl[G(x_{j+1}) - G(x_j) - \gamma d_j G'(x_j) \frac{x_j}{\eta_j}
       + \sum_{k \le j} d_k G'(x_k)\, \eta_k^{-\gamma}\Bigr],

    (terms with ``k < W`` or ``k > T-1`` absent), an O(T) computation by cumulative sums.
    """
    L0, A, alpha, B, C, beta, gamma = _check_params(params)
    e = _check_lrs(lrs)
    if np.any(e <= 0):
        raise ValueError("lrs must be positive for the gradient")
    W = _check_warmup(warmup, e)
    T = e.size
    c = np.concatenate([[0.0], np.cumsum(e)])
    cT = c[-1]
    k = np.arange(W, T)
    R = cT - c[k]
    ek = e[k]
    d = e[k - 1] - ek
    x = ek ** (-gamma) * R
    Cx = C * x
    q = np.exp(-beta * np.log1p(Cx))
    G = 1.0 - q
    Gp = beta * C * q / (1.0 + Cx)
    loss = L0 + A * cT ** (-alpha) - B * np.sum(d * G)
    grad = np.full(T, -alpha * A * cT ** (-alpha - 1.0))
    inner = np.zeros(T)
    Gfull = np.zeros(T + 1)
    Gfull[k] = G
    inner[k - 1] += Gfull[k]          # d_k depends on eta_{k-1} with +1
    inner[k] -= G                      # and on eta_k with -1
    inner[k] += -gamma * d * Gp * x / ek
    acc = np.zeros(T)
    acc[k] = d * Gp * ek ** (-gamma)
    inner += np.cumsum(acc)            # R_k contains eta_j for every j >= k
    grad -= B * inner
    return float(loss), grad


def _rates_from_u(u, eta_max, head):
    return np.concatenate([head, eta_max * np.exp(-np.cumsum(u))])


def optimal_schedule(params, T, eta_max, warmup=0, eta_min=None, maxiter=2000):
    r"""Minimise the Multi-Power Law's final loss over non-increasing schedules ``0 < eta <= eta_max``.

    The post-warmup rates are parametrised as ``eta_s = eta_max exp(-sum_{j<=s} u_j)`` with
    ``u_j >= 0`` (monotone and positive by construction; ``eta_min`` optionally bounds the total
    decay), and L-BFGS-B minimises :func:`final_loss_and_gradient` (chain rule through a reverse
    cumulative sum).  A linear warmup of ``warmup`` steps (fixed) precedes them.

    Returns (lrs, predicted final loss).
    """
    _check_params(params)
    eta_max = float(eta_max)
    if not eta_max > 0:
        raise ValueError(f"eta_max must be positive, got {eta_max!r}")
    T = int(T)
    warmup = int(warmup)
    if not 0 <= warmup < T:
        raise ValueError(f"warmup must be an integer in [0, T-1], got {warmup!r}")
    head = eta_max * (np.arange(1, warmup + 1) / max(warmup, 1))
    n = T - warmup
    log_floor = math.log(eta_max / eta_min) if eta_min else 60.0

    def f(u):
        lrs = _rates_from_u(u, eta_max, head)
        loss, g = final_loss_and_gradient(lrs, params, warmup=warmup if warmup else 1)
        post = g[warmup:] * lrs[warmup:]
        gu = -np.cumsum(post[::-1])[::-1]
        pen = np.sum(u) - log_floor
        if pen > 0:  # soft floor on the total decay
            loss += 1e3 * pen ** 2
            gu += 2e3 * pen
        return loss, gu

    u0 = np.zeros(n)
    res = minimize(f, u0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * n,
                   options={"maxiter": int(maxiter), "ftol": 1e-15, "gtol": 1e-12, "maxcor": 30})
    lrs = _rates_from_u(res.x, eta_max, head)
    return lrs, final_loss_and_gradient(lrs, params, warmup=warmup if warmup else 1)[0]


# ----------------------------------------------------------------------------- scores
def _pair(pred, obs):
    p = as_float_array("pred", pred).ravel()
    o = as_float_array("obs", obs).ravel()
    if p.shape != o.shape or p.size == 0:
        raise ValueError(f"pred and obs must have the same non-zero size, got {p.size} and {o.size}")
    return p, o


def r2(pred, obs) -> float:
    """Coefficient of determination ``1 - sum (pred - obs)^2 / sum (obs - mean obs)^2``."""
    p, o = _pair(pred, obs)
    return float(1.0 - np.sum((p - o) ** 2) / np.sum((o - o.mean()) ** 2))


def mae(pred, obs) -> float:
    """Mean absolute error."""
    p, o = _pair(pred, obs)
    return float(np.mean(np.abs(p - o)))


def rmse(pred, obs) -> float:
    """Root mean squared error."""
    p, o = _pair(pred, obs)
    return float(np.sqrt(np.mean((p - o) ** 2)))


def mean_relative_error(pred, obs) -> float:
    """``mean |pred - obs| / obs``."""
    p, o = _pair(pred, obs)
    return float(np.mean(np.abs(p - o) / np.abs(o)))


def worst_relative_error(pred, obs) -> float:
    """``max |pred - obs| / obs``."""
    p, o = _pair(pred, obs)
    return float(np.max(np.abs(p - o) / np.abs(o)))


def score(pred, obs) -> dict:
    """All five scores: {"R2", "MAE", "RMSE", "mean_rel", "worst_rel"}."""
    return {"R2": r2(pred, obs), "MAE": mae(pred, obs), "RMSE": rmse(pred, obs),
            "mean_rel": mean_relative_error(pred, obs), "worst_rel": worst_relative_error(pred, obs)}
