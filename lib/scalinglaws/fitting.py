r"""Fitting the Chinchilla law ``L(N, D) = E + A / N^alpha + B / D^beta`` to (N, D, loss) triples.

The standard procedure of Hoffmann et al. (2022, appendix D.2), as replicated by Besiroglu et al.
(2024, Epoch AI):

1. Parametrise in log space, ``A = exp(a)``, ``B = exp(b)``, ``E = exp(e)``, so that

   .. math:: \log L_{\rm pred}(N, D) = \operatorname{LSE}(a - \alpha \log N,\; b - \beta \log D,\; e),

   with LSE the log-sum-exp (:func:`scipy.special.logsumexp`), which keeps E, A, B positive and the
   evaluation stable for any N, D.
2. Minimise the sum of Huber losses (Huber 1964) of the residuals of the log-loss,

   .. math:: J(\theta) = \sum_i H_\delta\bigl(\log L_{\rm pred}(N_i, D_i) - \log L_i\bigr),\qquad
             H_\delta(r) = \begin{cases} r^2/2 & |r| \le \delta \\ \delta(|r| - \delta/2) & |r| > \delta,
             \end{cases}

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

from ._validation import as_float_array, as_int

__all__ = [
    "CHINCHILLA_EPOCH",
    "CHINCHILLA_HOFFMANN",
    "HOFFMANN_GRID",
    "PARAMETER_NAMES",
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


def _params_from_theta(theta) -> dict[str, float]:
    e, a, b, alpha, beta = (float(v) for v in theta)
    return {"E": float(np.exp(e)), "A": float(np.exp(a)), "B": float(np.exp(b)),
            "alpha": alpha, "beta": beta}


def _check_params(params) -> tuple[float, float, float, float, float]:
    try:
        values = tuple(float(params[name]) for name in PARAMETER_NAMES)
    except (KeyError, TypeError):
        raise ValueError(f"params must be a mapping with keys {PARAMETER_NAMES}, got {params!r}") from None
    for name, value in zip(PARAMETER_NAMES, values):
        if not np.isfinite(value):
            raise ValueError(f"params[{name!r}] must be finite, got {value!r}")
    for name in ("E", "A", "B"):
        if params[name] < 0:
            raise ValueError(f"params[{name!r}] must be >= 0, got {params[name]!r}")
    return values


def _positive(name: str, value) -> np.ndarray:
    arr = as_float_array(name, value)
    if np.any(arr <= 0):
        bad = arr[arr <= 0] if arr.ndim else arr
        raise ValueError(f"{name} must be positive, got non-positive value(s) {bad!r}")
    return arr


def chinchilla_loss(N, D, params):
    r"""Evaluate ``E + A / N^alpha + B / D^beta`` (vectorised, broadcasting N against D).

    Parameters
    ----------
    N, D : positive floats or arrays (parameters and data, any consistent units).
    params : mapping with keys ``E, A, B, alpha, beta`` (for instance a :class:`ChinchillaFit`,
        :data:`CHINCHILLA_HOFFMANN`); E, A, B >= 0.

    Examples
    --------
    >>> round(chinchilla_loss(1.0, 1.0, {"E": 1, "A": 2, "B": 3, "alpha": .5, "beta": .5}), 12)
    6.0
    """
    E, A, B, alpha, beta = _check_params(params)
    N = _positive("N", N)
    D = _positive("D", D)
    result = E + A * N ** (-alpha) + B * D ** (-beta)
    return result if np.ndim(result) else float(result)


def huber(r, delta: float = 1e-3):
    r"""Huber's loss ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond (same as
    ``scipy.special.huber(delta, r)``).  Domain: delta > 0."""
    r = as_float_array("r", r)
    delta = _check_delta(delta)
    abs_r = np.abs(r)
    result = np.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta))
    return result if result.ndim else float(result)


def _check_delta(delta) -> float:
    delta = float(as_float_array("delta", delta))
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta!r}")
    return delta


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

    .. math:: \partial_e J = \sum_i \psi(r_i) w_{3i},\quad \partial_a J = \sum_i \psi(r_i) w_{1i},\quad
              \partial_b J = \sum_i \psi(r_i) w_{2i},\quad
              \partial_\alpha J = -\sum_i \psi(r_i) w_{1i}\log N_i,\quad
              \partial_\beta J = -\sum_i \psi(r_i) w_{2i}\log D_i.

    Returns
    -------
    (J, grad) : float and array of shape (5,).
    """
    theta = as_float_array("theta", theta)
    if theta.shape != (_N_PARAMS,):
        raise ValueError(f"theta must have shape (5,) = (e, a, b, alpha, beta), got shape {theta.shape}")
    log_N, log_D, log_L = _check_data(N, D, loss, minimum_points=1)
    return _objective_and_gradient(theta, log_N, log_D, log_L, _check_delta(delta))


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


def _check_data(N, D, loss, minimum_points: int):
    N = _positive("N", N)
    D = _positive("D", D)
    loss = _positive("loss", loss)
    for name, arr in (("N", N), ("D", D), ("loss", loss)):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if not (N.shape == D.shape == loss.shape):
        raise ValueError("N, D and loss must have the same length, got lengths "
                         f"{N.size}, {D.size} and {loss.size}")
    if N.size < minimum_points:
        raise ValueError(f"need at least {minimum_points} data points to fit the {_N_PARAMS} "
                         f"parameters, got {N.size}")
    return np.log(N), np.log(D), np.log(loss)


def allocation_exponents(alpha, beta):
    r"""Compute-optimal exponents implied by ``L = E + A N^-alpha + B D^-beta`` under ``C ∝ N D``.

    Minimising over N at fixed C gives ``N* ∝ C^{beta/(alpha+beta)}``, ``D* ∝ C^{alpha/(alpha+beta)}``
    and ``L* - E ∝ C^{-alpha beta/(alpha+beta)}``.  Returns ``(a, b, frontier)`` with
    ``a = beta/(alpha+beta)``, ``b = alpha/(alpha+beta)``, ``frontier = alpha beta/(alpha+beta)``.
    Domain: alpha, beta > 0.  Vectorised (for bootstrap samples).
    """
    alpha = _positive("alpha", alpha)
    beta = _positive("beta", beta)
    total = alpha + beta
    out = (beta / total, alpha / total, alpha * beta / total)
    return tuple(o if np.ndim(o) else float(o) for o in out)


def compute_optimal_allocation(C, params, flops_per_parameter_token: float = 1.0):
    r"""``(N*, D*, L*)`` minimising ``E + A N^-alpha + B D^-beta`` subject to ``k N D = C``.

    Closed form: with ``G = (alpha A / (beta B))^{1/(alpha+beta)}``,
    ``N* = G (C/k)^{beta/(alpha+beta)}``, ``D* = (C/k) / N*``.  Use ``k = 6`` for transformer FLOPs
    (Hoffmann et al.) and ``k = 1`` for the chapter's compute ``C = N T``.
    Domain: C > 0; alpha, beta, A, B > 0; k > 0.
    """
    E, A, B, alpha, beta = _check_params(params)
    if min(A, B, alpha, beta) <= 0:
        raise ValueError(f"A, B, alpha, beta must be positive for an interior optimum, got {dict(params)!r}")
    C = _positive("C", C)
    k = float(_positive("flops_per_parameter_token", flops_per_parameter_token))
    budget = C / k
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    N_opt = G * budget ** (beta / (alpha + beta))
    D_opt = budget / N_opt
    L_opt = E + A * N_opt ** (-alpha) + B * D_opt ** (-beta)
    out = (N_opt, D_opt, L_opt)
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
        self._params = _params_from_theta(self.theta)
        self.objective = float(objective)
        self.residuals = np.asarray(residuals, dtype=float)
        self.n_points = int(self.residuals.size)
        self.n_local_minima = int(n_local_minima)
        self.bootstrap = bootstrap
        self.stderr = {k: float(np.std(v, ddof=1)) for k, v in bootstrap.items()} if bootstrap else {}

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def interval(self, name: str, level: float = 0.95) -> tuple[float, float]:
        """Bootstrap percentile interval of ``name`` at confidence ``level`` in (0, 1)."""
        if not self.bootstrap:
            raise ValueError("interval needs a bootstrap: call fit_chinchilla(..., bootstrap=n) with n >= 2")
        if name not in self.bootstrap:
            raise ValueError(f"name must be one of {tuple(self.bootstrap)}, got {name!r}")
        level = float(level)
        if not 0 < level < 1:
            raise ValueError(f"level must lie in (0, 1), got {level!r}")
        lo, hi = np.quantile(self.bootstrap[name], [(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)

    def __repr__(self):
        body = ", ".join(f"{k}={v:.6g}" for k, v in self._params.items())
        return f"ChinchillaFit({body}, n_points={self.n_points}, bootstrap={len(next(iter(self.bootstrap.values()), []))})"


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
    N, D, loss : 1-D arrays of the same length (at least 5 points), all positive and finite.
        N is the model size, D the amount of data (tokens, or steps); any units.
    delta : float > 0, Huber threshold on log-loss residuals (1e-3 as in both papers).
    grid : array (G, 5) of starting points ``(e, a, b, alpha, beta)``; default :data:`HOFFMANN_GRID`.
    n_starts : int >= 1 or None.  L-BFGS-B is started from the ``n_starts`` grid points with the
        lowest objective (all of them if None).
    bootstrap : int >= 0, number of bootstrap refits (0: none; otherwise at least 2).
    seed : int >= 0, seed of the ``numpy.random.default_rng`` that draws the resamples.
    bootstrap_n_starts : int >= 0 or None.  Each refit runs L-BFGS-B from the full-data optimum and
        from the ``bootstrap_n_starts`` best grid points for the resampled data (None: all of them).
    maxiter : int >= 1, iteration cap of each L-BFGS-B run.

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
    log_N, log_D, log_L = _check_data(N, D, loss, minimum_points=_N_PARAMS)
    delta = _check_delta(delta)
    if grid is None:
        grid = HOFFMANN_GRID
    grid = as_float_array("grid", grid)
    if grid.ndim != 2 or grid.shape[1] != _N_PARAMS or grid.shape[0] < 1:
        raise ValueError(f"grid must have shape (G, 5) with G >= 1, got shape {grid.shape}")
    n_starts = None if n_starts is None else as_int("n_starts", n_starts, minimum=1)
    bootstrap = as_int("bootstrap", bootstrap, minimum=0)
    if bootstrap == 1:
        raise ValueError("bootstrap must be 0 (no bootstrap) or at least 2, got 1")
    seed = as_int("seed", seed, minimum=0)
    bootstrap_n_starts = (None if bootstrap_n_starts is None
                          else as_int("bootstrap_n_starts", bootstrap_n_starts, minimum=0))
    maxiter = as_int("maxiter", maxiter, minimum=1)
    options = {"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 20}

    with _single_threaded_blas():
        theta, value, n_runs, samples = _fit_and_bootstrap(
            log_N, log_D, log_L, delta, grid, n_starts, bootstrap, seed, bootstrap_n_starts, options)
    return ChinchillaFit(theta, value, logsumexp(_log_terms(theta, log_N, log_D), axis=0) - log_L,
                         n_runs, samples)


def _fit_and_bootstrap(log_N, log_D, log_L, delta, grid, n_starts, bootstrap, seed,
                       bootstrap_n_starts, options):
    theta, value, n_runs = _fit_once(log_N, log_D, log_L, delta, grid, n_starts, options)
    if theta is None:
        raise RuntimeError("fit_chinchilla: every L-BFGS-B run diverged")

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
        samples = {"E": np.exp(thetas[:, 0]), "A": np.exp(thetas[:, 1]), "B": np.exp(thetas[:, 2]),
                   "alpha": thetas[:, 3], "beta": thetas[:, 4]}
        total = thetas[:, 3] + thetas[:, 4]
        with np.errstate(divide="ignore", invalid="ignore"):
            samples["a_N"] = thetas[:, 4] / total
            samples["b_D"] = thetas[:, 3] / total
    return theta, value, n_runs, samples


def isoflop_minimum(N, loss, n_points: int = 5):
    r"""Minimum of an IsoFLOP profile by a parabola in ``log N`` (Hoffmann et al. 2022, approach 2).

    Fits ``log loss = c_0 + c_1 u + c_2 u^2``, ``u = log N``, by least squares to the ``n_points``
    points around the smallest loss, and returns the vertex ``(N*, loss*) = (exp(-c_1/(2c_2)),
    exp(c_0 - c_1^2/(4 c_2)))``.

    Parameters
    ----------
    N : 1-D array of positive sizes, strictly increasing.  loss : 1-D array of positive losses.
    n_points : int >= 3, odd.

    Raises
    ------
    ValueError
        If the smallest loss is not interior (fewer than ``n_points // 2`` points on either side:
        the profile does not bracket its minimum), or the fitted parabola is not convex.
    """
    N = _positive("N", N)
    loss = _positive("loss", loss)
    if N.ndim != 1 or N.shape != loss.shape:
        raise ValueError(f"N and loss must be 1-D arrays of the same length, got shapes {N.shape} and {loss.shape}")
    n_points = as_int("n_points", n_points, minimum=3)
    if n_points % 2 == 0:
        raise ValueError(f"n_points must be odd, got {n_points}")
    if np.any(np.diff(N) <= 0):
        raise ValueError("N must be strictly increasing")
    half = n_points // 2
    i = int(np.argmin(loss))
    if i < half or i > N.size - 1 - half:
        raise ValueError(f"the profile does not bracket its minimum: smallest loss at index {i} of {N.size}, "
                         f"need {half} points on each side")
    u = np.log(N[i - half:i + half + 1])
    c2, c1, c0 = np.polyfit(u, np.log(loss[i - half:i + half + 1]), 2)
    if c2 <= 0:
        raise ValueError("the fitted parabola is not convex: the profile has no interior minimum")
    u_star = -c1 / (2.0 * c2)
    return float(np.exp(u_star)), float(np.exp(c0 - c1 * c1 / (4.0 * c2)))
