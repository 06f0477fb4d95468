r"""Fitting the Chinchilla law ``L(N, D) = E + A / N^alpha + B / D^beta`` to (N, D, loss) triples.

The standard procedure of Hoffmann et al. (2022, appendix D.2), as replicated by Besiroglu et al.
(2024, Epoch AI):

1. Parametrise in log space, ``A = exp(a)``, ``B = exp(b)``, ``E = exp(e)``, so that

   .. math:: \log L_{\rm pred}(N, D) = \operatorname{LSE}(a - \alpha \log N,\; b - \beta \log D,\; e),

   with LSE the log-sum-exp (:func:`scipy.special.logsumexp`), which keeps E, A, B positive and the
   evaluation stable for any N, D.
2. Minimise the sum of Huber losses (Huber 1964) of the residuals of the log-loss,

   .. math::

      \begin{aligned}
      J(\theta) &= \sum_i H_\delta\bigl(\log L_{\rm pred}(N_i, D_i) - \log L_i\bigr), \\
      H_\delta(r) &= \begin{cases} r^2/2 & |r| \le \delta \\ \delta(|r| - \delta/2) & |r| > \delta,
      \end{cases}
      \end{aligned}

   with ``delta = 1e-3``: quadratic for residuals under 0.1 %, linear (robust to outliers) beyond.
3. Run L-BFGS-B (with the analytic gradient, :func:`objective_and_gradient`) from a grid of starting
   points (by default Hoffmann et al.'s grid :data:`HOFFMANN_GRID`, 4500 points) and keep the best
   local minimum.  To keep a fit fast the objective is first evaluated at every grid point (one
   vectorised pass) and L-BFGS-B is started from the ``n_starts`` best of them; ``n_starts=None``
   starts it from every grid point (the literal procedure, about 100 times slower).
4. Bootstrap: resample the data points with replacement, refit with the same procedure, and report the
   standard deviation of each parameter over the refits (standard error) and percentile intervals.

References
----------
Hoffmann et al. (2022), "Training Compute-Optimal Large Language Models", arXiv:2203.15556.
Besiroglu, Erdil, Barnett and You (2024), "Chinchilla Scaling: A Replication Attempt",
arXiv:2404.10102.  Huber (1964), "Robust Estimation of a Location Parameter".
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import itertools
import os
from collections.abc import Mapping

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from . import _validation as check

__all__ = [
    "CHINCHILLA_EPOCH",
    "CHINCHILLA_HOFFMANN",
    "HOFFMANN_GRID",
    "PARAMETER_NAMES",
    "THETA_BOUND",
    "ChinchillaFit",
    "allocation_exponents",
    "chinchilla_loss",
    "compute_optimal_allocation",
    "fit_chinchilla",
    "huber",
    "isoflop_minimum",
    "objective_and_gradient",
]

#: Order of the parameters in the log-space vector ``theta = (e, a, b, alpha, beta)``.
PARAMETER_NAMES = ("E", "A", "B", "alpha", "beta")
_N_PARAMS = len(PARAMETER_NAMES)


def _hoffmann_grid() -> np.ndarray:
    """The initialisation grid of Hoffmann et al. (2022, D.2), as rows ``(e, a, b, alpha, beta)``."""
    exponents = np.arange(0.0, 2.01, 0.5)        # alpha, beta in {0, 0.5, ..., 2}
    e_values = np.arange(-1.0, 1.01, 0.5)        # e in {-1, -0.5, ..., 1}
    ab_values = np.arange(0.0, 25.01, 5.0)       # a, b in {0, 5, ..., 25}
    rows = itertools.product(e_values, ab_values, ab_values, exponents, exponents)
    return np.array(list(rows), dtype=float)


#: Hoffmann et al.'s grid of L-BFGS starting points, shape (4500, 5), columns (e, a, b, alpha, beta).
HOFFMANN_GRID = _hoffmann_grid()
HOFFMANN_GRID.setflags(write=False)

#: The published Chinchilla fit (Hoffmann et al. 2022, approach 3), N parameters and D tokens.
CHINCHILLA_HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
#: The replication's refit of the same data (Besiroglu et al. 2024).
CHINCHILLA_EPOCH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.35, "beta": 0.37}


_LOG_MAX = float(np.log(np.finfo(float).max))
THETA_BOUND = 1e100
"""Bound on the entries of a log-space parameter vector ``theta`` (E = exp(e) etc.): far beyond any
fit, and small enough that every intermediate of the objective stays finite."""


def _exp_or_raise(value: float, what: str) -> float:
    if value > _LOG_MAX:
        raise check.not_representable(what, f"it is exp({value:.6g}); use the log-space vector theta")
    return float(np.exp(value))


def _check_params(params, name: str = "params") -> tuple[float, float, float, float, float]:
    if not isinstance(params, Mapping) or any(key not in params for key in PARAMETER_NAMES):
        raise ValueError(f"{name} must be a mapping with keys {', '.join(PARAMETER_NAMES)}, got {params!r}")
    values = []
    for key in PARAMETER_NAMES:
        low = 0 if key in ("E", "A", "B") else None
        values.append(check.real(f"{name}[{key!r}]", params[key], low=low,
                                 domain="a real number >= 0" if low == 0 else "a real number"))
    return tuple(values)


def _positive(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    return check.real_or_array(name, value, "a positive real number", "positive real numbers", ndim=ndim,
                               low=0, low_open=True)


def _power_terms(coefficient: float, base: np.ndarray, exponent: float) -> np.ndarray:
    """``coefficient * base^-exponent`` in log space (no spurious overflow); 0 when the coefficient is 0."""
    if coefficient == 0.0:
        return np.zeros(np.shape(base))
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(np.log(coefficient) - exponent * np.log(base))


def _finite_or_raise(result, what: str):
    if not np.all(np.isfinite(result)):
        raise check.not_representable(what, "it exceeds the largest double")
    return result if np.ndim(result) else float(result)


def chinchilla_loss(N, D, params):
    r"""Evaluate ``E + A / N^alpha + B / D^beta`` (vectorised, broadcasting N against D).

    Parameters
    ----------
    N, D : positive floats or arrays (parameters and data, any consistent units).
    params : mapping with keys ``E, A, B, alpha, beta`` (for instance a :class:`ChinchillaFit`,
        :data:`CHINCHILLA_HOFFMANN`); E, A, B >= 0 and alpha, beta any finite reals.

    Each term is evaluated as ``exp(log A - alpha log N)``, so no intermediate overflows; a loss
    above the largest double raises a ValueError saying so.

    Examples
    --------
    >>> round(chinchilla_loss(1.0, 1.0, {"E": 1, "A": 2, "B": 3, "alpha": .5, "beta": .5}), 12)
    6.0
    """
    E, A, B, alpha, beta = _check_params(params)
    N = _positive("N", N)
    D = _positive("D", D)
    shape = np.broadcast_shapes(N.shape, D.shape)
    size = float(np.prod(shape, dtype=float))
    check.check_work("fitting.chinchilla_loss", operations=20 * size, memory_bytes=48 * size,
                     sizes=f"{size:.3g} elements after broadcasting")
    with np.errstate(over="ignore"):
        result = E + _power_terms(A, N, alpha) + _power_terms(B, D, beta)
    return _finite_or_raise(result, "chinchilla_loss(N, D, params)")


def huber(r, delta: float = 1e-3):
    r"""Huber's loss ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (same as
    ``scipy.special.huber(delta, r)``).  Domain: r finite (scalar or array), delta > 0 finite; a value
    above the largest double raises a ValueError saying so."""
    r = check.real_or_array("r", r, "a real number", "real numbers")
    delta = _check_delta(delta)
    check.check_work("fitting.huber", operations=10 * r.size, memory_bytes=40 * r.size, sizes=f"{r.size} residuals")
    abs_r = np.abs(r)
    with np.errstate(over="ignore"):
        result = np.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))
    return _finite_or_raise(result, "huber(r, delta)")


def _check_delta(delta) -> float:
    return check.real("delta", delta, low=0, low_open=True, domain="a positive real number (the Huber threshold)")


def _log_terms(theta: np.ndarray, log_N: np.ndarray, log_D: np.ndarray) -> np.ndarray:
    """The three log-terms ``(a - alpha log N, b - beta log D, e)``; theta may be (5,) or (G, 5).

    Returns shape (3, n) or (3, G, n)."""
    theta = np.asarray(theta, dtype=float)
    e, a, b, alpha, beta = (theta[..., i, None] for i in range(_N_PARAMS))
    return np.stack(np.broadcast_arrays(a - alpha * log_N, b - beta * log_D, e + 0.0 * log_N))


def _objective_batch(thetas: np.ndarray, log_N, log_D, log_L, delta: float) -> np.ndarray:
    """Objective J at many parameter vectors at once (rows of ``thetas``)."""
    residual = logsumexp(_log_terms(thetas, log_N, log_D), axis=0) - log_L
    abs_r = np.abs(residual)
    h = np.where(abs_r <= delta, 0.5 * residual**2, delta * (abs_r - 0.5 * delta))
    return h.sum(axis=-1)


def objective_and_gradient(theta, N, D, loss, delta: float = 1e-3):
    r"""The fitting objective ``J(theta)`` and its analytic gradient.

    ``theta = (e, a, b, alpha, beta)`` (log-space, see the module docstring).  With the softmax weights
    ``w = softmax(a - alpha log N, b - beta log D, e)`` of each data point and
    ``psi(r) = clip(r, -delta, delta)`` (the derivative of Huber's loss),

    .. math::

       \begin{aligned}
       \partial_e J &= \sum_i \psi(r_i) w_{3i},\quad \partial_a J = \sum_i \psi(r_i) w_{1i},\quad
       \partial_b J = \sum_i \psi(r_i) w_{2i}, \\
       \partial_\alpha J &= -\sum_i \psi(r_i) w_{1i}\log N_i,\quad
       \partial_\beta J = -\sum_i \psi(r_i) w_{2i}\log D_i.
       \end{aligned}

    Domain: theta a 5-vector of reals in [-1e100, 1e100] (:data:`THETA_BOUND`; then every term
    is finite); N, D, loss 1-D arrays of positive finite reals of one length (at least 1); delta > 0.

    Returns
    -------
    (J, grad) : float and array of shape (5,).
    """
    theta = _check_theta("theta", theta, shape=(_N_PARAMS,))
    log_N, log_D, log_L = _check_data(N, D, loss, minimum_points=1)
    check.check_work("fitting.objective_and_gradient", operations=60 * log_N.size,
                     memory_bytes=120 * log_N.size, sizes=f"{log_N.size} data points")
    return _objective_and_gradient(theta, log_N, log_D, log_L, _check_delta(delta))


def _check_theta(name: str, value, shape: tuple) -> np.ndarray:
    what = "a 5-vector" if len(shape) == 1 else "an array of shape (G, 5)"
    theta = check.real_array(name, value, low=-THETA_BOUND, high=THETA_BOUND, shape=shape, min_size=1,
                             domain=f"{what} (e, a, b, alpha, beta) of reals in [-1e100, 1e100]")
    return theta


def _objective_and_gradient(theta, log_N, log_D, log_L, delta):
    # Hand-written stable log-sum-exp and softmax of the three terms (the inner loop of L-BFGS-B:
    # scipy.special.logsumexp / softmax are exact equivalents but carry ~10x the call overhead).
    e, a, b, alpha, beta = theta
    t1 = a - alpha * log_N
    t2 = b - beta * log_D
    m = np.maximum(np.maximum(t1, t2), e)
    x1 = np.exp(t1 - m)
    x2 = np.exp(t2 - m)
    x3 = np.exp(e - m)
    s = x1 + x2 + x3
    residual = m + np.log(s) - log_L
    abs_r = np.abs(residual)
    value = np.where(abs_r <= delta, 0.5 * residual * residual, delta * (abs_r - 0.5 * delta)).sum()
    psi_over_s = np.clip(residual, -delta, delta) / s
    g1 = psi_over_s * x1
    g2 = psi_over_s * x2
    grad = np.array([(psi_over_s * x3).sum(), g1.sum(), g2.sum(), -(g1 @ log_N), -(g2 @ log_D)])
    return float(value), grad


def _check_data(N, D, loss, minimum_points: int, distinct: bool = False):
    N = _positive("N", N, ndim=1)
    D = _positive("D", D, ndim=1)
    loss = _positive("loss", loss, ndim=1)
    if not (N.shape == D.shape == loss.shape):
        raise ValueError("N, D and loss must have the same length, got lengths "
                         f"{N.size}, {D.size} and {loss.size}")
    if N.size < minimum_points:
        raise ValueError(f"N, D and loss must have at least {minimum_points} data points to fit the "
                         f"{_N_PARAMS} parameters, got {N.size}")
    if distinct:
        for name, arr in (("N", N), ("D", D)):
            if np.unique(arr).size < 2:
                raise ValueError(f"{name} must take at least 2 distinct values (otherwise its exponent and "
                                 f"prefactor cannot be told apart), got {arr.size} copies of {arr[0]!r}")
    return np.log(N), np.log(D), np.log(loss)


def allocation_exponents(alpha, beta):
    r"""Compute-optimal exponents implied by ``L = E + A N^-alpha + B D^-beta`` under ``C ∝ N D``.

    Minimising over N at fixed C gives ``N* ∝ C^{beta/(alpha+beta)}``, ``D* ∝ C^{alpha/(alpha+beta)}``
    and ``L* - E ∝ C^{-alpha beta/(alpha+beta)}``.  Returns ``(a, b, frontier)`` with
    ``a = beta/(alpha+beta)``, ``b = alpha/(alpha+beta)``, ``frontier = alpha beta/(alpha+beta)``.
    Domain: alpha, beta > 0 (finite; scalars or arrays, broadcast, for bootstrap samples).  Computed
    after dividing both by the larger, so that nothing overflows; a frontier below the smallest
    normal double raises a ValueError saying so.
    """
    alpha = _positive("alpha", alpha)
    beta = _positive("beta", beta)
    small, large = np.minimum(alpha, beta), np.maximum(alpha, beta)
    with np.errstate(under="ignore"):
        ratio = small / large                 # in (0, 1]; 0 only if the true ratio is below the doubles
    frontier = small / (1.0 + ratio)          # alpha beta / (alpha + beta), without forming alpha beta
    share_small = ratio / (1.0 + ratio)
    share_large = 1.0 / (1.0 + ratio)
    tiny = np.finfo(float).tiny
    if np.any(frontier < tiny) or np.any(share_small < tiny):
        raise check.not_representable("allocation_exponents: beta/(alpha+beta), alpha/(alpha+beta) or "
                                      "alpha beta/(alpha+beta)", "one is below the smallest normal double")
    a_N = np.where(beta <= alpha, share_small, share_large)
    b_D = np.where(beta <= alpha, share_large, share_small)
    out = (a_N, b_D, frontier)
    return tuple(o if np.ndim(o) else float(o) for o in out)


def compute_optimal_allocation(C, params, flops_per_parameter_token: float = 1.0):
    r"""``(N*, D*, L*)`` minimising ``E + A N^-alpha + B D^-beta`` subject to ``k N D = C``.

    Closed form: with ``G = (alpha A / (beta B))^{1/(alpha+beta)}``,
    ``N* = G (C/k)^{beta/(alpha+beta)}``, ``D* = (C/k) / N*``.  Use ``k = 6`` for transformer FLOPs
    (Hoffmann et al.) and ``k = 1`` for the chapter's compute ``C = N T``.
    Domain: C > 0 (scalar or array); A, B, alpha, beta > 0, E >= 0; k > 0.  Evaluated in log space;
    an N*, D* or L* beyond the doubles raises a ValueError saying so.
    """
    E, A, B, alpha, beta = _check_params(params)
    for key, value in (("A", A), ("B", B), ("alpha", alpha), ("beta", beta)):
        if value <= 0:
            raise ValueError(f"params[{key!r}] must be a real number > 0 for an interior optimum, got {value!r}")
    C = _positive("C", C)
    k = float(_positive("flops_per_parameter_token", flops_per_parameter_token))
    check.check_work("fitting.compute_optimal_allocation", operations=20 * C.size, memory_bytes=64 * C.size,
                     sizes=f"{C.size} budgets")
    log_budget = np.log(C) - np.log(k)
    a_N = allocation_exponents(alpha, beta)[0]
    # log G = (log(alpha A) - log(beta B)) / (alpha + beta), written with the exponents a_N = beta/(alpha+beta)
    log_G = (np.log(alpha) + np.log(A) - np.log(beta) - np.log(B)) * (a_N / beta)
    log_N = log_G + a_N * log_budget
    log_D = log_budget - log_N
    if np.any(np.abs(log_N) > _LOG_MAX) or np.any(np.abs(log_D) > _LOG_MAX):
        raise check.not_representable("compute_optimal_allocation: N* or D*", "they lie beyond the doubles")
    with np.errstate(over="ignore", under="ignore"):
        L_opt = E + np.exp(np.log(A) - alpha * log_N) + np.exp(np.log(B) - beta * log_D)
    L_opt = _finite_or_raise(L_opt, "compute_optimal_allocation: L*")
    out = (np.exp(log_N), np.exp(log_D), L_opt)
    return tuple(o if np.ndim(o) else float(o) for o in out)


class ChinchillaFit(Mapping):
    """Result of :func:`fit_chinchilla`: a read-only mapping ``{E, A, B, alpha, beta}`` plus details.

    Attributes
    ----------
    theta : array (5,), the log-space optimum ``(e, a, b, alpha, beta)``.
    objective : float, the Huber objective at the optimum.
    residuals : array, ``log L_pred - log L_obs`` at each data point.
    n_points : int.
    n_local_minima : int, how many L-BFGS-B runs were made.
    bootstrap : dict name -> array of the bootstrap refits (empty if no bootstrap), including the
        derived ``a_N = beta/(alpha+beta)`` and ``b_D = alpha/(alpha+beta)``.
    stderr : dict name -> bootstrap standard deviation (ddof=1) (empty if no bootstrap).
    """

    def __init__(self, theta, objective, residuals, n_local_minima, bootstrap):
        self.theta = np.asarray(theta, dtype=float)
        self.objective = float(objective)
        self.residuals = np.asarray(residuals, dtype=float)
        self.n_points = int(self.residuals.size)
        self.n_local_minima = int(n_local_minima)
        self.bootstrap = bootstrap
        # refits that failed are NaN; the statistics use the others
        self.stderr = ({k: float(np.nanstd(v, ddof=1)) if np.sum(np.isfinite(v)) >= 2 else float("nan")
                        for k, v in bootstrap.items()} if bootstrap else {})

    def __getitem__(self, key):
        if key not in PARAMETER_NAMES:
            raise KeyError(key)
        value = float(self.theta[PARAMETER_NAMES.index(key)])
        if key in ("alpha", "beta"):
            return value
        # E, A, B = exp(e, a, b): a ValueError (not inf) if one lies beyond the doubles
        return _exp_or_raise(value, f"{key} = exp({key.lower()})")

    def __iter__(self):
        return iter(PARAMETER_NAMES)

    def __len__(self):
        return _N_PARAMS

    def interval(self, name: str, level: float = 0.95) -> tuple[float, float]:
        """Bootstrap percentile interval of ``name`` at confidence ``level`` in (0, 1)."""
        if not self.bootstrap:
            raise ValueError("interval needs a bootstrap: call fit_chinchilla(..., bootstrap=n) with n >= 2")
        name = check.choice("name", name, tuple(self.bootstrap))
        level = check.real("level", level, low=0, high=1, low_open=True, high_open=True)
        values = self.bootstrap[name][np.isfinite(self.bootstrap[name])]
        if values.size < 2:
            raise ValueError(f"interval: fewer than 2 bootstrap refits of {name} are finite")
        lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)

    def __repr__(self):
        names = ("e", "a", "b", "alpha", "beta")
        body = ", ".join(f"{k}={v:.6g}" for k, v in zip(names, self.theta))
        size = len(next(iter(self.bootstrap.values()), []))
        return f"ChinchillaFit(theta: {body}; n_points={self.n_points}, bootstrap={size})"


def _scipy_openblas():
    """ctypes handle of scipy's bundled OpenBLAS (the BLAS that L-BFGS-B calls), or None."""
    try:
        import scipy
        libs = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
        for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas*.so*"))):
            lib = ctypes.CDLL(path)
            if hasattr(lib, "scipy_openblas_set_num_threads"):
                return lib
    except OSError:
        pass
    return None


@contextlib.contextmanager
def _single_threaded_blas():
    """Run L-BFGS-B with one BLAS thread.

    Its BLAS calls act on vectors of length 5; with a multi-threaded OpenBLAS each call pays a thread
    hand-off, which made a fit about 20 times slower on a busy 2-core machine.  Same effect as
    ``OPENBLAS_NUM_THREADS=1``, restored on exit; a no-op if scipy's OpenBLAS is not found.
    """
    lib = _scipy_openblas()
    if lib is None:
        yield
        return
    previous = lib.scipy_openblas_get_num_threads()
    lib.scipy_openblas_set_num_threads(1)
    try:
        yield
    finally:
        lib.scipy_openblas_set_num_threads(previous)


def _fit_operations(n: int, G: int, n_starts, maxiter: int, extra_starts: int = 0) -> float:
    """Estimated cost of one fit: screening the grid, then L-BFGS-B runs of up to ~200 iterations,
    each iteration a vectorised pass over the n points plus about 1.5e5 operations of overhead."""
    starts = (G if n_starts is None else min(n_starts, G)) + extra_starts
    return 40.0 * G * n + starts * min(maxiter, 200) * (1.5e5 + 50.0 * n)


def _fit_once(log_N, log_D, log_L, delta, grid, n_starts, options, warm_start=None):
    """Best local minimum of J over L-BFGS-B runs started from the best ``n_starts`` grid points
    (and from ``warm_start`` if given)."""
    starts = []
    if warm_start is not None:
        starts.append(warm_start)
    if n_starts != 0:
        values = _objective_batch(grid, log_N, log_D, log_L, delta)
        order = np.argsort(values, kind="stable")
        if n_starts is not None:
            order = order[:n_starts]
        starts.extend(grid[order])
    best_theta, best_value = None, np.inf
    for start in starts:
        result = minimize(_objective_and_gradient, start, args=(log_N, log_D, log_L, delta),
                          jac=True, method="L-BFGS-B", options=options)
        if np.all(np.isfinite(result.x)) and result.fun < best_value:
            best_theta, best_value = result.x, float(result.fun)
    return best_theta, best_value, len(starts)


def fit_chinchilla(N, D, loss, *, delta: float = 1e-3, grid=None, n_starts: int | None = 8,
                   bootstrap: int = 0, seed: int = 0, bootstrap_n_starts: int | None = 1,
                   maxiter: int = 2000) -> ChinchillaFit:
    r"""Fit ``L = E + A/N^alpha + B/D^beta`` to data with the Hoffmann / Epoch procedure.

    Parameters
    ----------
    N, D, loss : 1-D arrays of the same length (at least 5 points), all positive and finite, with at
        least two distinct values of N and of D.  N is the model size, D the amount of data (tokens,
        or steps); any units.
    delta : float > 0, Huber threshold on log-loss residuals (1e-3 as in both papers).
    grid : array (G, 5) of starting points ``(e, a, b, alpha, beta)``, entries in [-1e100, 1e100];
        default :data:`HOFFMANN_GRID`.
    n_starts : int >= 1 or None.  L-BFGS-B is started from the ``n_starts`` grid points with the
        lowest objective (all of them if None).
    bootstrap : int >= 0, number of bootstrap refits (0: none; otherwise at least 2).
    seed : int in [0, 2**63), seed of the ``numpy.random.default_rng`` that draws the resamples.
    bootstrap_n_starts : int >= 0 or None.  Each refit runs L-BFGS-B from the full-data optimum and
        from the ``bootstrap_n_starts`` best grid points for the resampled data (None: all of them).
    maxiter : int >= 1, iteration cap of each L-BFGS-B run.

    The estimated cost (grid screening plus L-BFGS-B runs, times 1 + bootstrap) is capped by
    ``scalinglaws.work_limits``: about 200 bootstrap refits of 64 points by default.

    Returns
    -------
    ChinchillaFit
        A mapping with keys ``E, A, B, alpha, beta``; attributes ``theta``, ``objective``,
        ``residuals``, ``bootstrap`` (name -> array of refits, with the derived allocation exponents
        ``a_N = beta/(alpha+beta)`` and ``b_D = alpha/(alpha+beta)``), ``stderr`` and the method
        ``interval(name, level)``.

    Notes
    -----
    L-BFGS-B's default stopping tolerances are relative to ``max(|J|, 1)``; since J is tiny
    (residuals of order 1e-3 or less) they would stop far from the optimum, so tighter ones are used
    (``ftol = 1e-15``, ``gtol = 1e-12``).

    Examples
    --------
    >>> import numpy as np
    >>> N, D = np.meshgrid(np.logspace(6, 9, 6), np.logspace(8, 11, 6))
    >>> truth = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
    >>> fit = fit_chinchilla(N.ravel(), D.ravel(), chinchilla_loss(N.ravel(), D.ravel(), truth))
    >>> round(fit["alpha"], 4), round(fit["beta"], 4)
    (0.34, 0.28)
    """
    log_N, log_D, log_L = _check_data(N, D, loss, minimum_points=_N_PARAMS, distinct=True)
    delta = _check_delta(delta)
    grid = HOFFMANN_GRID if grid is None else _check_theta("grid", grid, shape=(None, _N_PARAMS))
    n_starts = None if n_starts is None else check.integer(
        "n_starts", n_starts, low=1, domain="an integer >= 1 or None (every grid point)")
    bootstrap = check.integer("bootstrap", bootstrap, low=0,
                              domain="an integer: 0 (no bootstrap) or at least 2 refits")
    if bootstrap == 1:
        raise ValueError("bootstrap must be an integer: 0 (no bootstrap) or at least 2 refits, got 1")
    seed = check.seed("seed", seed)
    bootstrap_n_starts = None if bootstrap_n_starts is None else check.integer(
        "bootstrap_n_starts", bootstrap_n_starts, low=0, domain="an integer >= 0 or None (every grid point)")
    maxiter = check.integer("maxiter", maxiter, low=1)
    check.check_work("fitting.fit_chinchilla",
                     operations=_fit_operations(log_N.size, grid.shape[0], n_starts, maxiter)
                     + bootstrap * _fit_operations(log_N.size, grid.shape[0], bootstrap_n_starts, maxiter, 1),
                     memory_bytes=150 * grid.shape[0] * log_N.size,
                     sizes=f"{log_N.size} points, a grid of {grid.shape[0]}, bootstrap = {bootstrap}")
    options = {"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 20}

    with _single_threaded_blas():
        theta, value, n_runs, samples = _fit_and_bootstrap(
            log_N, log_D, log_L, delta, grid, n_starts, bootstrap, seed, bootstrap_n_starts, options)
    return ChinchillaFit(theta, value, logsumexp(_log_terms(theta, log_N, log_D), axis=0) - log_L,
                         n_runs, samples)


def _fit_and_bootstrap(log_N, log_D, log_L, delta, grid, n_starts, bootstrap, seed,
                       bootstrap_n_starts, options):
    theta, value, n_runs = _fit_once(log_N, log_D, log_L, delta, grid, n_starts, options)
    if theta is None:  # pragma: no cover - the objective is finite on the whole bounded domain
        raise ValueError("fit_chinchilla: every L-BFGS-B run ended at a non-finite point")

    samples: dict[str, np.ndarray] = {}
    if bootstrap:
        rng = np.random.default_rng(seed)
        n = log_N.size
        thetas = np.empty((bootstrap, _N_PARAMS))
        for i in range(bootstrap):
            idx = rng.integers(0, n, size=n)
            t, _, _ = _fit_once(log_N[idx], log_D[idx], log_L[idx], delta, grid, bootstrap_n_starts,
                                options, warm_start=theta)
            thetas[i] = np.nan if t is None else t
        # a refit whose E, A or B lies beyond the doubles, or whose alpha + beta is not positive, is
        # recorded as NaN (a failed refit) rather than as inf
        finite = np.all(thetas[:, :3] <= _LOG_MAX, axis=1) & np.all(np.isfinite(thetas), axis=1)
        thetas[~finite] = np.nan
        with np.errstate(over="ignore", invalid="ignore"):
            samples = {"E": np.exp(thetas[:, 0]), "A": np.exp(thetas[:, 1]), "B": np.exp(thetas[:, 2]),
                       "alpha": thetas[:, 3], "beta": thetas[:, 4]}
            total = thetas[:, 3] + thetas[:, 4]
            positive = total > 0
            samples["a_N"] = np.where(positive, thetas[:, 4] / np.where(positive, total, 1.0), np.nan)
            samples["b_D"] = np.where(positive, thetas[:, 3] / np.where(positive, total, 1.0), np.nan)
    return theta, value, n_runs, samples


def isoflop_minimum(N, loss, n_points: int = 5):
    r"""Minimum of an IsoFLOP profile by a parabola in ``log N`` (Hoffmann et al. 2022, approach 2).

    Fits ``log loss = c_0 + c_1 u + c_2 u^2``, ``u = log N``, by least squares to the ``n_points``
    points around the smallest loss, and returns the vertex ``(N*, loss*) = (exp(-c_1/(2c_2)),
    exp(c_0 - c_1^2/(4 c_2)))``.

    Parameters
    ----------
    N : 1-D array of positive finite sizes, strictly increasing.  loss : 1-D array of positive finite
    losses, same length.  n_points : odd int in [3, len(N)].

    Raises
    ------
    ValueError
        If the smallest loss is not interior (fewer than ``n_points // 2`` points on either side:
        the profile does not bracket its minimum), if the fitted parabola is not convex, or if its
        vertex lies beyond the doubles.
    """
    N = _positive("N", N, ndim=1)
    loss = _positive("loss", loss, ndim=1)
    if N.shape != loss.shape:
        raise ValueError(f"N and loss must have the same length, got lengths {N.size} and {loss.size}")
    n_points = check.integer("n_points", n_points, low=3, domain="an odd integer >= 3")
    if n_points % 2 == 0:
        raise ValueError(f"n_points must be an odd integer >= 3, got {n_points}")
    if n_points > N.size:
        raise ValueError(f"n_points must be at most len(N) = {N.size}, got {n_points}")
    if np.any(np.diff(N) <= 0):
        index = int(np.argmax(np.diff(N) <= 0)) + 1
        raise ValueError(f"N must be strictly increasing, got N[{index}] = {N[index]!r} after "
                         f"N[{index - 1}] = {N[index - 1]!r}")
    half = n_points // 2
    i = int(np.argmin(loss))
    if i < half or i > N.size - 1 - half:
        raise ValueError(f"loss must bracket its minimum (the profile does not: smallest loss at index {i} "
                         f"of {N.size}, need {half} points on each side), got loss[{i}] = {loss[i]!r}")
    u = np.log(N[i - half:i + half + 1])
    # centre and scale log N so that the least-squares problem is well conditioned however close the N are
    centre, scale = u[half], max(u[-1] - u[0], 1e-300)
    v = (u - centre) / scale
    c2, c1, c0 = np.polyfit(v, np.log(loss[i - half:i + half + 1]), 2)
    if not c2 > 0:
        raise ValueError(f"loss must have a convex profile around its minimum (the fitted parabola in log N "
                         f"is not convex), got a curvature of {c2 / scale**2!r}")
    v_star = -c1 / (2.0 * c2)
    log_N_star = centre + scale * v_star
    log_L_star = c0 - c1 * c1 / (4.0 * c2)
    if abs(log_N_star) > _LOG_MAX or abs(log_L_star) > _LOG_MAX:
        raise check.not_representable("isoflop_minimum: the vertex of the fitted parabola",
                                      f"log N* = {log_N_star:.6g}, log loss* = {log_L_star:.6g}")
    return float(np.exp(log_N_star)), float(np.exp(log_L_star))
