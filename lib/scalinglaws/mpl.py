r"""Schedule-aware loss-curve laws: the Multi-Power Law, two baselines and a convex-optimisation bound;
their fitting (the optimum of the objective, the authors' early-stopped procedure, a cross-validated
early stop), prediction and scores.

Curves and conventions
----------------------
A *curve* is a triple ``(lrs, steps, losses)``: ``lrs[s]`` is the rate used at step ``s``
(``s = 0, ..., T-1``) and ``losses[i]`` the loss observed at ``steps[i]``. Two conventions say which
loss ``steps[i]`` refers to:

* ``convention="updates"`` (the book's): ``steps[i] = n`` is the number of updates done, i.e. the
  rates ``lrs[0], ..., lrs[n-1]`` were used (``1 <= n <= T``). The loss-drop sum starts at the end
  of the warmup, ``W = argmax(lrs) + 1`` (or an explicit ``warmup=W``).
* ``convention="logged"`` (the code of Luo et al. 2025): ``steps[i] = s`` is the index of the logged
  step, whose loss is measured after its update (``0 <= s <= T-1``); the area includes the rate of
  step ``s`` and the loss-drop sum runs over every step ``k = 1, ..., s``, the warmup ramp included.
  It is the ``updates`` convention with ``n = s + 1`` and ``W = 1``.

With ``S_k(n) = sum_{tau=k}^{n-1} eta_tau`` and ``S(n) = S_0(n)`` (the whole area so far):

The Multi-Power Law (Luo et al. 2025, eq. (1))
----------------------------------------------

.. math::

    L(n) &= L_0 + A\,S(n)^{-\alpha}
            - B \sum_{k=W}^{n-1} (\eta_{k-1} - \eta_k)\,G\bigl(\eta_k^{-\gamma} S_k(n)\bigr),\\
    G(x) &= 1 - (C x + 1)^{-\beta}.

Fits use the equivalent parametrisation ``b = B beta``,
``B G(x) = b u phi(beta u)``, ``u = log(1 + C x)``, ``phi(z) = (1 - e^{-z})/z`` (``phi(0) = 1``),
which stays finite as ``beta -> 0``: a fit that wants ``B -> inf`` and ``beta -> 0`` lands on the
boundary ``beta = 0`` (a logarithmic drop response ``b log(1 + C x)``) instead of running away, and
is reported in :attr:`FittedLaw.degenerate`.

Baselines and a third law
-------------------------
* :func:`fit_power_law`: ``L0 + A S(n)^{-alpha}`` (the constant-rate law with the area as time).
* :func:`fit_momentum_law` (Tissue et al. 2024): ``L0 + A S(n)^{-alpha} - C S_2(n)``,
  ``S_2(n) = sum_{i=W}^{n-1} m_i``, ``m_i = lambda m_{i-1} + (eta_{i-1} - eta_i)``, ``m_{W-1} = 0``.
* :func:`fit_convex_bound` (Schaipp et al. 2025, using Defazio et al. 2023, Thm. 10):
  ``L0 + Omega_n`` with the last-iterate bound of SGD on a convex Lipschitz problem,
  :func:`convex_bound`.

Fitting methods (:func:`fit`)
-----------------------------
* ``"optimum"``: the minimum of the authors' objective, the sum over curves of the Huber loss
  (``delta = 1e-3``) of ``log L_pred - log L``, by trust-region least squares with analytic
  Jacobians from a grid of start points.
* ``"authors"``: the procedure of the authors' public code, reproduced in numpy (see :func:`fit`):
  a grid-initialised L-BFGS-B guess on a simplified law, then at most 200 AdamW steps, keeping the
  best iterate; it stops long before the optimum.
* ``"cv-stop"``: the same AdamW path, stopped at the number of steps chosen by leave-one-curve-out
  cross-validation over the training curves (no stopping rule fixed in advance).
* ``"cv-ridge"``: the objective plus a ridge penalty towards the authors' initial guess, its strength
  chosen the same way.

The loss-drop sum is evaluated without a loop over steps (:func:`loss_drop_nodes`).

References: Luo et al. (2025), arXiv:2503.12811; Tissue et al. (2024), arXiv:2408.11029;
Schaipp, Hägele, Taylor, Simsekli, Bach (2025), arXiv:2501.18965; Defazio, Cutkosky, Mehta,
Mishchenko (2023), arXiv:2310.07831; Loshchilov and Hutter (2019), arXiv:1711.05101 (AdamW);
Huber (1964).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares, minimize, nnls
from scipy.signal import lfilter
from scipy.stats import linregress

from . import _validation as check

__all__ = [
    "PARAM_NAMES",
    "RIDGE_GRID",
    "STUDY_PEAK_RATE",
    "STUDY_RUNS",
    "FittedLaw",
    "convex_bound",
    "final_loss_and_gradient",
    "fit",
    "fit_convex_bound",
    "fit_momentum_law",
    "fit_power_law",
    "huber",
    "load_study_curve",
    "loss_drop_nodes",
    "mae",
    "mean_relative_error",
    "multi_power_law",
    "optimal_schedule",
    "r2",
    "rmse",
    "score",
    "study_schedule",
    "worst_relative_error",
]

PARAM_NAMES = ("L0", "A", "alpha", "B", "C", "beta", "gamma")
CONVENTIONS = ("updates", "logged")
METHODS = ("optimum", "authors", "cv-stop", "cv-ridge")
VALIDATIONS = ("curves", "forward")
STUDY_PEAK_RATE = 3e-4
"""Peak rate of every run of Luo et al. (2025); the authors' procedure works in these rate units."""
_TINY = 1e-300
_LOG_BOUND = 30.0          # |log parameter| bound of the optimum fit (normalised units)
_BETA_FLOOR = 1e-12        # the smallest beta and gamma of a fit: its boundaries "beta = 0", "gamma = 0"


# ============================================================================ argument checks
def _check_lrs(lrs, name="lrs") -> np.ndarray:
    e = check.real_array(name, lrs, low=0, ndim=1, min_size=1, domain="rates >= 0")
    if not np.any(e > 0):
        raise ValueError(f"{name} must contain at least one positive rate, got all zeros "
                         f"({e.size} steps)")
    return e


def _check_convention(convention) -> str:
    return check.choice("convention", convention, CONVENTIONS)


def _observations(e: np.ndarray, steps, warmup, convention: str, name="steps"):
    """Map ``steps`` (in ``convention``) to update counts ``n`` and the first summed step ``W``."""
    T = e.size
    if convention == "updates":
        n = check.integer_array(name, steps, low=1, high=T, ndim=1, min_size=1,
                                domain=f"update counts, integers in [1, {T}] (= len(lrs))")
        if warmup is None:
            W = int(np.argmax(e)) + 1
        else:
            W = max(check.integer("warmup", warmup, low=0, high=T,
                                  domain=f"None or an integer in [0, {T}] (= len(lrs))"), 1)
    else:
        if warmup is not None:
            raise ValueError(f"warmup must be None with convention='logged' (the loss-drop sum runs "
                             f"over every step from k = 1), got {warmup!r}")
        s = check.integer_array(name, steps, low=0, high=T - 1, ndim=1, min_size=1,
                                domain=f"logged step indices, integers in [0, {T - 1}] (= len(lrs) - 1)")
        n, W = s + 1, 1
    n = n.astype(np.int64)
    area = np.cumsum(e)[n - 1]
    if np.any(area <= 0):
        i = int(np.argmax(area <= 0))
        raise ValueError(f"{name}[{i}] = {int(np.asarray(steps).ravel()[i])} comes before the first "
                         f"positive rate: the rate area there is 0 and every law is undefined")
    return n, W


def _check_losses(losses, size: int, name: str) -> np.ndarray:
    return check.real_array(name, losses, low=0, low_open=True, shape=(size,),
                            domain="losses > 0 (one per step)")


def _check_curves(curves, warmup, convention):
    """Validated curves ``[(e, n, W, y)]`` (``n``: update counts)."""
    if isinstance(curves, (str, bytes, dict)) or curves is None:
        raise ValueError(f"curves must be a list of (lrs, steps, losses) triples, got {curves!r:.80}")
    try:
        curves = list(curves)
    except TypeError:
        raise ValueError(f"curves must be a list of (lrs, steps, losses) triples, got {curves!r:.80}") from None
    if not curves:
        raise ValueError("curves must contain at least one (lrs, steps, losses) triple, got []")
    out = []
    for j, c in enumerate(curves):
        try:
            triple = tuple(c)
        except TypeError:
            raise ValueError(f"curves[{j}] must be a triple (lrs, steps, losses), got {c!r:.80}") from None
        if len(triple) != 3:
            raise ValueError(f"curves[{j}] must be a triple (lrs, steps, losses), got length {len(triple)}")
        e = _check_lrs(triple[0], f"curves[{j}] lrs")
        n, W = _observations(e, triple[1], warmup, convention, f"curves[{j}] steps")
        y = _check_losses(triple[2], n.size, f"curves[{j}] losses")
        out.append((e, n, W, y))
    return out


def _check_mpl_params(params, allow_degenerate=False) -> tuple:
    if not hasattr(params, "keys"):
        raise ValueError(f"params must be a mapping with keys {PARAM_NAMES}, got {params!r:.80}")
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params must be a mapping with keys {PARAM_NAMES}, missing {missing}")
    vals = [check.real("params['L0']", params["L0"])]
    for k in PARAM_NAMES[1:]:
        vals.append(check.real(f"params[{k!r}]", params[k], low=0, low_open=True,
                               domain="a real number > 0"))
    return tuple(vals)


# ============================================================================ loss-drop quadrature
def _block_rule(uS, order):
    """For change points at relative positions ``uS`` in [-1, 1]: an orthonormal basis ``Q`` of the
    polynomials of degree ``order`` on them (for the smoothness test), the chosen node indices ``j``
    and the matrix ``M`` mapping the drops to node weights with the same moments (degree < order)."""
    V_fit = np.polynomial.chebyshev.chebvander(uS, order)
    Q, _ = np.linalg.qr(V_fit)
    size = uS.size
    j = np.round((size - 1) * 0.5 * (1.0 - np.cos(np.pi * (2 * np.arange(order) + 1) / (2 * order))))
    j = np.unique(j.astype(np.int64))
    powers = np.arange(j.size)
    V = uS[j][None, :] ** powers[:, None]
    M = np.linalg.solve(V, uS[None, :] ** powers[:, None])
    return Q, j, M


_RULES: dict = {}


def _block_nodes(d, nz, log_e, a, H, order, smooth_tol):
    """Change points and weights representing sum_{k in [a, a+H)} d_k f(k), or None if the rates in
    the block are not smooth enough (log-rate farther than smooth_tol from a polynomial of degree
    ``order``) for the moment-matching rule, which is exact for f a polynomial of degree < order."""
    S = np.flatnonzero(nz[a:a + H]) + a
    if S.size <= 2 * order:
        return S, d[S]
    if S.size == H:               # every step changes the rate: the rule depends on H only
        key = (H, order)
        if key not in _RULES:
            _RULES[key] = _block_rule(np.linspace(-1.0, 1.0, H), order)
        Q, j, M = _RULES[key]
    else:
        mid, half = 0.5 * (S[0] + S[-1]), max(0.5 * (S[-1] - S[0]), 1.0)
        Q, j, M = _block_rule((S - mid) / half, order)
    y = log_e[S]
    if np.max(np.abs(y - Q @ (Q.T @ y))) > smooth_tol:
        return None
    return S[j], M @ d[S]


def _drop_nodes(e, n_arr, W, window, ratio, base, order, smooth_tol):
    T = e.size
    c = np.concatenate([[0.0], np.cumsum(e)])
    d = np.zeros(T)
    if W < T:
        d[W:] = e[W - 1:-1] - e[W:]
    nz = d != 0
    log_e = np.log(np.maximum(e, _TINY))      # a zero rate makes its block "not smooth"
    cache: dict = {}

    def block(a, H):
        key = (a, H)
        if key not in cache:
            cache[key] = _block_nodes(d, nz, log_e, a, H, order, smooth_tol)
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
            rel = n - W - window
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


def _drop_work(what, T, n_obs, window, base):
    per_obs = T if window is None else window + 64 * max(1, int(math.log2(max(T, 2))))
    check.check_work(what, operations=float(n_obs) * per_obs * 20 + 10.0 * T,
                     memory_bytes=float(n_obs) * min(per_obs, T) * 8 * 6 + 40.0 * T,
                     sizes=f"len(lrs) = {T}, len(steps) = {n_obs}, window = {window}")


def _check_quadrature(window, ratio, base, order, smooth_tol):
    base = check.integer("base", base, low=1)
    order = check.integer("order", order, low=1, high=8)
    ratio = check.real("ratio", ratio, low=0, high=1, low_open=True)
    smooth_tol = check.real("smooth_tol", smooth_tol, low=0, low_open=True)
    if window is not None:
        window = check.integer("window", window, low=0, domain=f"None or an integer >= base/ratio "
                               f"= {base / ratio:.6g}")
        if window < base / ratio:
            raise ValueError(f"window must be None or an integer >= base/ratio = {base / ratio:.6g}, "
                             f"got {window!r}")
    return window, ratio, base, order, smooth_tol


def loss_drop_nodes(lrs, steps, warmup=None, window=64, ratio=0.25, base=16, order=4,
                    smooth_tol=1e-7, convention="updates"):
    r"""Change points ``k`` and weights ``w`` with ``LD(n_i)/B ~= sum_j w_ij G(eta_k^-gamma S_k(n_i))``.

    For observation ``n`` the change points ``W <= k < n`` with ``d_k = eta_{k-1} - eta_k != 0`` in
    the last ``window`` steps (rounded down to a multiple of ``base``) get their own weight ``d_k``;
    earlier ones are covered, from the exact window backwards, by aligned blocks of ``base * 2^l``
    steps, each the largest one whose rate area is at most ``ratio`` times the area between its end
    and ``n`` (blocks failing this even at ``base`` steps are summed exactly); a block with more than
    ``2 order`` change points is replaced by ``order`` of them with weights that reproduce the block's
    drop moments ``sum d_k u_k^j`` (``j < order``), provided the log-rate over the block is within
    ``smooth_tol`` of a polynomial of degree ``order`` (blocks of rough schedules are split further
    or summed exactly). With the defaults the relative error of the loss-drop sum is below 1e-7 on
    smooth schedules (tested against the dense sum); ``window=None`` gives the dense exact sum.

    Parameters
    ----------
    lrs : 1-D array of rates >= 0, at least one positive.
    steps : 1-D integer array, in ``convention`` (module docstring).
    warmup : None (the peak ends the warmup) or int in [0, len(lrs)]; None with ``"logged"``.
    window : int >= base/ratio, or None for the dense sum.
    ratio : float in (0, 1];  base : int >= 1;  order : int in [1, 8];  smooth_tol : float > 0.
    convention : "updates" or "logged".

    Returns
    -------
    (idx, w) : int and float arrays of shape ``(len(steps), P)``, padded with ``w = 0``.
    """
    e = _check_lrs(lrs)
    convention = _check_convention(convention)
    n, W = _observations(e, steps, warmup, convention)
    window, ratio, base, order, smooth_tol = _check_quadrature(window, ratio, base, order, smooth_tol)
    _drop_work("mpl.loss_drop_nodes", e.size, n.size, window, base)
    return _drop_nodes(e, n, W, window, ratio, base, order, smooth_tol)


# ============================================================================ designs
@dataclass
class _Design:
    """Everything about one curve that does not depend on the parameters."""
    log_area: np.ndarray                 # log S(n) at each observation
    w: np.ndarray | None = None          # (n_obs, P) drop weights eta_{k-1} - eta_k
    log_dist: np.ndarray | None = None   # (n_obs, P) log S_k(n)
    log_eta: np.ndarray | None = None    # (n_obs, P) log eta_k
    s2: np.ndarray | None = None         # momentum-law annealing area
    inv_area: np.ndarray | None = None   # convex bound: 1/(2 S(n))
    noise: np.ndarray | None = None      # convex bound: the G^2 coefficient
    y: np.ndarray | None = None          # observed losses
    log_y: np.ndarray | None = None      # their logarithms (float32-read for the authors' procedure)
    w_sum: np.ndarray | None = None      # row sums of w


_DESIGN_CACHE: dict = {}
_DESIGN_CACHE_SIZE = 48


def _mpl_design(e, n, W, quad):
    """The loss-drop design of a curve (nodes, weights, log-distances, log-rates).

    Designs are cached for the schedule scaled to a peak rate of 1 and rescaled on the way out
    (the logarithms shift by log c, the drop weights scale by c): a schedule fitted and predicted
    several times, in different rate units, is compressed once."""
    peak = float(e.max())
    key = (hash(e.tobytes()), e.size, hash(n.tobytes()), n.size, W, tuple(sorted(quad.items())))
    hit = _DESIGN_CACHE.get(key)
    # a hit must be the same schedule and steps, not only the same hashes
    base = hit[2] if hit is not None and np.array_equal(hit[0], e) and np.array_equal(hit[1], n) else None
    if base is None:
        u = e / peak
        c = np.concatenate([[0.0], np.cumsum(u)])
        idx, w = _drop_nodes(u, n, W, quad["window"], quad["ratio"], quad["base"], quad["order"],
                             quad["smooth_tol"])
        dist = c[n][:, None] - c[idx]                        # S_k(n) = c_n - c_k
        log_dist = np.where(w != 0, np.log(np.maximum(dist, _TINY)), 0.0)
        log_eta = np.where(w != 0, np.log(np.maximum(u[idx], _TINY)), 0.0)
        base = (np.log(c[n]), w, log_dist, log_eta)
        if len(_DESIGN_CACHE) >= _DESIGN_CACHE_SIZE:
            _DESIGN_CACHE.pop(next(iter(_DESIGN_CACHE)))
        _DESIGN_CACHE[key] = (e.copy(), n.copy(), base)
    log_area, w, log_dist, log_eta = base
    lc = math.log(peak)
    mask = w != 0
    return _Design(log_area=log_area + lc, w=w * peak, log_dist=np.where(mask, log_dist + lc, 0.0),
                   log_eta=np.where(mask, log_eta + lc, 0.0))


def _momentum_s2(e, n, W, lam):
    d = np.zeros(e.size)
    if W < e.size:
        d[W:] = e[W - 1:-1] - e[W:]
    m = lfilter([1.0], [1.0, -lam], d)
    return np.cumsum(m)[n - 1]


def _bound_terms(e, n):
    r"""``(1/(2 S), Q)`` with ``Omega_n = D^2/(2 S) + G^2 Q`` (see :func:`convex_bound`)."""
    c = np.concatenate([[0.0], np.cumsum(e)])
    c2 = np.concatenate([[0.0], np.cumsum(e * e)])
    Q = np.empty(n.size)
    for i, m in enumerate(n.tolist()):
        S = c[m]
        # 0-based steps j = 0..m-1 are the theorem's t = 1..m; the k-sum runs over j = 0..m-2
        head = e[:m - 1]
        after = S - c[1:m]                     # sum_{t > j} eta_t
        from_j = after + head                  # sum_{t >= j} eta_t
        sq = c2[m] - c2[:m - 1]                # sum_{t >= j} eta_t^2
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(head > 0, head / after * (sq / from_j), 0.0)
        Q[i] = 0.5 * c2[m] / S + 0.5 * terms.sum()
    return 0.5 / c[n], Q


# ============================================================================ laws (normalised units)
def _log1p_exp(llx):
    """``(C x, log(1 + C x))`` from ``llx = log(C x)``, without overflow for any ``llx``."""
    if llx.size and llx.max() > 700.0:
        u = np.logaddexp(0.0, llx)
        with np.errstate(over="ignore"):
            return np.exp(llx), u
    cx = np.exp(llx)
    return cx, np.log1p(cx)


def _phi(z, q):
    """phi(z) = (1 - e^-z)/z and phi'(z) for z >= 0, given q = e^-z (series below 0.1: no cancellation)."""
    small = z < 0.1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        phi = (1.0 - q) / z
        dphi = (q * (1.0 + z) - 1.0) / (z * z)
    if np.any(small):
        zs = z[small]
        p = np.zeros_like(zs)
        dp = np.zeros_like(zs)
        # phi = sum_{j>=0} (-z)^j/(j+1)!,  phi' = sum_{j>=1} j (-1)^j z^(j-1)/(j+1)!
        for j in range(11, -1, -1):
            p = p * (-zs) + 1.0 / math.factorial(j + 1)
        for j in range(11, 0, -1):
            dp = dp * zs + j * (-1) ** j / math.factorial(j + 1)
        phi[small] = p
        dphi[small] = dp
    return phi, dphi


class _Law:
    """A law in normalised rate units: parameters theta, value and Jacobian, start points."""
    names: tuple = ()
    bounds: list = []

    def design(self, e, n, W):  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, theta, D, grad=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def starts(self, designs):  # pragma: no cover - abstract
        """Start points: a list of (theta, predictions of all training points at theta)."""
        raise NotImplementedError

    def to_params(self, theta, r):  # pragma: no cover - abstract
        raise NotImplementedError

    def degenerate(self, theta):
        msgs = []
        for name, v, (lo, hi) in zip(self.names, theta, self.bounds):
            if lo is not None and v <= lo + 1e-9:
                msgs.append(f"{name} at its lower bound")
            if hi is not None and v >= hi - 1e-9:
                msgs.append(f"{name} at its upper bound")
        return msgs


def _linear_fit(X, y):
    """Non-negative least squares with column scaling; coefficients floored at 1e-8."""
    col = np.maximum(np.abs(X).max(axis=0), _TINY)
    coef, _ = nnls(X / col, y)
    return np.maximum(coef / col, 1e-8)


class _MPL(_Law):
    """theta = (log L0, log A, log alpha, log b, log C, beta, gamma), b = B beta; beta, gamma >= 1e-12:
    the boundary of the fit (``B = b/beta`` stays a finite number, and the law at 1e-12 differs from its
    beta = 0 or gamma = 0 limit by a relative 1e-12 log(1 + C x) or 1e-12 log(eta))."""
    names = ("L0", "A", "alpha", "b", "C", "beta", "gamma")
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 5 + [(_BETA_FLOOR, 50.0), (_BETA_FLOOR, 50.0)]

    def __init__(self, quad):
        self.quad = quad

    def design(self, e, n, W):
        return _mpl_design(e, n, W, self.quad)

    @staticmethod
    def _drop(theta, D, grad):
        beta, gamma = theta[5], theta[6]
        cx, u = _log1p_exp(theta[4] + D.log_dist - gamma * D.log_eta)   # C x, log(1 + C x)
        z = beta * u
        q = np.exp(-z)
        phi, dphi = _phi(z, q)
        K = u * phi                                              # G / beta (-> u as beta -> 0)
        ld = (K * D.w).sum(axis=1)
        if not grad:
            return ld, None
        with np.errstate(invalid="ignore"):
            sig = np.where(cx < 1e300, cx / (1.0 + cx), 1.0)     # C x / (1 + C x)
        h = q * sig * D.w                                        # dK/dlog C * w
        dC = h.sum(axis=1)
        dbeta = (u * u * dphi * D.w).sum(axis=1)
        dgamma = -(h * D.log_eta).sum(axis=1)
        return ld, np.stack([dC, dbeta, dgamma], axis=1)

    def value(self, theta, D, grad=False):
        L0, A, alpha, b = (math.exp(v) for v in theta[:4])
        powr = A * np.exp(-alpha * D.log_area)
        ld, dK = self._drop(theta, D, grad)
        pred = L0 + powr - b * ld
        if not grad:
            return pred, None
        J = np.empty((pred.size, 7))
        J[:, 0] = L0
        J[:, 1] = powr
        J[:, 2] = -alpha * D.log_area * powr
        J[:, 3] = -b * ld
        J[:, 4:] = -b * dK
        return pred, J

    def starts(self, designs):
        y = np.concatenate([D.y for D in designs])
        out = []
        for C, be, ga in itertools.product((0.3, 1.0, 3.0, 10.0), (0.3, 0.6, 1.2), (0.2, 0.5, 0.8)):
            th = np.array([0.0, 0.0, 0.0, 0.0, math.log(C), be, ga])
            drop = np.concatenate([self._drop(th, D, False)[0] for D in designs])   # alpha-free
            for al in (0.3, 0.6, 1.0):
                X = np.stack([np.ones_like(y), np.concatenate([np.exp(-al * D.log_area) for D in designs]),
                              -drop], axis=1)
                coef = _linear_fit(X, y)
                th_al = th.copy()
                th_al[[0, 1, 2, 3]] = np.log([coef[0], coef[1], al, coef[2]])
                out.append((th_al, X @ coef))
        return out

    @staticmethod
    def to_params(theta, r):
        L0, A, alpha, b, C = (math.exp(v) for v in theta[:5])
        beta, gamma = float(theta[5]), float(theta[6])
        B = b / beta
        return {"L0": L0, "A": A * r ** alpha, "alpha": alpha, "B": B / r,
                "C": C * r ** (gamma - 1.0), "beta": beta, "gamma": gamma}

    def degenerate(self, theta):
        msgs = []
        if theta[5] <= 1e-9:
            msgs.append("beta = 0: at the boundary of the fit (beta <= 1e-9), the drop response is "
                        "logarithmic, B beta log(1 + C x), with B beta finite and B huge")
        if theta[6] <= 1e-9:
            msgs.append("gamma = 0: at the boundary of the fit (gamma <= 1e-9), the drop response does not "
                        "depend on the rate after the drop")
        for name, v in zip(("L0", "A", "alpha", "B beta", "C"), theta[:5]):
            if abs(v) >= _LOG_BOUND - 1e-6:
                msgs.append(f"{name} = exp({v:+.0f}): at the bound of the search")
        for name, v in (("beta", theta[5]), ("gamma", theta[6])):
            if v >= 50.0 - 1e-9:
                msgs.append(f"{name} at the upper bound 50 of the search")
        return msgs


class _Power(_Law):
    names = ("L0", "A", "alpha")
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 3

    def design(self, e, n, W):
        return _Design(log_area=np.log(np.cumsum(e)[n - 1]))

    def value(self, theta, D, grad=False):
        L0, A, alpha = (math.exp(v) for v in theta[:3])
        powr = A * np.exp(-alpha * D.log_area)
        pred = L0 + powr
        if not grad:
            return pred, None
        return pred, np.stack([np.full_like(pred, L0), powr, -alpha * D.log_area * powr], axis=1)

    def starts(self, designs):
        y = np.concatenate([D.y for D in designs])
        out = []
        for al in (0.1, 0.2, 0.3, 0.5, 0.8, 1.2):
            X = np.concatenate([np.stack([np.ones_like(D.log_area), np.exp(-al * D.log_area)], 1)
                                for D in designs])
            coef = _linear_fit(X, y)
            out.append((np.log(np.concatenate([coef, [al]])), X @ coef))
        return out

    @staticmethod
    def to_params(theta, r):
        L0, A, alpha = (math.exp(v) for v in theta)
        return {"L0": L0, "A": A * r ** alpha, "alpha": alpha}


class _Momentum(_Law):
    names = ("L0", "A", "alpha", "C")
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 4

    def __init__(self, lam):
        self.lam = lam

    def design(self, e, n, W):
        return _Design(log_area=np.log(np.cumsum(e)[n - 1]), s2=_momentum_s2(e, n, W, self.lam))

    def value(self, theta, D, grad=False):
        L0, A, alpha, C = (math.exp(v) for v in theta[:4])
        powr = A * np.exp(-alpha * D.log_area)
        pred = L0 + powr - C * D.s2
        if not grad:
            return pred, None
        return pred, np.stack([np.full_like(pred, L0), powr, -alpha * D.log_area * powr,
                               -C * D.s2], axis=1)

    def starts(self, designs):
        y = np.concatenate([D.y for D in designs])
        out = []
        for al in (0.1, 0.2, 0.3, 0.5, 0.8, 1.2):
            X = np.concatenate([np.stack([np.ones_like(D.log_area), np.exp(-al * D.log_area), -D.s2], 1)
                                for D in designs])
            coef = _linear_fit(X, y)
            out.append((np.log([coef[0], coef[1], al, coef[2]]), X @ coef))
        return out

    @staticmethod
    def to_params(theta, r):
        L0, A, alpha, C = (math.exp(v) for v in theta)
        return {"L0": L0, "A": A * r ** alpha, "alpha": alpha, "C": C / r}


class _Bound(_Law):
    """L0 + D^2/(2 S) + G^2 Q: theta = (log L0, log D, log G)."""
    names = ("L0", "D", "G")
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 3

    def design(self, e, n, W):
        inv, Q = _bound_terms(e, n)
        return _Design(log_area=np.log(np.cumsum(e)[n - 1]), inv_area=inv, noise=Q)

    def value(self, theta, D, grad=False):
        L0, Dd, G = (math.exp(v) for v in theta)
        t1 = Dd * Dd * D.inv_area
        t2 = G * G * D.noise
        pred = L0 + t1 + t2
        if not grad:
            return pred, None
        return pred, np.stack([np.full_like(pred, L0), 2 * t1, 2 * t2], axis=1)

    def starts(self, designs):
        y = np.concatenate([D.y for D in designs])
        X = np.concatenate([np.stack([np.ones_like(D.inv_area), D.inv_area, D.noise], 1) for D in designs])
        coef = _linear_fit(X, y)
        L0, D2, G2 = coef
        return [(np.log([L0, math.sqrt(D2), math.sqrt(G2)]), X @ coef)]

    @staticmethod
    def to_params(theta, r):
        L0, Dd, G = (math.exp(v) for v in theta)
        # Omega scales as D^2/S and G^2 eta: rates divided by r mean D^2 -> D^2 r, G^2 -> G^2 / r
        return {"L0": L0, "D": Dd * math.sqrt(r), "G": G / math.sqrt(r)}


# ============================================================================ objective
def huber(r, delta=1e-3):
    r"""Huber loss ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (Huber 1964).

    Parameters
    ----------
    r : real number or array of finite reals.
    delta : float, finite and > 0.

    Returns
    -------
    ndarray of the shape of ``r``, every entry >= 0 (``inf`` only where ``r^2/2`` overflows).
    """
    r = check.real_array("r", r)
    delta = check.real("delta", delta, low=0, low_open=True)
    a = np.abs(r)
    with np.errstate(over="ignore"):
        return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _huber(r, delta):
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


# ============================================================================ fitted laws
@dataclass
class FittedLaw:
    """A fitted loss-curve law.

    Attributes
    ----------
    law : str
        ``"multi-power"``, ``"power"``, ``"momentum"`` or ``"convex-bound"``.
    params : dict
        The parameters in the original rate units (for the Multi-Power Law: L0, A, alpha, B, C, beta,
        gamma; a fit at the boundary beta = 1e-12 has a huge B with B beta finite, see :attr:`degenerate`).
    objective : float
        The training objective at ``params``: the sum over the training points of the Huber loss of
        the log-residuals.
    method, convention : str
        How it was fitted, and how ``steps`` are read (module docstring).
    degenerate : tuple of str
        Parameters at a boundary of the search (empty for a well-posed fit).
    info : dict
        Method-specific details (for ``"authors"`` and ``"cv-stop"``: the AdamW steps taken, the
        objective along the path, the initial guess).
    """
    law: str
    params: dict
    objective: float
    method: str
    convention: str
    degenerate: tuple
    info: dict
    eta_ref: float = field(repr=False)
    _theta: np.ndarray = field(repr=False)
    _impl: object = field(repr=False)
    _warmup: object = field(repr=False, default=None)

    def predict(self, lrs, steps, warmup=None) -> np.ndarray:
        """Predicted loss at ``steps`` of the schedule ``lrs``, in the law's ``convention``.

        Parameters
        ----------
        lrs : 1-D array of rates >= 0.
        steps : 1-D integer array (update counts, or logged indices for ``convention="logged"``).
        warmup : None or int (``"updates"`` only); None uses the fit's own ``warmup`` argument if it
            was an integer, else the peak of ``lrs``.
        """
        e = _check_lrs(lrs)
        if warmup is None:
            warmup = self._warmup
        n, W = _observations(e, steps, warmup, self.convention)
        window = getattr(self._impl, "quad", {}).get("window", None)
        _drop_work("FittedLaw.predict", e.size, n.size, window, 16)
        D = self._impl.design(e / self.eta_ref, n, W)
        if isinstance(self._impl, _AuthorsLaw):
            return self._impl.predict_raw(self._theta, D)
        pred, _ = self._impl.value(self._theta, D)
        return pred


def _fit_work(name, curves, evals, inits=0):
    """Refuse fits above the work cap. Calibrated on the 2-core machine: one evaluation of the law and
    its Jacobian costs about 12 operations per (observation, node) with about 400 nodes per observation,
    plus a fixed overhead worth 5e5 operations (1 ms); one grid of initial guesses of the authors'
    procedure about 4e8 (0.8 s)."""
    n_obs = sum(n.size for _, n, _, _ in curves)
    T_sum = sum(e.size for e, _, _, _ in curves)
    check.check_work(f"mpl.{name}", operations=float(evals) * (n_obs * 400 * 12 + 5e5) + 4e8 * inits
                     + 200.0 * T_sum,
                     memory_bytes=float(n_obs) * 600 * 8 * 8 + 40.0 * T_sum,
                     sizes=f"{len(curves)} curves, {n_obs} observations, {T_sum} steps in all")


def _designs(law, curves, r, float32=False):
    out = []
    for e, n, W, y in curves:
        D = law.design(e / r, n, W)
        D.y = y
        D.log_y = (np.log(y.astype(np.float32)).astype(np.float64) if float32 else np.log(y))
        out.append(D)
    return out


class _Residuals:
    """Log-residuals ``log L_pred - log L`` of all training points and their Jacobian, evaluated
    together once per parameter vector (``least_squares`` asks for them separately). Below
    ``eps = 0.01 min L`` the logarithm is continued linearly, so that a trial point predicting a
    non-positive loss gives a large finite residual instead of NaN."""

    def __init__(self, law, designs):
        self.law, self.designs = law, designs
        self._theta, self._out = None, None

    def _eval(self, theta):
        if self._theta is None or not np.array_equal(theta, self._theta):
            rs, Js = [], []
            for D in self.designs:
                pred, J = self.law.value(theta, D, grad=True)
                eps = 0.01 * D.y.min()
                safe = np.maximum(pred, eps)
                rs.append(np.where(pred >= eps, np.log(safe), math.log(eps) + (pred - eps) / eps) - D.log_y)
                Js.append(J / safe[:, None])
            self._theta, self._out = theta.copy(), (np.concatenate(rs), np.concatenate(Js))
        return self._out

    def residuals(self, theta):
        return self._eval(theta)[0]

    def jacobian(self, theta):
        return self._eval(theta)[1]


def _fit_optimum(law, name, curves, convention, delta, n_starts, maxiter, warmup):
    """Minimise sum_i Huber_delta(r_i) by trust-region reflective least squares with the Huber loss
    (``scipy.optimize.least_squares(loss="huber", f_scale=delta)``, whose cost is exactly that sum),
    from the ``n_starts`` best start points; bounds as the law's."""
    r = max(float(e.max()) for e, _, _, _ in curves)
    designs = _designs(law, curves, r)
    res_fn = _Residuals(law, designs)
    lo = np.array([b[0] for b in law.bounds])
    hi = np.array([b[1] for b in law.bounds])
    log_y = np.concatenate([D.log_y for D in designs])
    eps = 0.01 * np.exp(log_y.min())
    starts = []
    for th, pred in law.starts(designs):          # screened by the objective of their linear fit
        r_start = np.log(np.maximum(pred, eps)) - log_y
        starts.append((float(_huber(r_start, delta).sum()), np.clip(th, lo, hi)))
    starts.sort(key=lambda t: t[0])
    best, best_obj = None, math.inf
    for _, th in starts[:n_starts]:
        res = least_squares(res_fn.residuals, th, jac=res_fn.jacobian, bounds=(lo, hi), loss="huber",
                            f_scale=delta, method="trf", x_scale="jac", ftol=1e-15, xtol=1e-15,
                            gtol=1e-15, max_nfev=maxiter)
        obj = float(_huber(res_fn.residuals(res.x), delta).sum())
        if obj < best_obj:
            best, best_obj = res, obj
    return FittedLaw(law=name, params=law.to_params(best.x, r), objective=best_obj,
                     method="optimum", convention=convention, degenerate=tuple(law.degenerate(best.x)),
                     info={"evaluations": int(best.nfev), "status": int(best.status),
                           "message": str(best.message)},
                     eta_ref=r, _theta=best.x.copy(), _impl=law, _warmup=warmup)


# ============================================================================ the authors' procedure
_ADAM_LR = np.array([0.05, 0.05, 0.005, 0.05, 0.05, 0.005, 0.005])   # L0 A alpha B C beta gamma


class _AuthorsLaw:
    """The Multi-Power Law in raw parameters (L0, A, alpha, B, C, beta, gamma), rates in units where
    the peak training rate is :data:`STUDY_PEAK_RATE`; any sign of beta, gamma; C > 0."""

    def __init__(self, quad):
        self.quad = quad

    def design(self, e, n, W):
        D = _mpl_design(e, n, W, self.quad)
        D.w_sum = D.w.sum(axis=1)
        return D

    @staticmethod
    def value_and_jacobian(p, D):
        L0, A, alpha, B, C, beta, gamma = p
        pw = np.exp(-alpha * D.log_area)
        if not C > 0:
            nan = np.full(D.log_area.size, np.nan)
            return nan, np.full((nan.size, 7), np.nan)
        cx, u = _log1p_exp(math.log(C) + D.log_dist - gamma * D.log_eta)
        wq = np.exp(-beta * u) * D.w                            # w (1 + C x)^-beta
        ld = D.w_sum - wq.sum(axis=1)                           # sum w G
        pred = L0 + A * pw - B * ld
        with np.errstate(invalid="ignore"):
            h = wq * np.where(cx < 1e300, cx / (1.0 + cx), 1.0)  # w (dG/dlog C) / beta
        J = np.empty((pred.size, 7))
        J[:, 0] = 1.0
        J[:, 1] = pw
        J[:, 2] = -A * D.log_area * pw
        J[:, 3] = -ld
        J[:, 4] = -B * beta * h.sum(axis=1) / C
        J[:, 5] = -B * (u * wq).sum(axis=1)
        J[:, 6] = B * beta * (h * D.log_eta).sum(axis=1)
        return pred, J

    def predict_raw(self, p, D):
        return self.value_and_jacobian(p, D)[0]


def _authors_objective(p, designs, delta):
    """The authors' training loss: sum of Huber(log L - log clamp(pred, 1e-10)), and its gradient."""
    total, g = 0.0, np.zeros(7)
    for D in designs:
        pred, J = _AuthorsLaw.value_and_jacobian(p, D)
        clamped = np.maximum(pred, 1e-10)
        r = D.log_y - np.log(clamped)
        small = np.abs(r) < delta
        total += float(np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta)).sum())
        dr = -np.where(pred > 1e-10, 1.0 / clamped, 0.0)
        g += (np.where(small, r, delta * np.sign(r)) * dr) @ J
    return total, g


def _authors_value(p, designs, delta):
    """The authors' training loss alone (no gradient): for held-out curves along a path."""
    total = 0.0
    for D in designs:
        L0, A, alpha, B, C, beta, gamma = p
        if not C > 0:
            return math.nan
        _, u = _log1p_exp(math.log(C) + D.log_dist - gamma * D.log_eta)
        ld = D.w_sum - (np.exp(-beta * u) * D.w).sum(axis=1)
        pred = L0 + A * np.exp(-alpha * D.log_area) - B * ld
        r = D.log_y - np.log(np.maximum(pred, 1e-10))
        psi = np.clip(r, -delta, delta)
        total += float(psi @ (r - 0.5 * psi))
    return total


def _authors_initial_guess(curves_scaled, delta, eta_max):
    """Grid-initialised L-BFGS-B fit of L0 + A S^-alpha - B (eta_max - eta_last), bounds >= 0."""
    ys = [y for _, _, y, _ in curves_scaled]
    m = min(float(y.min()) for y in ys)
    log_area = np.concatenate([la for _, la, _, _ in curves_scaled])
    y = np.concatenate(ys)
    drop = np.concatenate([dn for _, _, _, dn in curves_scaled])
    area = np.exp(log_area)
    log_y = np.log(y)
    if np.all(log_area == log_area[0]):
        slope, intercept = 0.0, float(np.log(np.mean(y - m + 0.01)))
    else:
        fit_line = linregress(log_area, np.log(y - m + 0.01))
        slope, intercept = float(fit_line.slope), float(fit_line.intercept)

    def f(p):
        L0, A, alpha, B = p
        pw = np.exp(-alpha * log_area)
        pred = L0 + A * pw - B * drop
        if not pred.min() > 0:
            return np.inf, np.zeros(4)
        r = log_y - np.log(pred)
        psi = np.clip(r, -delta, delta)                  # Huber: psi (r - psi/2), derivative psi
        wgt = -psi / pred
        return float(psi @ (r - 0.5 * psi)), np.array([wgt.sum(), wgt @ pw, -A * ((wgt * log_area) @ pw),
                                                        -(wgt @ drop)])

    best = None
    grid = itertools.product(np.linspace(m - 0.2, m + 0.2, 5),
                             math.exp(intercept) + np.array([-0.1, 0.0, 0.1]),
                             -slope + np.array([-0.1, 0.0, 0.1]), (100.0, 550.0, 1000.0))
    with np.errstate(all="ignore"):   # trial points may overflow: they get an infinite objective
        for p0 in grid:
            p0 = np.maximum(np.array(p0, dtype=float), 0.0)
            if not np.isfinite(f(p0)[0]):
                continue
            res = minimize(f, p0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * 4,
                           options={"maxiter": 100000, "ftol": 1e-9, "gtol": 1e-6})
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
    if best is None:
        raise ValueError("the authors' initial guess failed: the simplified law predicts a non-positive "
                         "loss from every grid point (are the losses and rates of the same runs?)")
    return np.concatenate([best.x, [1.0, 0.5, 0.5]]), float(best.fun)


def _adamw_path(p0, objective, steps, lr=_ADAM_LR, stop=True, weight_decay=0.01, betas=(0.9, 0.999),
                eps=1e-8, patience=20, grad_tol=1e-5):
    """AdamW as ``torch.optim.AdamW`` (decoupled decay, bias correction, per-parameter learning rates).

    Returns the objective at each evaluated iterate, the parameters *after* each step (the authors'
    loop records the parameters after the step taken at the evaluated point) and, with ``stop``, the
    index of the iterate their loop returns (the lowest objective before it stops: 20 steps without
    a lower objective, or a gradient norm below 1e-5). ``objective(p)`` returns (value, gradient)."""
    p = np.array(p0, dtype=float)
    m = np.zeros(p.size)
    v = np.zeros(p.size)
    b1, b2 = betas
    objs, after = [], []
    best_j, best, lowest, since = None, math.inf, math.inf, 0
    for t in range(1, steps + 1):
        J, g = objective(p)
        if not (np.isfinite(J) and np.all(np.isfinite(g))):
            break                     # NaN from here on: their loop would only wait out its patience
        p = p * (1.0 - lr * weight_decay)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        denom = np.sqrt(v) / math.sqrt(1.0 - b2 ** t) + eps
        p = p - (lr / (1.0 - b1 ** t)) * m / denom
        objs.append(J)
        after.append(p.copy())
        j = t - 1
        if J < lowest:
            lowest, since = J, 0
        else:
            since += 1
        if stop and ((j > patience and since >= patience) or np.linalg.norm(g) < grad_tol):
            break
        if J < best:
            best, best_j = J, j
    return np.array(objs), after, best_j


def _scaled_for_init(curves, rate_scale):
    out = []
    for e, n, W, y in curves:
        es = e * rate_scale
        out.append((es, np.log(np.cumsum(es)[n - 1]), y, None))
    eta_max = max(float(e.max()) for e, _, _, _ in out)
    return [(es, la, y, eta_max - es[n - 1]) for (es, la, y, _), (_, n, _, _) in zip(out, curves)], eta_max


_INIT_CACHE: dict = {}


def _authors_prepare(curves, quad, delta):
    r_train = max(float(e.max()) for e, _, _, _ in curves)
    rate_scale = STUDY_PEAK_RATE / r_train
    scaled, eta_max = _scaled_for_init(curves, rate_scale)
    # the initial guess is a deterministic function of the data: methods that need it for the same
    # curves (the authors' fit, the final fit and the folds of the cross-validated ones) share it
    key = (delta, eta_max, tuple((hash(es.tobytes()), hash(la.tobytes()), hash(y.tobytes()))
                                 for es, la, y, _ in scaled))
    data = [np.concatenate([es, la, y]) for es, la, y, _ in scaled]
    hit = _INIT_CACHE.get(key)
    if hit is None or len(hit[0]) != len(data) or not all(np.array_equal(a, b) for a, b in zip(hit[0], data)):
        if len(_INIT_CACHE) >= 64:
            _INIT_CACHE.pop(next(iter(_INIT_CACHE)))
        hit = (data, _authors_initial_guess(scaled, delta, eta_max))
        _INIT_CACHE[key] = hit
    p0, init_obj = hit[1]
    p0 = p0.copy()
    impl = _AuthorsLaw(quad)
    designs = _designs(impl, curves, 1.0 / rate_scale, float32=True)
    return impl, designs, p0, init_obj, rate_scale


def _authors_params(p, rate_scale):
    L0, A, alpha, B, C, beta, gamma = (float(v) for v in p)
    # rates in the fit are eta * s (s = rate_scale); back to the caller's units. An unbounded AdamW
    # path can reach exponents (gamma ~ 1e7) for which A or C has no double in those units.
    try:
        params = {"L0": L0, "A": A * rate_scale ** (-alpha), "alpha": alpha, "B": B * rate_scale,
                  "C": C * rate_scale ** (1.0 - gamma), "beta": beta, "gamma": gamma}
    except OverflowError:
        params = None
    if params is None or not all(math.isfinite(v) for v in params.values()):
        raise check.not_representable(
            "the fitted parameters in the units of the given rates",
            f"the AdamW path reached alpha = {alpha:.3g}, beta = {beta:.3g}, gamma = {gamma:.3g} (a fit far "
            f"outside the law's usual range: try method='optimum', or more data)")
    return params


def _authors_result(method, impl, designs, p, rate_scale, convention, info, delta):
    obj = _authors_objective(p, designs, delta)[0]
    params = _authors_params(p, rate_scale)
    msgs = [f"{name} = {params[name]:.3g} <= 0: the fit left the law's domain (AdamW has no bounds)"
            for name in PARAM_NAMES[1:] if not params[name] > 0]
    return FittedLaw(law="multi-power", params=params, objective=float(obj),
                     method=method, convention=convention, degenerate=tuple(msgs), info=info,
                     eta_ref=1.0 / rate_scale, _theta=np.array(p, dtype=float), _impl=impl)


def _fit_authors(curves, convention, delta, maxiter, quad):
    impl, designs, p0, init_obj, rate_scale = _authors_prepare(curves, quad, delta)
    objs, after, j = _adamw_path(p0, lambda p: _authors_objective(p, designs, delta), maxiter)
    taken = len(objs)
    p = after[j] if j is not None else p0
    info = {"initial_guess": _authors_params(p0, rate_scale), "initial_objective": init_obj,
            "steps_taken": taken, "best_step": None if j is None else j + 1,
            "path_objective": objs.tolist(),
            "path_params": [_authors_params(q, rate_scale) for q in after]}
    return _authors_result("authors", impl, designs, p, rate_scale, convention, info, delta)


def _validation_folds(curves, validation):
    """(fit curves, held-out curves) pairs: each curve held out in turn, or each curve's last third."""
    if validation == "curves":
        if len(curves) < 2:
            raise ValueError(f"validation='curves' needs at least two training curves (one is held out in "
                             f"turn), got {len(curves)}")
        return [(curves[:j] + curves[j + 1:], [curves[j]]) for j in range(len(curves))]
    head, tail = [], []
    for e, n, W, y in curves:
        cut = n <= n.min() + (2.0 / 3.0) * (n.max() - n.min())
        if cut.sum() < 3 or (~cut).sum() < 1:
            raise ValueError("validation='forward' needs at least 4 observations per curve (two thirds "
                             "to fit, the rest to validate)")
        head.append((e, n[cut], W, y[cut]))
        tail.append((e, n[~cut], W, y[~cut]))
    return [(head, tail)]


def _held_out_value(p, held_designs, delta):
    """The authors' objective per held-out point (inf where the parameters leave the law's domain)."""
    with np.errstate(all="ignore"):
        v = _authors_value(p, held_designs, delta) / sum(D.y.size for D in held_designs)
    return v if np.isfinite(v) else math.inf


def _fit_cv_stop(curves, convention, delta, maxiter, quad, validation):
    """AdamW path of the authors' procedure, stopped after K steps, K chosen by validation."""
    held_scores = np.zeros(maxiter)
    for fit_part, held_part in _validation_folds(curves, validation):
        impl, designs, p0, _, rate_scale = _authors_prepare(fit_part, quad, delta)
        held = _designs(impl, held_part, 1.0 / rate_scale, float32=True)
        _, after, _ = _adamw_path(p0, lambda p: _authors_objective(p, designs, delta), maxiter, stop=False)
        path = [_held_out_value(p, held, delta) for p in after]
        path += [path[-1] if path else math.inf] * (maxiter - len(path))
        held_scores += np.array(path)
    K = int(np.argmin(held_scores)) + 1
    impl, designs, p0, init_obj, rate_scale = _authors_prepare(curves, quad, delta)
    objs, after, _ = _adamw_path(p0, lambda p: _authors_objective(p, designs, delta), K, stop=False)
    p = after[-1] if after else p0
    info = {"initial_guess": _authors_params(p0, rate_scale), "initial_objective": init_obj,
            "steps_taken": len(after), "cv_steps": K, "cv_curve": held_scores.tolist(),
            "validation": validation, "path_objective": objs.tolist(),
            "path_params": [_authors_params(q, rate_scale) for q in after]}
    return _authors_result("cv-stop", impl, designs, p, rate_scale, convention, info, delta)


RIDGE_GRID = (1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 0.0)
"""Ridge strengths of ``method="cv-ridge"``, in units of ``n_obs delta^2`` (largest first)."""


def _ridge_fit(p_start, p0, designs, delta, lam, maxiter):
    """Minimise the authors' objective + lam sum((p - p0)/lr)^2 over the raw parameters (C > 0)."""
    n_data = sum(D.y.size for D in designs)
    lr = _ADAM_LR

    def residuals_and_jacobian(p):
        rs, Js = [], []
        for D in designs:
            pred, J = _AuthorsLaw.value_and_jacobian(p, D)
            safe = np.maximum(pred, 1e-10)
            rs.append(np.log(safe) - D.log_y)
            Js.append(np.where((pred > 1e-10)[:, None], J / safe[:, None], 0.0))
        scale = math.sqrt(2.0 * lam)
        return (np.concatenate(rs + [scale * (p - p0) / lr]),
                np.concatenate(Js + [np.diag(np.full(7, scale) / lr)]))

    cache = {}

    def fun(p):
        key = p.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = residuals_and_jacobian(p)
        return cache[key][0]

    def jac(p):
        fun(p)
        return cache[p.tobytes()][1]

    d2 = delta * delta

    def rho(z):
        # Huber on the data rows (z = r^2), quadratic on the penalty rows: cost = sum(rho)/2
        out = np.empty((3, z.size))
        zd, zp = z[:n_data], z[n_data:]
        big = zd > d2
        sq = np.sqrt(np.where(big, zd, 1.0))
        out[0, :n_data] = np.where(big, 2.0 * delta * sq - d2, zd)
        out[1, :n_data] = np.where(big, delta / sq, 1.0)
        out[2, :n_data] = np.where(big, -0.5 * delta / (sq * np.where(big, zd, 1.0)), 0.0)
        out[0, n_data:], out[1, n_data:], out[2, n_data:] = zp, 1.0, 0.0
        return out

    lo = np.full(7, 1e-12)         # the law's domain: every parameter but L0 positive
    lo[0] = -np.inf
    start = np.maximum(p_start, lo + 1e-12)
    with np.errstate(all="ignore"):
        res = least_squares(fun, start, jac=jac, bounds=(lo, np.full(7, np.inf)), loss=rho, f_scale=1.0,
                            method="trf", x_scale="jac", ftol=1e-12, xtol=1e-12, gtol=1e-12,
                            max_nfev=maxiter)
    return res.x


def _fit_cv_ridge(curves, convention, delta, maxiter, quad, validation):
    """The authors' objective plus a ridge penalty towards their initial guess, in AdamW's units
    (``lam sum((p - p0)/lr)^2``); ``lam`` from :data:`RIDGE_GRID` by validation."""
    held_scores = np.zeros(len(RIDGE_GRID))
    for fit_part, held_part in _validation_folds(curves, validation):
        impl, designs, p0, _, rate_scale = _authors_prepare(fit_part, quad, delta)
        held = _designs(impl, held_part, 1.0 / rate_scale, float32=True)
        unit = sum(D.y.size for D in designs) * delta * delta
        p = p0
        for i, rho_ in enumerate(RIDGE_GRID):          # a path from strong to no penalty, warm-started
            p = _ridge_fit(p, p0, designs, delta, rho_ * unit, maxiter)
            held_scores[i] += _held_out_value(p, held, delta)
    i_best = int(np.argmin(held_scores))
    impl, designs, p0, init_obj, rate_scale = _authors_prepare(curves, quad, delta)
    unit = sum(D.y.size for D in designs) * delta * delta
    p = p0
    for rho_ in RIDGE_GRID[:i_best + 1]:
        p = _ridge_fit(p, p0, designs, delta, rho_ * unit, maxiter)
    info = {"initial_guess": _authors_params(p0, rate_scale), "initial_objective": init_obj,
            "ridge": RIDGE_GRID[i_best], "ridge_grid": list(RIDGE_GRID), "cv_curve": held_scores.tolist(),
            "validation": validation}
    return _authors_result("cv-ridge", impl, designs, p, rate_scale, convention, info, delta)


# ============================================================================ public fitters
_DEFAULT_QUAD = {"window": 64, "ratio": 0.25, "base": 16, "order": 4, "smooth_tol": 1e-7}


def fit(curves, *, method="optimum", convention=None, warmup=None, delta=1e-3, n_starts=None,
        maxiter=None, quadrature=None, validation="curves") -> FittedLaw:
    r"""Fit the Multi-Power Law to loss curves ``[(lrs, steps, losses), ...]``.

    Every method minimises (or descends) the authors' objective
    ``sum_i Huber_delta(log L_pred_i - log L_i)`` over the training points.

    * ``method="optimum"`` (default): its minimum, by trust-region reflective least squares
      (``scipy.optimize.least_squares`` with ``loss="huber"``, ``f_scale=delta``, whose cost is exactly
      the objective) with analytic Jacobians over
      ``(log L0, log A, log alpha, log(B beta), log C, beta, gamma)`` with ``beta, gamma >= 1e-12``
      (module docstring), from the ``n_starts`` (default 4) best points of a grid of 108
      initialisations of ``(alpha, C, beta, gamma)``, the linear ``L0, A, B beta`` set by
      non-negative least squares; at most ``maxiter`` (default 3000) evaluations per start. Rates are
      divided by the largest training rate internally.
    * ``method="authors"``: the procedure of the authors' public code (Luo et al. 2025), with rates in
      units where the peak training rate is 3e-4 (the peak of their runs; for their curves this
      changes nothing): (a) L-BFGS-B (bounds >= 0, ftol 1e-9, gtol 1e-6) from each point of a
      5 x 3 x 3 x 3 grid on the simplified law ``L0 + A S^-alpha - B (eta_max - eta_last)``,
      ``L0`` in ``m + linspace(-0.2, 0.2, 5)`` (``m`` the smallest training loss),
      ``A`` in ``exp(c) + (-0.1, 0, 0.1)``, ``alpha`` in ``-k + (-0.1, 0, 0.1)`` (``k, c`` the slope and
      intercept of a least-squares line of ``log(L - m + 0.01)`` against ``log S``), ``B`` in
      (100, 550, 1000); then ``C = 1, beta = gamma = 0.5``. (b) At most ``maxiter`` (default 200) steps
      of AdamW with the semantics of ``torch.optim.AdamW`` (betas 0.9, 0.999, eps 1e-8, decoupled
      weight decay 0.01: ``p <- p (1 - lr wd)``, bias-corrected moments), learning rate 0.05 for
      ``L0, A, B, C`` and 0.005 for ``alpha, beta, gamma``, on the raw parameters, the losses read as
      float32 for the log-residuals; it stops after 20 steps without a lower objective (or a gradient
      norm below 1e-5) and returns the parameters after the step taken at the lowest objective seen
      (as their loop records them). Analytic gradients in numpy.
    * ``method="cv-stop"``: the AdamW path of ``"authors"``, run for ``K`` steps, ``K`` chosen by
      validation: with ``validation="curves"`` (leave-one-curve-out; needs >= 2 curves) each training
      curve is held out in turn, the procedure is run on the others (``maxiter`` steps, no stopping
      rule) and the held-out objective per point is recorded along the path; ``K`` minimises its sum
      over the held-out curves. With ``validation="forward"`` the procedure is run on the first two
      thirds (in steps) of every curve and validated on the rest.
    * ``method="cv-ridge"``: the authors' objective plus ``lam sum_i ((p_i - p0_i)/lr_i)^2``, a ridge
      penalty towards the authors' initial guess ``p0`` in the units of AdamW's learning rates ``lr``,
      minimised by trust-region least squares; ``lam = rho n delta^2`` (``n`` training points) with
      ``rho`` in :data:`RIDGE_GRID` chosen by the same validation (a warm-started path from the
      strongest penalty to none), within the law's domain (every parameter but ``L0`` >= 1e-12).

    The AdamW methods (``"authors"``, ``"cv-stop"``) do not constrain the parameters, as the authors'
    code does not: on short or unusual curves their steps can leave the law's domain (a negative
    ``A`` or ``alpha``); such a fit is reported in ``degenerate`` and ``predict`` still evaluates the
    formula.

    Parameters
    ----------
    curves : list of (lrs, steps, losses)
        ``lrs`` 1-D rates >= 0; ``steps`` integers in ``convention``; ``losses`` > 0.
    method : "optimum", "authors", "cv-stop" or "cv-ridge".
    convention : None, "updates" or "logged"
        How ``steps`` are read (module docstring); None: ``"updates"`` for ``"optimum"``,
        ``"logged"`` (the authors' code) for ``"authors"`` and ``"cv-stop"``.
    warmup : None or int
        End of the warmup in the ``"updates"`` convention (None: the peak of each schedule).
    delta : float > 0, finite
        Huber threshold.
    n_starts : None or int in [1, 108] (``"optimum"`` only).
    maxiter : None or int >= 1
        Evaluations per start (``"optimum"``, default 3000), the cap on AdamW steps (``"authors"``,
        ``"cv-stop"``, default 200) or on evaluations per ridge fit (``"cv-ridge"``, default 400).
    quadrature : None or dict of :func:`loss_drop_nodes` options (window, ratio, base, order,
        smooth_tol).
    validation : "curves" or "forward" (``"cv-stop"`` and ``"cv-ridge"`` only).

    Returns
    -------
    FittedLaw
        ``.params`` = {L0, A, alpha, B, C, beta, gamma} in the caller's rate units,
        ``.predict(lrs, steps)`` in the fit's convention, ``.degenerate``, ``.info``.
    """
    method = check.choice("method", method, METHODS)
    validation = check.choice("validation", validation, VALIDATIONS)
    if validation != "curves" and not method.startswith("cv-"):
        raise ValueError(f"validation applies to method='cv-stop' or 'cv-ridge' only, got "
                         f"validation={validation!r} with method={method!r}")
    if convention is None:
        convention = "updates" if method == "optimum" else "logged"
    convention = _check_convention(convention)
    if quadrature is None:
        quad = dict(_DEFAULT_QUAD)
    else:
        if not hasattr(quadrature, "keys") or set(quadrature) - set(_DEFAULT_QUAD):
            raise ValueError(f"quadrature must be None or a dict with keys among {sorted(_DEFAULT_QUAD)}, "
                             f"got {quadrature!r:.80}")
        quad = dict(_DEFAULT_QUAD, **quadrature)
        w, ra, ba, o, st = _check_quadrature(quad["window"], quad["ratio"], quad["base"], quad["order"],
                                             quad["smooth_tol"])
        quad = {"window": w, "ratio": ra, "base": ba, "order": o, "smooth_tol": st}
    delta = check.real("delta", delta, low=1e-9, high=1.0,
                       domain="a Huber threshold on log-residuals in [1e-09, 1]")
    if method == "optimum":
        n_starts = 4 if n_starts is None else check.integer("n_starts", n_starts, low=1, high=108)
        maxiter = 3000 if maxiter is None else check.integer("maxiter", maxiter, low=1)
    else:
        if n_starts is not None:
            raise ValueError(f"n_starts applies to method='optimum' only (the authors' procedure starts "
                             f"from its own grid), got n_starts={n_starts!r} with method={method!r}")
        default = 400 if method == "cv-ridge" else 200
        maxiter = default if maxiter is None else check.integer("maxiter", maxiter, low=1, high=100000)
    curves = _check_curves(curves, warmup, convention)
    for e, n, _, _ in curves:
        _drop_work(f"mpl.fit (method={method!r})", e.size, n.size, quad["window"], quad["base"])
    if method == "optimum":
        _fit_work("fit", curves, n_starts * min(maxiter, 100) + 36)
        return _fit_optimum(_MPL(quad), "multi-power", curves, convention, delta, n_starts, maxiter, warmup)
    if method == "authors":
        _fit_work("fit", curves, maxiter, inits=1)
        return _fit_authors(curves, convention, delta, maxiter, quad)
    if method == "cv-stop":
        _fit_work("fit", curves, maxiter * 2 * (len(curves) + 1), inits=len(curves) + 1)
        return _fit_cv_stop(curves, convention, delta, maxiter, quad, validation)
    _fit_work("fit", curves, min(maxiter, 60) * len(RIDGE_GRID) * (len(curves) + 1), inits=len(curves) + 1)
    return _fit_cv_ridge(curves, convention, delta, maxiter, quad, validation)


def _simple_fit(law, name, curves, convention, warmup, delta, n_starts, maxiter, n_max):
    convention = _check_convention(convention)
    delta = check.real("delta", delta, low=1e-9, high=1.0,
                       domain="a Huber threshold on log-residuals in [1e-09, 1]")
    n_starts = check.integer("n_starts", n_starts, low=1, high=n_max)
    maxiter = check.integer("maxiter", maxiter, low=1)
    curves = _check_curves(curves, warmup, convention)
    _fit_work(name, curves, n_starts * min(maxiter, 100))
    return _fit_optimum(law, name, curves, convention, delta, n_starts, maxiter, warmup)


def fit_power_law(curves, *, convention="updates", warmup=None, delta=1e-3, n_starts=3,
                  maxiter=3000) -> FittedLaw:
    r"""Fit ``L0 + A S(n)^(-alpha)`` (a power law in the rate area) as :func:`fit` fits the optimum.

    Parameters as :func:`fit`; ``n_starts`` in [1, 6] (a grid of six values of alpha).
    """
    return _simple_fit(_Power(), "power", curves, convention, warmup, delta, n_starts, maxiter, 6)


def fit_momentum_law(curves, *, lam=0.999, convention="updates", warmup=None, delta=1e-3,
                     n_starts=3, maxiter=3000) -> FittedLaw:
    r"""Fit Tissue et al.'s ``L0 + A S(n)^(-alpha) - C S2(n)`` (annealing area with decay ``lam``).

    Parameters as :func:`fit`; ``lam`` in [0, 1) (the paper's default 0.999, kept fixed);
    ``n_starts`` in [1, 6].
    """
    lam = check.real("lam", lam, low=0, high=1, high_open=True)
    return _simple_fit(_Momentum(lam), "momentum", curves, convention, warmup, delta, n_starts, maxiter, 6)


def fit_convex_bound(curves, *, convention="updates", delta=1e-3, maxiter=3000) -> FittedLaw:
    r"""Fit ``L0 + Omega_n(D, G)``, the last-iterate bound of :func:`convex_bound`, to loss curves.

    The bound is linear in ``D^2`` and ``G^2``; the fit minimises the same Huber objective on
    log-residuals as :func:`fit` over ``(log L0, log D, log G)`` by trust-region least squares,
    started from the non-negative least-squares solution. Parameters as :func:`fit`.
    """
    return _simple_fit(_Bound(), "convex-bound", curves, convention, None, delta, 1, maxiter, 1)


# ============================================================================ direct evaluation
def multi_power_law(lrs, steps, params, warmup=None, window=64, convention="updates") -> np.ndarray:
    r"""The Multi-Power Law prediction at ``steps`` for given parameters (module docstring).

    Parameters
    ----------
    lrs : 1-D array of rates >= 0, at least one positive.
    steps : 1-D integer array in ``convention``.
    params : mapping with L0 (real) and A, alpha, B, C, beta, gamma (> 0), or a list of such mappings
        (the schedule is then compressed once and every parameter set evaluated on it).
    warmup : None or int (``"updates"`` only).
    window : int >= 64 or None (dense, exact sum; O(len(steps) x len(lrs)) memory).
    convention : "updates" or "logged".

    Returns
    -------
    ndarray of the predicted losses (shape ``(len(steps),)``, or ``(len(params), len(steps))`` for a
    list); a value that overflows a double raises ValueError.
    """
    many = isinstance(params, (list, tuple))
    if many:
        if not params:
            raise ValueError("params must be a mapping or a non-empty list of mappings, got []")
        checked = [_check_mpl_params(q) for q in params]
    else:
        checked = [_check_mpl_params(params)]
    e = _check_lrs(lrs)
    convention = _check_convention(convention)
    n, W = _observations(e, steps, warmup, convention)
    quad = dict(_DEFAULT_QUAD)
    quad["window"], *_ = _check_quadrature(window, quad["ratio"], quad["base"], quad["order"],
                                           quad["smooth_tol"])
    _drop_work("mpl.multi_power_law", e.size, n.size, quad["window"], quad["base"])
    check.check_work("mpl.multi_power_law", operations=float(len(checked)) * n.size * 600 * 20,
                     sizes=f"{len(checked)} parameter sets, len(steps) = {n.size}")
    D = _mpl_design(e, n, W, quad)
    law = _MPL(quad)
    rows = []
    for i, (L0, A, alpha, B, C, beta, gamma) in enumerate(checked):
        with np.errstate(all="ignore"):        # an overflow is reported below, as not representable
            # log L0 = -inf makes the law's own L0 term 0 (exp(-inf) = 0), so L0 of any sign and the
            # schedule-dependent part at any scale are added without cancellation
            theta = np.array([-np.inf, math.log(A), math.log(alpha), math.log(B * beta), math.log(C), beta, gamma])
            pred, _ = law.value(theta, D)
            out = pred + L0
        if not np.all(np.isfinite(out)):
            q = params[i] if many else params
            raise check.not_representable("the Multi-Power Law prediction",
                                          f"params {dict(q)!r:.200} give {out[~np.isfinite(out)][0]!r}")
        rows.append(out)
    return np.array(rows) if many else rows[0]


def convex_bound(lrs, steps, params, convention="updates") -> np.ndarray:
    r"""``L0 + Omega_n``: the last-iterate bound of SGD on a convex problem, read as a loss curve.

    For SGD ``x_{t+1} = x_t - eta_t g_t`` on a convex function with ``E||g_t||^2 <= G^2`` and
    ``D = ||x_1 - x_*||`` (Defazio et al. 2023, Thm. 10; Schaipp et al. 2025, Thm. 3.1), after the
    ``n`` rates ``eta_1, ..., eta_n`` (the book's ``lrs[0], ..., lrs[n-1]``):

    .. math::

        E f(x_n) - f_* \le \Omega_n = \frac{D^2 + G^2 \sum_{t=1}^{n} \eta_t^2}{2 \sum_{t=1}^{n} \eta_t}
          + \frac{G^2}{2} \sum_{k=1}^{n-1} \frac{\eta_k}{\sum_{t=k+1}^{n} \eta_t}
            \frac{\sum_{t=k}^{n} \eta_t^2}{\sum_{t=k}^{n} \eta_t}.

    Terms with ``eta_k = 0`` vanish. The prediction is ``L0 + Omega_n`` (``L0`` plays ``f_*``).
    Schaipp et al. show that this bound, for the schedules used in practice, has the shape of the
    loss curves of large models (cooldown benefit included).

    Parameters
    ----------
    lrs : 1-D array of rates >= 0, at least one positive; a positive rate followed only by zero rates
        makes the bound infinite and is refused.
    steps : 1-D integer array in ``convention`` (``"updates"``: ``n``; ``"logged"``: ``n = s + 1``).
    params : mapping with L0 (real), D >= 0 and G >= 0.
    convention : "updates" or "logged".

    Returns
    -------
    ndarray, one value per step. O(sum of steps) work.
    """
    if not hasattr(params, "keys") or any(k not in params for k in ("L0", "D", "G")):
        raise ValueError(f"params must be a mapping with keys ('L0', 'D', 'G'), got {params!r:.80}")
    L0 = check.real("params['L0']", params["L0"])
    Dd = check.real("params['D']", params["D"], low=0)
    G = check.real("params['G']", params["G"], low=0)
    e = _check_lrs(lrs)
    convention = _check_convention(convention)
    n, _ = _observations(e, steps, None, convention)
    check.check_work("mpl.convex_bound", operations=float(n.sum()) * 12,
                     memory_bytes=float(n.max()) * 8 * 8, sizes=f"sum of steps = {int(n.sum())}")
    last_positive = int(np.flatnonzero(e > 0)[-1])
    bad = n - 1 > last_positive
    if np.any(bad & (np.cumsum(e)[n - 1] > 0)):
        i = int(np.argmax(bad))
        raise ValueError(f"steps[{i}] comes after the last positive rate (step {last_positive}): the "
                         f"bound is infinite there (a rate followed only by zero rates)")
    inv, Q = _bound_terms(e, n)
    out = L0 + Dd * Dd * inv + G * G * Q
    if not np.all(np.isfinite(out)):
        raise check.not_representable("the convex bound", f"params {dict(params)!r:.200}")
    return out


def _check_final_inputs(lrs, params, warmup):
    L0, A, alpha, B, C, beta, gamma = _check_mpl_params(params)
    e = check.real_array("lrs", lrs, low=0, low_open=True, ndim=1, min_size=1,
                         domain="rates > 0 (the gradient needs every rate positive)")
    T = e.size
    if warmup is None:
        W = int(np.argmax(e)) + 1
    else:
        W = max(check.integer("warmup", warmup, low=0, high=T,
                              domain=f"None or an integer in [0, {T}] (= len(lrs))"), 1)
    return (L0, A, alpha, B, C, beta, gamma), e, W


def final_loss_and_gradient(lrs, params, warmup=None):
    r"""The Multi-Power Law's final loss ``L(T)`` (``T = len(lrs)``) and its gradient in every rate.

    With ``c_T = sum_s eta_s``, ``R_k = c_T - c_k``, ``x_k = eta_k^{-gamma} R_k``, ``d_k = eta_{k-1} - eta_k``:

    .. math::

        \frac{\partial L}{\partial \eta_j} = {}& -\alpha A c_T^{-\alpha-1}\\
          & - B\Bigl[G(x_{j+1}) - G(x_j) - \gamma d_j G'(x_j) \frac{x_j}{\eta_j}
          + \sum_{k \le j} d_k G'(x_k)\, \eta_k^{-\gamma}\Bigr],

    (terms with ``k < W`` or ``k > T-1`` absent), an O(T) computation by cumulative sums, evaluated in
    logarithms (``log C x_k``) so that large ``gamma`` or ``C`` neither overflow nor give NaN.

    Parameters
    ----------
    lrs : 1-D array of rates > 0.
    params : mapping with L0 (real) and A, alpha, B, C, beta, gamma (> 0).
    warmup : None (the peak ends the warmup) or int in [0, len(lrs)].

    Returns
    -------
    (loss, gradient) : float and ndarray of shape ``(T,)``; values that overflow raise ValueError.
    """
    (L0, A, alpha, B, C, beta, gamma), e, W = _check_final_inputs(lrs, params, warmup)
    T = e.size
    check.check_work("mpl.final_loss_and_gradient", operations=40.0 * T, memory_bytes=16 * 8.0 * T,
                     sizes=f"len(lrs) = {T}")
    with np.errstate(all="ignore"):       # overflow is reported below, as not representable
        tail = np.cumsum(e[::-1])[::-1]          # R_k = eta_k + ... + eta_{T-1}, summed from the end:
        cT = tail[0]                             # no cancellation when the last rates are tiny
        k = np.arange(W, T)
        R = tail[k]
        ek = e[k]
        log_ek = np.log(ek)
        d = e[k - 1] - ek
        llx = math.log(C) - gamma * log_ek + np.log(R)           # log(C x_k)
        u = np.logaddexp(0.0, llx)                               # log(1 + C x_k)
        q = np.exp(-beta * u)
        G = -np.expm1(-beta * u)
        sig = -np.expm1(-u)                                      # C x / (1 + C x)
        # G'(x) x = beta q sig;  G'(x) eta^-gamma = beta q sig / R
        Gp_x = beta * q * sig
        Gp_eta = Gp_x / R
        loss = L0 + A * cT ** (-alpha) - B * np.sum(d * G)
        grad = np.full(T, -alpha * A * cT ** (-alpha - 1.0))
        inner = np.zeros(T)
        inner[k - 1] += G                 # d_k depends on eta_{k-1} with +1
        inner[k] -= G                     # and on eta_k with -1
        inner[k] += -gamma * d * Gp_x / ek
        acc = np.zeros(T)
        acc[k] = d * Gp_eta
        inner += np.cumsum(acc)           # R_k contains eta_j for every j >= k
        grad -= B * inner
    if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
        raise check.not_representable("the Multi-Power Law's final loss or its gradient",
                                      f"params {dict(params)!r:.200}")
    return float(loss), grad


def _rates_from_u(u, eta_max, head, cap=np.inf):
    return np.concatenate([head, eta_max * np.exp(-np.minimum(np.cumsum(u), cap))])


def optimal_schedule(params, T, eta_max, warmup=0, eta_min=None, maxiter=2000):
    r"""Minimise the Multi-Power Law's final loss over non-increasing schedules ``0 < eta <= eta_max``.

    The post-warmup rates are parametrised as ``eta_s = eta_max exp(-sum_{j<=s} u_j)`` with
    ``u_j >= 0`` (monotone and positive by construction; ``eta_min`` optionally bounds the total
    decay, softly), and L-BFGS-B minimises :func:`final_loss_and_gradient` (chain rule through a
    reverse cumulative sum). A linear warmup of ``warmup`` steps (fixed, ``eta_max (s+1)/warmup``)
    precedes them.

    Parameters
    ----------
    params : mapping with L0 (real) and A, alpha, B, C, beta, gamma (> 0).
    T : int >= 2;  eta_max : float > 0;  warmup : int in [0, T - 1];
    eta_min : None or float in (0, eta_max);  maxiter : int >= 1.

    Returns
    -------
    (lrs, loss) : the schedule (length T) and its predicted final loss.
    """
    _check_mpl_params(params)
    T = check.integer("T", T, low=2)
    eta_max = check.real("eta_max", eta_max, low=0, low_open=True)
    warmup = check.integer("warmup", warmup, low=0, high=T - 1)
    if eta_min is not None:
        eta_min = check.real("eta_min", eta_min, low=0, high=eta_max, low_open=True, high_open=True,
                             domain=f"None or a real number in (0, eta_max) = (0, {eta_max:.6g})")
    maxiter = check.integer("maxiter", maxiter, low=1)
    check.check_work("mpl.optimal_schedule", operations=60.0 * T * maxiter * 1.3,
                     memory_bytes=30 * 8.0 * T * 30, sizes=f"T * maxiter = {T * maxiter:.3g}")
    head = eta_max * (np.arange(1, warmup + 1) / max(warmup, 1))
    n = T - warmup
    log_floor = math.log(eta_max / eta_min) if eta_min else 60.0

    L0, A, alpha, B = (float(params[k]) for k in ("L0", "A", "alpha", "B"))
    with np.errstate(all="ignore"):
        # the loss's natural scale: the objective is optimised as (L - L0)/scale, so that L-BFGS-B's
        # tolerances mean the same for any units of the loss
        scale = max(alpha * A * (eta_max * T) ** (-alpha), B * eta_max)
    try:   # the constant schedule must have a representable loss and gradient
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"the loss scale is {scale!r}")
        final_loss_and_gradient(_rates_from_u(np.zeros(T - warmup), eta_max, head), params,
                                warmup=warmup if warmup else 1)
    except ValueError as err:
        raise ValueError(f"optimal_schedule: with eta_max={eta_max!r} and params={dict(params)!r:.200} the "
                         f"law's final loss or gradient is not representable in double precision ({err})") from None

    def f(u):
        lrs = _rates_from_u(u, eta_max, head, cap=log_floor + 50.0)
        if not lrs.min() > 0:
            return 1e300, np.zeros_like(u)      # a trial step far outside: reject it
        try:
            loss, g = final_loss_and_gradient(lrs, params, warmup=warmup if warmup else 1)
        except ValueError:
            return 1e300, np.zeros_like(u)
        loss, g = (loss - L0) / scale, g / scale
        post = g[warmup:] * lrs[warmup:]
        gu = -np.cumsum(post[::-1])[::-1]
        pen = np.sum(u) - log_floor
        if pen > 0:  # soft floor on the total decay
            loss += 1e3 * pen ** 2
            gu += 2e3 * pen
        return loss, gu

    u0 = np.zeros(n)
    with np.errstate(under="ignore"):
        res = minimize(f, u0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * n,
                       options={"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 30})
    lrs = _rates_from_u(res.x, eta_max, head)
    return lrs, final_loss_and_gradient(lrs, params, warmup=warmup if warmup else 1)[0]


# ============================================================================ scores
def _pair(pred, obs):
    p = check.real_array("pred", pred, ndim=1, min_size=1)
    o = check.real_array("obs", obs, ndim=1, min_size=1)
    if p.shape != o.shape:
        raise ValueError(f"pred and obs must have the same length, got {p.size} and {o.size}")
    return p, o


def r2(pred, obs) -> float:
    """Coefficient of determination ``1 - sum (pred - obs)^2 / sum (obs - mean obs)^2``.

    Parameters
    ----------
    pred, obs : 1-D arrays of finite reals of the same length; ``obs`` must vary (R^2 is undefined
        for a constant curve, and refused).
    """
    p, o = _pair(pred, obs)
    ss = float(np.sum((o - o.mean()) ** 2))
    if not ss > 0:
        raise ValueError(f"obs must not be constant: R^2 divides by the variance of obs, which is 0 "
                         f"(got {o.size} equal values {o[0]!r})")
    return float(1.0 - np.sum((p - o) ** 2) / ss)


def mae(pred, obs) -> float:
    """Mean absolute error ``mean |pred - obs|`` (1-D arrays of finite reals, same length)."""
    p, o = _pair(pred, obs)
    return float(np.mean(np.abs(p - o)))


def rmse(pred, obs) -> float:
    """Root mean squared error ``sqrt(mean (pred - obs)^2)`` (1-D arrays of finite reals, same length)."""
    p, o = _pair(pred, obs)
    return float(np.sqrt(np.mean((p - o) ** 2)))


def _positive_obs(o):
    if np.any(o <= 0):
        i = int(np.argmax(o <= 0))
        raise ValueError(f"obs must be positive (losses) for a relative error, got obs[{i}] = {o[i]!r}")


def mean_relative_error(pred, obs) -> float:
    """``mean |pred - obs| / obs`` (1-D arrays of finite reals, same length, obs > 0)."""
    p, o = _pair(pred, obs)
    _positive_obs(o)
    return float(np.mean(np.abs(p - o) / np.abs(o)))


def worst_relative_error(pred, obs) -> float:
    """``max |pred - obs| / obs`` (1-D arrays of finite reals, same length, obs > 0)."""
    p, o = _pair(pred, obs)
    _positive_obs(o)
    return float(np.max(np.abs(p - o) / np.abs(o)))


def score(pred, obs) -> dict:
    """All five scores: {"R2", "MAE", "RMSE", "mean_rel", "worst_rel"} (obs varying and > 0)."""
    return {"R2": r2(pred, obs), "MAE": mae(pred, obs), "RMSE": rmse(pred, obs),
            "mean_rel": mean_relative_error(pred, obs), "worst_rel": worst_relative_error(pred, obs)}


# ============================================================================ the published runs
STUDY_RUNS = ("constant_24000", "constant_72000", "cosine_24000", "cosine_72000", "wsd_20000_24000",
              "wsdld_20000_24000", "wsdcon_3", "wsdcon_9", "wsdcon_18")
"""The nine runs per model size of Luo et al. (2025) (their file names without ``.csv``)."""


def study_schedule(name) -> np.ndarray:
    r"""Per-step rates of the runs of Luo et al. (2025), as their loader builds them.

    Warmup, every run: ``eta_s = 3e-4 s / 2159`` for ``s < 2160`` (from 0 to the peak 3e-4);
    then ``constant_<T>``: 3e-4; ``cosine_<T>``: ``3e-5 + 1.35e-4 (1 + cos(pi (s - 2160)/(T - 2160)))``;
    ``wsd_20000_24000``: 3e-4 until step 19999, then geometric decay
    ``(3e-4)^{(24000 - s)/4000} (3e-5)^{(s - 20000)/4000}``; ``wsdld_20000_24000``: the same with a
    linear decay ``3e-4 (1 - u) + 3e-5 u``, ``u = (s - 20000)/4000``; ``wsdcon_<k>``: 3e-4 until step
    7999, then ``k 1e-5``, 16000 steps in all.

    Parameters
    ----------
    name : one of :data:`STUDY_RUNS`.

    Returns
    -------
    ndarray of length T (24000, 72000 or 16000).
    """
    name = check.choice("name", name, STUDY_RUNS)
    W, hi, lo = 2160, STUDY_PEAK_RATE, 3e-5
    T = 16000 if name.startswith("wsdcon") else int(name.split("_")[-1])
    s = np.arange(T, dtype=float)
    e = np.empty(T)
    e[:W] = np.linspace(0.0, hi, W)
    post = s >= W
    u = np.clip((s - 20000) / 4000, 0, 1)
    if name.startswith("constant"):
        e[post] = hi
    elif name.startswith("cosine"):
        e[post] = lo + 0.5 * (hi - lo) * (1 + np.cos(np.pi * (s[post] - W) / (T - W)))
    elif name.startswith("wsdcon"):
        e[post] = np.where(s[post] < 8000, hi, int(name.split("_")[1]) * 1e-5)
    elif name.startswith("wsdld"):
        e[post] = (hi * (1 - u) + lo * u)[post]
    else:
        e[post] = (hi ** (1 - u) * lo ** u)[post]
    return e


def load_study_curve(path):
    """Read one ``step,lr,loss`` CSV of Luo et al. (2025) as a curve in the ``"logged"`` convention.

    The run is identified by the file name (one of :data:`STUDY_RUNS`); its per-step rates are
    :func:`study_schedule`, checked against the ``lr`` column (relative 1e-9); as in their loader, a
    last row at step 24000 (one past the schedule) is dropped.

    Parameters
    ----------
    path : str or pathlib.Path of an existing CSV file named ``<run>.csv``.

    Returns
    -------
    (lrs, steps, losses) : the rates, the logged step indices, the losses (float64).
    """
    if not isinstance(path, (str, Path)):
        raise ValueError(f"path must be a str or pathlib.Path, got {path!r:.80}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be an existing CSV file, got {str(path)!r}")
    if path.stem not in STUDY_RUNS:
        raise ValueError(f"path must name a run of the study, <run>.csv with <run> one of "
                         f"{', '.join(STUDY_RUNS)}; got {str(path)!r}")
    e = study_schedule(path.stem)
    rows = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    if rows.shape[1] != 3:
        raise ValueError(f"{path.name} must have the three columns step,lr,loss, got {rows.shape[1]}")
    step = rows[:, 0].astype(np.int64)
    keep = step < e.size
    if not np.allclose(rows[keep, 1], e[step[keep]], rtol=1e-9, atol=0):
        raise ValueError(f"{path.name}: the lr column does not match the schedule of run {path.stem!r}")
    return e, step[keep], rows[keep, 2]
