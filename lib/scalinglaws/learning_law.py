r"""The Learning Law: near-optimal data weighting for a perceptron, by reverse mode through training.

The setting of Part IV (Gu et al. 2024, "Towards Optimal Learning of Language Models", the perceptron
teacher--student experiment).  A teacher vector ``w* ~ N(0, I_D)``; ``N`` training inputs
``x_n ~ N(0, 3 I_D)`` and ``M`` desired inputs ``z_k ~ N(0.5 * 1, I_D)``; labels ``y = 1[w* . x > 0]``
(the sign of the teacher's output, mapped to {0, 1}).  The student is a perceptron without bias with a
sigmoid output and the logistic loss

.. math::  l(x, y; \theta) = \log(1 + e^{\theta\cdot x}) - y\,\theta\cdot x,\qquad
           \nabla_\theta l = (\sigma(\theta\cdot x) - y)\,x,\qquad
           \nabla^2_\theta l = \sigma(1-\sigma)\,x x^\top .

A learning policy is a ``T x N`` matrix ``gamma`` whose rows lie on the probability simplex; training is
full-batch weighted gradient descent from ``theta_0`` (zero by default):

.. math::  \theta_{t+1} = \theta_t - \eta \sum_n \gamma_{n,t} \nabla l_n(\theta_t),\qquad t = 0, \dots, T-1,

and the objective is the area under the desired-loss curve counted over the *trained* parameters,

.. math::  J(\gamma) = \sum_{t=1}^{T} L_{dsr}(\theta_t),\qquad
           L_{dsr}(\theta) = \frac1M \sum_k l(z_k, y_k; \theta),

so ``gamma_{., t}`` moves ``theta_t -> theta_{t+1}`` and first affects the term ``t + 1``.  The
compression ratio is ``CR = T log|V| / J`` with ``|V| = 2`` for the binary perceptron; at
``theta_0 = 0`` every prediction is 1/2, ``L_dsr = log 2``, so a model that never learns has CR = 1.

The gradient of J with respect to every weight comes from one reverse sweep (adjoint recursion):

.. math::  \lambda_T = \nabla L_{dsr}(\theta_T),\qquad
           \lambda_t = \nabla L_{dsr}(\theta_t) + \Bigl(I - \eta\sum_n \gamma_{n,t} H_n(\theta_t)\Bigr)\lambda_{t+1}
           \quad (1 \le t < T),

.. math::  \frac{\partial J}{\partial \gamma_{n,t}} = -\eta\, \lambda_{t+1}\cdot\nabla l_n(\theta_t)
           \quad (0 \le t < T),

where ``lambda_t = dJ/dtheta_t``.  For the logistic perceptron the weighted Hessian-vector product is
``X^T (gamma * s (1 - s) * (X v))``: no D x D or N x N matrix is ever formed.  The forward pass stores
``theta_t`` (``(T+1) x D``) and the residuals ``sigma(theta_t . x_n) - y_n`` (``T x N``, the size of the
policy), so memory is linear in ``T (D + N)``.  One forward plus one reverse sweep costs four
matrix-vector products with X per step, against two for plain training.

References: Gu et al. (2024), arXiv 2402.17759 (the problem, Theorem 3.1, the perceptron setting);
Duchi et al. (2008) (Euclidean projection onto the simplex); Beck and Teboulle (2009) (backtracking
for projected/proximal gradient).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit

from ._validation import as_float_array, as_int

__all__ = [
    "PerceptronProblem",
    "PolicyResult",
    "Trajectory",
    "acceleration_ratio",
    "active_sim",
    "compression_ratio",
    "contributions",
    "costate_sim",
    "empirical_acceleration",
    "fit_loss_curve",
    "gradient_descent",
    "logistic_loss",
    "make_problem",
    "objective",
    "objective_and_gradient",
    "optimize_policy",
    "power_law_loss",
    "project_to_simplex",
    "sim_statistic",
    "train",
    "uniform_policy",
    "weighted_hvp",
]


# --------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class PerceptronProblem:
    """Data and training hyper-parameters of the teacher--student perceptron.

    Attributes
    ----------
    X : (N, D) training inputs;  y : (N,) training labels in {0, 1}.
    Xd : (M, D) desired inputs;  yd : (M,) desired labels in {0, 1}.
    teacher : (D,) teacher vector.  eta : learning rate > 0.  T : number of steps >= 1.
    theta0 : (D,) initial parameters.
    """

    X: np.ndarray
    y: np.ndarray
    Xd: np.ndarray
    yd: np.ndarray
    teacher: np.ndarray
    eta: float
    T: int
    theta0: np.ndarray

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    @property
    def n_train(self) -> int:
        return self.X.shape[0]

    @property
    def n_desired(self) -> int:
        return self.Xd.shape[0]


def make_problem(dim: int = 128, n_train: int = 4096, n_desired: int = 512, eta: float = 0.1,
                 T: int = 2000, seed: int = 0, train_variance: float = 3.0,
                 desired_shift: float = 0.5) -> PerceptronProblem:
    r"""Draw the perceptron teacher--student data of Gu et al. (2024).

    ``teacher ~ N(0, I_D)``; training inputs ``N(0, train_variance * I_D)``; desired inputs
    ``N(desired_shift * 1, I_D)``; labels ``1[teacher . x > 0]``; ``theta_0 = 0``.  The paper's sizes are
    the defaults (D = 128, N = 4096, M = 512, eta = 0.1, T = 2000).

    Domain: dim, n_train, n_desired, T integers >= 1; eta > 0; train_variance > 0; desired_shift real.
    All randomness comes from ``numpy.random.default_rng(seed)``.
    """
    dim = as_int("dim", dim, minimum=1)
    n_train = as_int("n_train", n_train, minimum=1)
    n_desired = as_int("n_desired", n_desired, minimum=1)
    T = as_int("T", T, minimum=1)
    seed = as_int("seed", seed, minimum=0)
    eta = _positive("eta", eta)
    train_variance = _positive("train_variance", train_variance)
    desired_shift = float(as_float_array("desired_shift", desired_shift))
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal(dim)
    X = math.sqrt(train_variance) * rng.standard_normal((n_train, dim))
    Xd = desired_shift + rng.standard_normal((n_desired, dim))
    y = (X @ teacher > 0).astype(float)
    yd = (Xd @ teacher > 0).astype(float)
    return PerceptronProblem(X=X, y=y, Xd=Xd, yd=yd, teacher=teacher, eta=eta, T=T, theta0=np.zeros(dim))


def _positive(name: str, value) -> float:
    arr = as_float_array(name, value)
    if arr.ndim != 0 or arr <= 0:
        raise ValueError(f"{name} must be a positive real number, got {value!r}")
    return float(arr)


def logistic_loss(margin, y) -> np.ndarray:
    r"""Logistic loss ``log(1 + e^z) - y z`` of a sigmoid output with logit ``z``, label ``y in {0,1}``.

    Evaluated as ``logaddexp(0, z) - y z``: exact to rounding for every finite z (no overflow for
    z = 1e4, no loss of the tiny value ``e^{-|z|}`` when the example is learned).
    """
    z = as_float_array("margin", margin)
    y = as_float_array("y", y)
    return np.logaddexp(0.0, z) - y * z


def uniform_policy(T: int, n_train: int) -> np.ndarray:
    """The conventional policy: every row equal to ``1/N`` (plain full-batch gradient descent)."""
    T = as_int("T", T, minimum=1)
    n_train = as_int("n_train", n_train, minimum=1)
    return np.full((T, n_train), 1.0 / n_train)


# --------------------------------------------------------------------------- projection
def project_to_simplex(v) -> np.ndarray:
    r"""Euclidean projection of each row of ``v`` onto the probability simplex.

    Solves ``min_w ||w - v||^2`` s.t. ``w >= 0, sum w = 1`` (along the last axis).  The solution is
    ``w = max(v - tau, 0)`` with tau chosen so the entries sum to one; with ``u`` the entries sorted in
    decreasing order, ``rho = max{j : u_j - (sum_{i<=j} u_i - 1)/j > 0}`` and
    ``tau = (sum_{i<=rho} u_i - 1)/rho`` (Duchi et al. 2008, Fig. 1).  Cost O(n log n) per row,
    vectorised over rows.

    Domain: ``v`` a finite real array with at least one entry along the last axis.
    """
    v = as_float_array("v", v)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise ValueError(f"v must have at least one entry along its last axis, got shape {v.shape}")
    n = v.shape[-1]
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    k = np.arange(1, n + 1)
    cond = u - css / k > 0
    rho = n - np.argmax(cond[..., ::-1], axis=-1)  # last index (1-based) where cond holds; cond[0] always holds
    tau = np.take_along_axis(css, (rho - 1)[..., None], axis=-1) / rho[..., None]
    return np.maximum(v - tau, 0.0)


# --------------------------------------------------------------------------- training
@dataclass
class Trajectory:
    """What a forward pass stores (memory ``O(T (D + N + M))``).

    Attributes
    ----------
    thetas : (T+1, D) array
        parameters theta_0..theta_T.
    residuals : (T, N) array
        ``sigma(theta_t . x_n) - y_n`` for t = 0..T-1 (the per-example gradient is
        ``residuals[t, n] * x_n``).
    desired_losses : (T+1,) array
        ``L_dsr(theta_t)`` for t = 0..T.
    desired_grads : (T+1, D) array
        ``grad L_dsr(theta_t)``.
    """

    thetas: np.ndarray
    residuals: np.ndarray
    desired_losses: np.ndarray
    desired_grads: np.ndarray

    @property
    def objective(self) -> float:
        """``J = sum_{t=1}^T L_dsr(theta_t)``."""
        return float(np.sum(self.desired_losses[1:]))


def _check_policy(problem: PerceptronProblem, gamma) -> np.ndarray:
    gamma = as_float_array("gamma", gamma)
    shape = (problem.T, problem.n_train)
    if gamma.shape != shape:
        raise ValueError(f"gamma must have shape (T, N) = {shape}, got {gamma.shape}")
    if np.any(gamma < 0) or np.any(np.abs(gamma.sum(axis=1) - 1.0) > 1e-8):
        raise ValueError("gamma must have non-negative rows that sum to 1 (each row on the simplex), "
                         f"got min {gamma.min():.3g} and row sums in [{gamma.sum(1).min():.12g}, "
                         f"{gamma.sum(1).max():.12g}]")
    return gamma


def _desired(problem: PerceptronProblem, thetas: np.ndarray, chunk: int = 512):
    """L_dsr and grad L_dsr at every row of ``thetas``, by blocked matrix products."""
    Xd, yd = problem.Xd, problem.yd
    M = Xd.shape[0]
    losses = np.empty(thetas.shape[0])
    grads = np.empty_like(thetas)
    for a in range(0, thetas.shape[0], chunk):
        Z = thetas[a:a + chunk] @ Xd.T
        losses[a:a + chunk] = np.mean(np.logaddexp(0.0, Z) - yd * Z, axis=1)
        grads[a:a + chunk] = ((expit(Z) - yd) @ Xd) / M
    return losses, grads


def train(problem: PerceptronProblem, gamma) -> Trajectory:
    r"""Unrolled weighted gradient descent ``theta_{t+1} = theta_t - eta sum_n gamma_{n,t} grad l_n``.

    ``gamma`` is a (T, N) policy with rows on the simplex.  Two matrix-vector products with X per step;
    the desired losses and gradients at all T+1 iterates are computed afterwards by blocked matrix
    products.  Returns a :class:`Trajectory`.
    """
    gamma = _check_policy(problem, gamma)
    X, y, eta, T = problem.X, problem.y, problem.eta, problem.T
    thetas = np.empty((T + 1, problem.dim))
    residuals = np.empty((T, problem.n_train))
    theta = problem.theta0.astype(float).copy()
    thetas[0] = theta
    for t in range(T):
        r = expit(X @ theta) - y
        residuals[t] = r
        theta = theta - eta * ((gamma[t] * r) @ X)
        thetas[t + 1] = theta
    losses, grads = _desired(problem, thetas)
    return Trajectory(thetas=thetas, residuals=residuals, desired_losses=losses, desired_grads=grads)


def objective(problem: PerceptronProblem, gamma) -> float:
    """``J(gamma) = sum_{t=1}^T L_dsr(theta_t)``, the area under the desired-loss curve."""
    return train(problem, gamma).objective


def _adjoint(problem: PerceptronProblem, gamma: np.ndarray, traj: Trajectory) -> np.ndarray:
    X, eta, T = problem.X, problem.eta, problem.T
    grad = np.empty_like(gamma)
    lam = traj.desired_grads[T].copy()  # lambda_T = dJ/dtheta_T
    for t in range(T - 1, -1, -1):
        u = X @ lam  # x_n . lambda_{t+1}
        r = traj.residuals[t]
        grad[t] = -eta * r * u  # dJ/dgamma_{n,t} = -eta lambda_{t+1} . grad l_n(theta_t)
        if t >= 1:
            a = np.abs(r)
            curvature = a * (1.0 - a)  # sigma (1 - sigma), from the stored residual
            lam = traj.desired_grads[t] + lam - eta * ((gamma[t] * curvature * u) @ X)
    return grad


def objective_and_gradient(problem: PerceptronProblem, gamma):
    r"""``(J, dJ/dgamma, trajectory)``: the objective and its exact gradient by the adjoint recursion.

    .. math:: \frac{\partial J}{\partial\gamma_{n,t}} = -\eta\,\lambda_{t+1}\cdot\nabla l_n(\theta_t),\quad
              \lambda_t = \nabla L_{dsr}(\theta_t) + \lambda_{t+1}
              - \eta X^\top\!\bigl(\gamma_{\cdot,t}\odot\sigma(1-\sigma)\odot X\lambda_{t+1}\bigr),
              \quad \lambda_T = \nabla L_{dsr}(\theta_T).

    The gradient is returned for the unconstrained entries (it is the plain partial derivative; the
    simplex constraint is handled by the projection in :func:`optimize_policy`).  Cost: one forward
    pass and a reverse sweep of two matrix-vector products with X per step.
    """
    gamma = _check_policy(problem, gamma)
    traj = train(problem, gamma)
    return traj.objective, _adjoint(problem, gamma, traj), traj


def gradient_descent(problem: PerceptronProblem) -> tuple[np.ndarray, np.ndarray]:
    """Plain full-batch gradient descent on the mean training loss (the uniform policy, written directly).

    Returns ``(thetas, desired_losses)`` with shapes (T+1, D) and (T+1,).  Used as the reference that the
    uniform policy must reproduce and as the unit of cost in the benchmark.
    """
    X, y, eta = problem.X, problem.y, problem.eta
    N = problem.n_train
    thetas = np.empty((problem.T + 1, problem.dim))
    theta = problem.theta0.astype(float).copy()
    thetas[0] = theta
    for t in range(problem.T):
        theta = theta - (eta / N) * ((expit(X @ theta) - y) @ X)
        thetas[t + 1] = theta
    losses, _ = _desired(problem, thetas)
    return thetas, losses


def weighted_hvp(problem: PerceptronProblem, theta, weights, v) -> np.ndarray:
    r"""``sum_n w_n H_n(theta) v = X^T (w * s (1 - s) * (X v))`` with ``s = sigma(X theta)``.

    The Hessian of the weighted training loss applied to v, without forming a D x D matrix.
    """
    theta = as_float_array("theta", theta)
    w = as_float_array("weights", weights)
    v = as_float_array("v", v)
    s = expit(problem.X @ theta)
    return (w * s * (1.0 - s) * (problem.X @ v)) @ problem.X


# --------------------------------------------------------------------------- diagnostics
def contributions(problem: PerceptronProblem, traj: Trajectory) -> np.ndarray:
    r"""Contribution ``c_{n,t} = grad L_dsr(theta_t) . grad l_n(theta_t)`` for t = 0..T-1, shape (T, N).

    A positive contribution means a small step on example n lowers the desired loss.  For the
    perceptron ``c_{n,t} = (sigma(theta_t . x_n) - y_n) (x_n . grad L_dsr(theta_t))``; computed as one
    (T x D) x (D x N) product.
    """
    return traj.residuals * (traj.desired_grads[:-1] @ problem.X.T)


def active_sim(values, gamma, min_active: int = 2) -> np.ndarray:
    r"""Per-step ``mean / std`` of ``values[t, n]`` over the examples with ``gamma[t, n] > 0``.

    ``values`` and ``gamma`` have shape (T, N); the std is the population std.  Steps with fewer than
    ``min_active`` active examples give NaN (a single active example is vacuously "equal").  Returns (T,).
    """
    values = as_float_array("values", values)
    gamma = as_float_array("gamma", gamma)
    if values.shape != gamma.shape or values.ndim != 2:
        raise ValueError(f"values and gamma must be (T, N) arrays of one shape, got {values.shape} and {gamma.shape}")
    min_active = as_int("min_active", min_active, minimum=2)
    active = gamma > 0
    k = active.sum(axis=1)
    mean = np.where(active, values, 0.0).sum(axis=1) / np.maximum(k, 1)
    var = np.where(active, (values - mean[:, None]) ** 2, 0.0).sum(axis=1) / np.maximum(k, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = mean / np.sqrt(var)
    return np.where(k >= min_active, sim, np.nan)


def sim_statistic(problem: PerceptronProblem, gamma, traj: Trajectory | None = None,
                  min_active: int = 2) -> np.ndarray:
    r"""Per-step SIM of Gu et al. (2024): mean over std of the contributions of the active examples.

    ``SIM_t = mean_{n: gamma_{n,t} > 0} c_{n,t} / std_{n: gamma_{n,t} > 0} c_{n,t}`` with
    ``c_{n,t} = grad L_dsr(theta_t) . grad l_n(theta_t)`` (:func:`contributions`).  The Learning Law
    says every active example contributes equally, i.e. SIM = infinity at an optimal policy.  Steps with
    fewer than ``min_active`` active examples give NaN.  Returns (T,).
    """
    gamma = _check_policy(problem, gamma)
    if traj is None:
        traj = train(problem, gamma)
    return active_sim(contributions(problem, traj), gamma, min_active)


def costate_sim(problem: PerceptronProblem, gamma, grad, min_active: int = 2) -> np.ndarray:
    r"""Per-step SIM of the exact first-order (KKT) quantity ``lambda_{t+1} . grad l_n(theta_t)``.

    ``grad`` is ``dJ/dgamma`` from :func:`objective_and_gradient`; ``lambda_{t+1} . grad l_n =
    -(1/eta) dJ/dgamma_{n,t}``.  KKT for ``min J`` over each simplex requires this quantity to be equal
    for all active examples of a step, so it is infinite at any stationary policy.  Returns (T,).
    """
    gamma = _check_policy(problem, gamma)
    return active_sim(-np.asarray(grad, dtype=float) / problem.eta, gamma, min_active)


def compression_ratio(J, T, n_classes: int = 2):
    r"""``CR = T log|V| / J``: bits needed without a model over bits needed with the learner.

    ``|V|`` is the size of the output vocabulary (2 for the binary perceptron).  Domain: J > 0, T >= 1.
    """
    J = as_float_array("J", J)
    if np.any(J <= 0):
        raise ValueError(f"J must be positive, got {J if J.ndim else float(J)!r}")
    T = as_int("T", T, minimum=1)
    n_classes = as_int("n_classes", n_classes, minimum=2)
    cr = T * math.log(n_classes) / J
    return cr if cr.ndim else float(cr)


# --------------------------------------------------------------------------- the policy optimiser
@dataclass
class PolicyResult:
    """Result of :func:`optimize_policy`.

    gamma : (T, N) final policy.  trajectory : its forward pass.  objectives : J after each iteration
    (index 0 is the initial policy).  steps : accepted step sizes.  sim : mean SIM_t over steps with at
    least two active examples, after each iteration (index 0 initial).  sim_costate : the same for
    :func:`costate_sim` (the exact KKT quantity).  gradient : dJ/dgamma at the final policy.
    evaluations : forward passes used.
    """

    gamma: np.ndarray
    trajectory: Trajectory
    objectives: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    sim: list = field(default_factory=list)
    sim_costate: list = field(default_factory=list)
    gradient: np.ndarray | None = None
    evaluations: int = 0


def optimize_policy(problem: PerceptronProblem, iterations: int, gamma0=None, step: float | None = None,
                    growth: float = 1.5, record_sim: bool = True) -> PolicyResult:
    r"""Projected gradient descent on the policy, one simplex per step t, with backtracking.

    ``gamma <- Proj(gamma - s dJ/dgamma)`` row by row (:func:`project_to_simplex`).  The step s is
    accepted when ``J(new) <= J + <G, new - gamma> + ||new - gamma||^2 / (2 s)`` (the sufficient-decrease
    test of Beck and Teboulle 2009), otherwise halved; after an accepted step it is multiplied by
    ``growth``.  J therefore never increases.  The initial step defaults to ``1 / (N max|G|)`` (a move of
    at most one uniform weight per entry).  Starts from the uniform policy unless ``gamma0`` is given.
    """
    iterations = as_int("iterations", iterations, minimum=0)
    growth = _positive("growth", growth)
    if growth < 1:
        raise ValueError(f"growth must be >= 1, got {growth!r}")
    gamma = uniform_policy(problem.T, problem.n_train) if gamma0 is None else _check_policy(problem, gamma0)
    J, G, traj = objective_and_gradient(problem, gamma)
    result = PolicyResult(gamma=gamma, trajectory=traj, objectives=[J], evaluations=1)
    if record_sim:
        result.sim.append(float(np.nanmean(sim_statistic(problem, gamma, traj))))
        result.sim_costate.append(float(np.nanmean(costate_sim(problem, gamma, G))))
    s = 1.0 / (problem.n_train * max(np.max(np.abs(G)), 1e-300)) if step is None else _positive("step", step)
    for _ in range(iterations):
        while True:
            candidate = project_to_simplex(gamma - s * G)
            cand_traj = train(problem, candidate)
            result.evaluations += 1
            d = candidate - gamma
            J_new = cand_traj.objective
            if J_new <= J + np.sum(G * d) + np.sum(d * d) / (2 * s) or s < 1e-300:
                break
            s *= 0.5
        gamma, traj, J = candidate, cand_traj, J_new
        G = _adjoint(problem, gamma, traj)
        result.objectives.append(J)
        result.steps.append(s)
        if record_sim:
            result.sim.append(float(np.nanmean(sim_statistic(problem, gamma, traj))))
            result.sim_costate.append(float(np.nanmean(costate_sim(problem, gamma, G))))
        s *= growth
    result.gamma, result.trajectory, result.gradient = gamma, traj, G
    return result


# --------------------------------------------------------------------------- loss-curve fits
def power_law_loss(t, L0, B, beta):
    r"""``L(t) = L0 + (B / t)^beta`` (Gu et al. 2024, the fitted form of the desired-loss curve).

    Domain: t > 0, B > 0, beta > 0.
    """
    t = as_float_array("t", t)
    if np.any(t <= 0):
        raise ValueError("t must be positive")
    return L0 + np.exp(beta * (math.log(B) - np.log(t)))


def fit_loss_curve(t, L, L0_max: float | None = None):
    r"""Fit ``L = L0 + (B/t)^beta`` by least squares on log residuals ``log L_fit - log L``.

    Bounds: ``0 <= L0 <= L0_max`` (default: 0.999 min L, so the power-law part stays positive),
    ``10^-8 <= B <= 10^8 max t`` (fitted as log B), ``0.01 <= beta <= 10``.  Several starts in beta;
    the best is kept.  Returns ``(L0, B, beta)``.
    """
    t = as_float_array("t", t)
    L = as_float_array("L", L)
    if t.shape != L.shape or t.ndim != 1 or t.size < 4:
        raise ValueError(f"t and L must be 1-D arrays of equal length >= 4, got {t.shape} and {L.shape}")
    if np.any(t <= 0) or np.any(L <= 0):
        raise ValueError("t and L must be positive")
    hi = 0.999 * float(L.min()) if L0_max is None else min(float(L0_max), 0.999 * float(L.min()))
    logL = np.log(L)
    logt = np.log(t)

    def resid(p):
        L0, logB, beta = p
        return np.log(L0 + np.exp(beta * (logB - logt))) - logL

    lower = [0.0, math.log(1e-8), 0.01]
    upper = [max(hi, 1e-300), math.log(1e8 * t.max()), 10.0]
    best = None
    for beta0 in (0.3, 1.0, 3.0):
        for frac in (0.0, 0.5, 0.9):
            L00 = frac * upper[0]
            excess = np.maximum(L - L00, 1e-300)
            logB0 = float(np.median(np.log(excess) / beta0 + logt))
            x0 = np.clip([L00, logB0, beta0], lower, upper)
            sol = least_squares(resid, x0, bounds=(lower, upper), x_scale="jac", xtol=1e-14, ftol=1e-14,
                                gtol=1e-14, max_nfev=5000)
            if best is None or sol.cost < best.cost:
                best = sol
    L0, logB, beta = best.x
    return float(L0), float(math.exp(logB)), float(beta)


def acceleration_ratio(fit_conventional, fit_optimal, T) -> float:
    r"""Steps ratio to equal loss from two fitted laws: ``AR(T) = T / t_o``, ``L_o(t_o) = L_c(T)``.

    With ``L_c(T) = L0_c + (B_c/T)^beta_c`` and ``L_o(t) = L0_o + (B_o/t)^beta_o``,
    ``t_o = B_o (L_c(T) - L0_o)^(-1/beta_o)``; for a common L0 this is
    ``AR = T^(1 - beta_c/beta_o) B_c^(beta_c/beta_o) / B_o``.  Returns inf if the target loss is at or
    below the near-optimal law's floor (``L_c(T) <= L0_o``).
    """
    T = _positive("T", T)
    L0c, Bc, bc = fit_conventional
    L0o, Bo, bo = fit_optimal
    target = L0c + (Bc / T) ** bc
    if target <= L0o:
        return math.inf
    t_o = Bo * (target - L0o) ** (-1.0 / bo)
    return float(T / t_o)


def empirical_acceleration(loss_conventional, loss_optimal) -> float:
    r"""Model-free acceleration: ``T / t*`` with ``t*`` the (interpolated) first step at which the
    near-optimal curve reaches the conventional curve's final loss.

    Both inputs are desired-loss curves ``L(theta_t)``, t = 0..T (same T).  Linear interpolation in t
    between the two steps that bracket the target.  Returns inf if the target is reached at t = 0 and
    nan if it is never reached.
    """
    Lc = as_float_array("loss_conventional", loss_conventional)
    Lo = as_float_array("loss_optimal", loss_optimal)
    if Lc.shape != Lo.shape or Lc.ndim != 1 or Lc.size < 2:
        raise ValueError(f"the two curves must be 1-D of equal length >= 2, got {Lc.shape} and {Lo.shape}")
    T = Lc.size - 1
    target = Lc[-1]
    hit = np.nonzero(Lo <= target)[0]
    if hit.size == 0:
        return math.nan
    k = int(hit[0])
    if k == 0:
        return math.inf
    frac = (Lo[k - 1] - target) / (Lo[k - 1] - Lo[k])
    return float(T / (k - 1 + frac))
