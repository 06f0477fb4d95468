r"""The Learning Law: data-weighting policies for a perceptron, optimised to a certified stationary point.

The setting of Part IV (Gu et al. 2024, "Towards Optimal Learning of Language Models", the perceptron
teacher--student experiment).  A teacher vector ``w* ~ N(0, I_D)``; ``N`` training inputs
``x_n ~ N(0, 3 I_D)`` and ``M`` desired inputs ``z_k ~ N(0.5 * 1, I_D)``; labels ``y = 1[w* . x > 0]``.
The student is a perceptron without bias with a sigmoid output and the logistic (cross-entropy) loss

.. math::  l(x, y; \theta) &= y\,\mathrm{softplus}(-\theta\cdot x) + (1-y)\,\mathrm{softplus}(\theta\cdot x),\\
           \nabla_\theta l &= (\sigma(\theta\cdot x) - y)\,x,\qquad
           \nabla^2_\theta l = \sigma(1-\sigma)\,x x^\top ,

for labels ``y`` in [0, 1] (the experiment's labels are 0 or 1; soft labels are handled exactly, and
labels outside [0, 1] are refused because the loss is then unbounded below).

A learning policy is a ``T x N`` matrix ``gamma`` whose rows lie on the probability simplex; training is
full-batch weighted gradient descent from ``theta_0`` (zero by default):

.. math::  \theta_{t+1} = \theta_t - \eta \sum_n \gamma_{n,t} \nabla l_n(\theta_t),\qquad t = 0, \dots, T-1,

and the objective is the area under the desired-loss curve over the *trained* parameters,
``J(gamma) = sum_{t=1}^T L_dsr(theta_t)`` with ``L_dsr(theta) = (1/M) sum_k l(z_k, y_k; theta)``.  The
compression ratio is ``CR = T log|V| / J`` (``|V| = 2``).

The gradient of J with respect to every weight comes from one reverse sweep (adjoint recursion):

.. math::  \lambda_T &= \nabla L_{dsr}(\theta_T),\\
           \lambda_t &= \nabla L_{dsr}(\theta_t) + \Bigl(I - \eta\sum_n \gamma_{n,t} H_n(\theta_t)\Bigr)\lambda_{t+1},\\
           \frac{\partial J}{\partial \gamma_{n,t}} &= -\eta\, \lambda_{t+1}\cdot\nabla l_n(\theta_t).

The feasible set is a product of T simplices, so the Frank--Wolfe gap

.. math::  \mathrm{gap}(\gamma) = \sum_{t} \Bigl(\langle g_t, \gamma_{\cdot,t}\rangle - \min_n g_{n,t}\Bigr)
           = \max_{\gamma'} \langle \nabla J(\gamma), \gamma - \gamma' \rangle \ \ge 0

is a computable certificate: it is zero exactly at the stationary (KKT) points, and bounds the
first-order decrease available in any feasible direction.  :func:`optimize_policy` stops when the gap
is at most ``tol * J``.

References: Gu et al. (2024), arXiv 2402.17759 (the problem, Theorem 3.1, the perceptron setting);
Duchi et al. (2008) (Euclidean projection onto the simplex); Beck and Teboulle (2009) (backtracking
for projected gradient); Frank and Wolfe (1956), Jaggi (2013) (the Frank--Wolfe gap as a certificate).
"""

from __future__ import annotations

import ast
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit

from . import _validation as check

__all__ = [
    "PerceptronProblem",
    "PolicyResult",
    "Trajectory",
    "acceleration_ratio",
    "active_sim",
    "code_version",
    "compare_loss_curves",
    "compression_ratio",
    "contributions",
    "costate_sim",
    "drop_evidence",
    "empirical_acceleration",
    "fit_loss_curve",
    "frank_wolfe_gap",
    "gradient_descent",
    "law_spread",
    "law_statistics",
    "logistic_loss",
    "make_problem",
    "margins",
    "objective",
    "objective_and_gradient",
    "optimize_policy",
    "policy_report",
    "power_law_loss",
    "project_to_simplex",
    "sim_statistic",
    "train",
    "uniform_policy",
    "weighted_hvp",
]

METHODS = ("accelerated", "blended", "projected")
"""Policy optimisers of :func:`optimize_policy` (see its docstring; the benchmark compares others)."""


def code_version() -> str:
    """SHA-256 of this module's code without its docstrings: the version stamped on stored results.

    Computed from the abstract syntax tree (``ast.dump``, without line numbers) after removing every
    docstring, so editing documentation or comments does not change it, and any change to what the
    code computes does.  ``data/learning_law/paper_size.json`` records it; the chapter compares it with
    the running code.
    """
    return _code_hash(Path(__file__).read_text(encoding="utf-8"))


def _code_hash(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


# --------------------------------------------------------------------------- the problem
def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=float, copy=True)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class PerceptronProblem:
    """Data and training hyper-parameters of the teacher--student perceptron (validated on creation).

    Attributes
    ----------
    X : (N, D) training inputs;  y : (N,) training labels in [0, 1] (0 or 1 in the experiment).
    Xd : (M, D) desired inputs;  yd : (M,) desired labels in [0, 1].
    teacher : (D,) teacher vector.  eta : learning rate > 0.  T : number of steps >= 1.
    theta0 : (D,) initial parameters.

    The arrays are stored as read-only float copies.  Labels outside [0, 1] are refused: the logistic
    loss ``log(1 + e^z) - y z`` is then unbounded below and its adjoint curvature term is wrong.
    """

    X: np.ndarray
    y: np.ndarray
    Xd: np.ndarray
    yd: np.ndarray
    teacher: np.ndarray
    eta: float
    T: int
    theta0: np.ndarray

    def __post_init__(self):
        X = check.real_array("X", self.X, ndim=2, domain="finite reals (an N x D matrix)")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
        n, d = X.shape
        y = check.real_array("y", self.y, shape=(n,), low=0, high=1, domain="labels in [0, 1]")
        Xd = check.real_array("Xd", self.Xd, ndim=2, domain="finite reals (an M x D matrix)")
        if Xd.shape[0] < 1 or Xd.shape[1] != d:
            raise ValueError(f"Xd must have shape (M, D) = (M >= 1, {d}), got shape {Xd.shape}")
        yd = check.real_array("yd", self.yd, shape=(Xd.shape[0],), low=0, high=1, domain="labels in [0, 1]")
        teacher = check.real_array("teacher", self.teacher, shape=(d,))
        theta0 = check.real_array("theta0", self.theta0, shape=(d,))
        eta = check.real("eta", self.eta, low=0, low_open=True)
        T = check.integer("T", self.T, low=1)
        for name, value in (("X", X), ("y", y), ("Xd", Xd), ("yd", yd), ("teacher", teacher),
                            ("theta0", theta0)):
            object.__setattr__(self, name, _frozen(value))
        object.__setattr__(self, "eta", eta)
        object.__setattr__(self, "T", T)

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    @property
    def n_train(self) -> int:
        return self.X.shape[0]

    @property
    def n_desired(self) -> int:
        return self.Xd.shape[0]


def _check_problem(problem) -> PerceptronProblem:
    if not isinstance(problem, PerceptronProblem):
        raise ValueError(f"problem must be a PerceptronProblem (made by learning_law.make_problem), got "  # noqa: TRY004 (the library's one rule: ValueError naming the argument)
                         f"{check._show(problem)}")
    return problem


def _pass_cost(problem: PerceptronProblem) -> tuple[float, float]:
    """Elementary operations and bytes of one training pass (forward) of ``problem``."""
    T, N, D, M = problem.T, problem.n_train, problem.dim, problem.n_desired
    operations = 2.0 * T * N * D + 2.0 * T * M * D + 10.0 * T * N
    memory = 8.0 * (2 * T * N + 2 * (T + 1) * D + min(T + 1, 512) * M)
    return operations, memory


def _sizes(problem: PerceptronProblem) -> str:
    return f"T = {problem.T}, N = {problem.n_train}, D = {problem.dim}, M = {problem.n_desired}"


def make_problem(dim: int = 128, n_train: int = 4096, n_desired: int = 512, eta: float = 0.1,
                 T: int = 2000, seed: int = 0, train_variance: float = 3.0,
                 desired_shift: float = 0.5) -> PerceptronProblem:
    r"""Draw the perceptron teacher--student data of Gu et al. (2024).

    ``teacher ~ N(0, I_D)``; training inputs ``N(0, train_variance * I_D)``; desired inputs
    ``N(desired_shift * 1, I_D)``; labels ``1[teacher . x > 0]``; ``theta_0 = 0``.  The paper's sizes are
    the defaults (D = 128, N = 4096, M = 512, eta = 0.1, T = 2000).

    Domain: dim, n_train, n_desired, T integers >= 1; eta > 0; train_variance > 0; desired_shift
    real; ``seed`` an integer in [0, 2**63).  All randomness comes from ``numpy.random.default_rng(seed)``.
    The data take ``8 (N + M) D`` bytes; larger requests than the work limits are refused.
    """
    dim = check.integer("dim", dim, low=1)
    n_train = check.integer("n_train", n_train, low=1)
    n_desired = check.integer("n_desired", n_desired, low=1)
    T = check.integer("T", T, low=1)
    seed = check.seed("seed", seed)
    eta = check.real("eta", eta, low=0, low_open=True)
    train_variance = check.real("train_variance", train_variance, low=0, low_open=True)
    desired_shift = check.real("desired_shift", desired_shift)
    check.check_work("learning_law.make_problem", operations=2.0 * (n_train + n_desired) * dim,
                     memory_bytes=16.0 * (n_train + n_desired) * dim,
                     sizes=f"(n_train + n_desired) * dim = {(n_train + n_desired) * dim:.3g}")
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal(dim)
    X = math.sqrt(train_variance) * rng.standard_normal((n_train, dim))
    Xd = desired_shift + rng.standard_normal((n_desired, dim))
    y = (X @ teacher > 0).astype(float)
    yd = (Xd @ teacher > 0).astype(float)
    return PerceptronProblem(X=X, y=y, Xd=Xd, yd=yd, teacher=teacher, eta=eta, T=T, theta0=np.zeros(dim))


def logistic_loss(margin, y) -> np.ndarray:
    r"""Logistic (cross-entropy) loss of a sigmoid output with logit ``z``, label ``y`` in [0, 1].

    .. math::  l(z, y) = \log(1 + e^z) - y z = y\,\mathrm{softplus}(-z) + (1-y)\,\mathrm{softplus}(z) \ge 0 .

    Evaluated in the second form, a sum of two non-negative terms: exact to rounding for every finite
    ``z`` (no overflow for z = 1e300, no cancellation, and the tiny value ``e^{-|z|}`` of a learned
    example is kept).  ``margin`` and ``y`` broadcast against each other.

    Domain: ``margin`` finite reals; ``y`` in [0, 1] (the loss is unbounded below outside it).
    """
    z = check.real_array("margin", margin)
    y = check.real_array("y", y, low=0, high=1, domain="labels in [0, 1]")
    try:
        np.broadcast_shapes(z.shape, y.shape)
    except ValueError:
        raise ValueError(f"margin and y must broadcast to one shape, got shapes {z.shape} and {y.shape}") from None
    return y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)


def uniform_policy(T: int, n_train: int) -> np.ndarray:
    """The conventional policy: every row equal to ``1/N`` (plain full-batch gradient descent).

    Domain: T, n_train integers >= 1 (``8 T N`` bytes, refused above the memory limit).
    """
    T = check.integer("T", T, low=1)
    n_train = check.integer("n_train", n_train, low=1)
    check.check_work("learning_law.uniform_policy", operations=float(T) * n_train,
                     memory_bytes=8.0 * T * n_train, sizes=f"T * n_train = {float(T) * n_train:.3g}")
    return np.full((T, n_train), 1.0 / n_train)


# --------------------------------------------------------------------------- projection
def project_to_simplex(v) -> np.ndarray:
    r"""Euclidean projection of each row of ``v`` onto the probability simplex.

    Solves ``min_w ||w - v||^2`` s.t. ``w >= 0, sum w = 1`` (along the last axis).  The solution is
    ``w = max(v - tau, 0)`` with tau chosen so the entries sum to one; with ``u`` the entries sorted in
    decreasing order, ``rho = max{j : u_j - (sum_{i<=j} u_i - 1)/j > 0}`` and
    ``tau = (sum_{i<=rho} u_i - 1)/rho`` (Duchi et al. 2008, Fig. 1).

    The projection is invariant under adding a constant to a row, so each row is first shifted by its
    maximum (the largest entry becomes 0, exactly); since then ``tau >= -1``, entries below ``-1`` are
    never in the support and are clamped to ``-2`` without changing the result.  This keeps every
    row on the simplex for entries of any magnitude (``[1e16, 1e16]`` gives ``[0.5, 0.5]``, and
    ``[1e308, -1e308]`` gives ``[1, 0]``).  Cost O(n log n) per row, vectorised over rows.

    Domain: ``v`` a finite real array with at least one entry along its last axis.
    """
    v = check.real_array("v", v)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise ValueError(f"v must have at least one entry along its last axis, got shape {v.shape}")
    check.check_work("learning_law.project_to_simplex", operations=20.0 * v.size, memory_bytes=40.0 * v.size,
                     sizes=f"v.size = {v.size}")
    n = v.shape[-1]
    with np.errstate(over="ignore"):  # v - max may overflow to -inf; such entries are clamped below
        w = v - v.max(axis=-1, keepdims=True)
    np.maximum(w, -2.0, out=w)
    u = -np.sort(-w, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    k = np.arange(1, n + 1)
    cond = u - css / k > 0  # cond[..., 0] holds: u_1 = 0, css_1 = -1
    rho = n - np.argmax(cond[..., ::-1], axis=-1)  # last index (1-based) where cond holds
    tau = np.take_along_axis(css, (rho - 1)[..., None], axis=-1) / rho[..., None]
    return np.maximum(w - tau, 0.0)


# --------------------------------------------------------------------------- training
@dataclass
class Trajectory:
    """What a forward pass stores (memory ``O(T (D + N))``).

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


def _check_policy(problem: PerceptronProblem, gamma, name: str = "gamma") -> np.ndarray:
    shape = (problem.T, problem.n_train)
    gamma = check.real_array(name, gamma, shape=shape, low=0, domain="non-negative reals (rows on the simplex)")
    sums = gamma.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > 1e-8):
        t = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"{name} must have rows that sum to 1 (each row on the simplex), got a row sum of "
                         f"{sums[t]!r} in row {t}")
    return gamma


def _desired(problem: PerceptronProblem, thetas: np.ndarray, chunk: int = 512):
    """L_dsr and grad L_dsr at every row of ``thetas``, by blocked matrix products."""
    Xd, yd = problem.Xd, problem.yd
    M = Xd.shape[0]
    losses = np.empty(thetas.shape[0])
    grads = np.empty_like(thetas)
    for a in range(0, thetas.shape[0], chunk):
        Z = thetas[a:a + chunk] @ Xd.T
        losses[a:a + chunk] = np.mean(yd * np.logaddexp(0.0, -Z) + (1.0 - yd) * np.logaddexp(0.0, Z), axis=1)
        grads[a:a + chunk] = ((expit(Z) - yd) @ Xd) / M
    return losses, grads


def _forward(problem: PerceptronProblem, gamma: np.ndarray) -> Trajectory:
    X, y, eta, T = problem.X, problem.y, problem.eta, problem.T
    thetas = np.empty((T + 1, problem.dim))
    residuals = np.empty((T, problem.n_train))
    theta = problem.theta0.copy()
    thetas[0] = theta
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is detected (and refused) below
        for t in range(T):
            r = expit(X @ theta) - y
            residuals[t] = r
            theta = theta - eta * ((gamma[t] * r) @ X)
            thetas[t + 1] = theta
    if not np.all(np.isfinite(thetas)):
        raise check.not_representable("the trained parameters theta_t",
                                      "the steps eta * gradient overflow; use a smaller eta or smaller inputs")
    losses, grads = _desired(problem, thetas)
    if not np.all(np.isfinite(losses)):
        raise check.not_representable("the desired loss L_dsr(theta_t)", "the logits overflow")
    return Trajectory(thetas=thetas, residuals=residuals, desired_losses=losses, desired_grads=grads)


def train(problem: PerceptronProblem, gamma) -> Trajectory:
    r"""Unrolled weighted gradient descent ``theta_{t+1} = theta_t - eta sum_n gamma_{n,t} grad l_n``.

    ``gamma`` is a (T, N) policy with rows on the simplex (non-negative, row sums 1 within 1e-8).  Two
    matrix-vector products with X per step; the desired losses and gradients at all T+1 iterates are
    computed afterwards by blocked matrix products.  Returns a :class:`Trajectory`.  Raises ValueError if
    the parameters overflow a double (a learning rate far too large for the inputs).
    """
    problem = _check_problem(problem)
    gamma = _check_policy(problem, gamma)
    ops, mem = _pass_cost(problem)
    check.check_work("learning_law.train", operations=ops, memory_bytes=mem, sizes=_sizes(problem))
    return _forward(problem, gamma)


def objective(problem: PerceptronProblem, gamma) -> float:
    """``J(gamma) = sum_{t=1}^T L_dsr(theta_t)``, the area under the desired-loss curve (see :func:`train`)."""
    return train(problem, gamma).objective


def _adjoint(problem: PerceptronProblem, gamma: np.ndarray, traj: Trajectory) -> np.ndarray:
    X, y, eta, T = problem.X, problem.y, problem.eta, problem.T
    grad = np.empty_like(gamma)
    lam = traj.desired_grads[T].copy()  # lambda_T = dJ/dtheta_T
    for t in range(T - 1, -1, -1):
        u = X @ lam  # x_n . lambda_{t+1}
        r = traj.residuals[t]
        grad[t] = -eta * r * u  # dJ/dgamma_{n,t} = -eta lambda_{t+1} . grad l_n(theta_t)
        if t >= 1:
            # sigma (1 - sigma) from the stored residual r = sigma - y, for any label in [0, 1];
            # 1 - sigma = (1 - y) - r is exact for y = 1, where sigma is close to 1
            curvature = (r + y) * ((1.0 - y) - r)
            lam = traj.desired_grads[t] + lam - eta * ((gamma[t] * curvature * u) @ X)
    return grad


def objective_and_gradient(problem: PerceptronProblem, gamma):
    r"""``(J, dJ/dgamma, trajectory)``: the objective and its exact gradient by the adjoint recursion.

    .. math:: \frac{\partial J}{\partial\gamma_{n,t}} &= -\eta\,\lambda_{t+1}\cdot\nabla l_n(\theta_t),
              \qquad \lambda_T = \nabla L_{dsr}(\theta_T),\\
              \lambda_t &= \nabla L_{dsr}(\theta_t) + \lambda_{t+1}
              - \eta X^\top\!\bigl(\gamma_{\cdot,t}\odot\sigma(1-\sigma)\odot X\lambda_{t+1}\bigr).

    The gradient is the plain partial derivative (the simplex constraint is handled by the optimiser).
    Cost: one forward pass and a reverse sweep of two matrix-vector products with X per step.
    """
    problem = _check_problem(problem)
    gamma = _check_policy(problem, gamma)
    ops, mem = _pass_cost(problem)
    check.check_work("learning_law.objective_and_gradient", operations=2 * ops,
                     memory_bytes=mem + 8.0 * gamma.size, sizes=_sizes(problem))
    traj = _forward(problem, gamma)
    return traj.objective, _adjoint(problem, gamma, traj), traj


def gradient_descent(problem: PerceptronProblem) -> tuple[np.ndarray, np.ndarray]:
    """Plain full-batch gradient descent on the mean training loss (the uniform policy, written directly).

    Returns ``(thetas, desired_losses)`` with shapes (T+1, D) and (T+1,).  Used as the reference that the
    uniform policy must reproduce and as the unit of cost in the benchmark.
    """
    problem = _check_problem(problem)
    ops, _ = _pass_cost(problem)
    check.check_work("learning_law.gradient_descent", operations=ops,
                     memory_bytes=8.0 * (2 * (problem.T + 1) * problem.dim + 512 * problem.n_desired),
                     sizes=_sizes(problem))
    X, y, eta = problem.X, problem.y, problem.eta
    N = problem.n_train
    thetas = np.empty((problem.T + 1, problem.dim))
    theta = problem.theta0.copy()
    thetas[0] = theta
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is detected (and refused) below
        for t in range(problem.T):
            theta = theta - (eta / N) * ((expit(X @ theta) - y) @ X)
            thetas[t + 1] = theta
    if not np.all(np.isfinite(thetas)):
        raise check.not_representable("the trained parameters theta_t", "the steps overflow")
    losses, _ = _desired(problem, thetas)
    return thetas, losses


def weighted_hvp(problem: PerceptronProblem, theta, weights, v) -> np.ndarray:
    r"""``sum_n w_n H_n(theta) v = X^T (w * s (1 - s) * (X v))`` with ``s = sigma(X theta)``.

    The Hessian of the weighted training loss applied to v, without forming a D x D matrix.
    Domain: ``theta`` and ``v`` finite (D,) vectors, ``weights`` a finite (N,) vector.
    """
    problem = _check_problem(problem)
    theta = check.real_array("theta", theta, shape=(problem.dim,))
    w = check.real_array("weights", weights, shape=(problem.n_train,))
    v = check.real_array("v", v, shape=(problem.dim,))
    s = expit(problem.X @ theta)
    return (w * s * (1.0 - s) * (problem.X @ v)) @ problem.X


# --------------------------------------------------------------------------- diagnostics
def _check_trajectory(problem: PerceptronProblem, traj, name: str = "traj") -> Trajectory:
    if not isinstance(traj, Trajectory):
        raise ValueError(f"{name} must be a Trajectory (returned by learning_law.train), got {check._show(traj)}")  # noqa: TRY004
    T, N, D = problem.T, problem.n_train, problem.dim
    if (traj.residuals.shape != (T, N) or traj.desired_grads.shape != (T + 1, D)
            or traj.thetas.shape != (T + 1, D)):
        raise ValueError(f"{name} does not belong to this problem: residuals {traj.residuals.shape} and "
                         f"desired_grads {traj.desired_grads.shape}, expected ({T}, {N}) and ({T + 1}, {D})")
    return traj


def contributions(problem: PerceptronProblem, traj: Trajectory) -> np.ndarray:
    r"""Contribution ``c_{n,t} = grad L_dsr(theta_t) . grad l_n(theta_t)`` for t = 0..T-1, shape (T, N).

    A positive contribution means a small step on example n lowers the desired loss.  For the
    perceptron ``c_{n,t} = (sigma(theta_t . x_n) - y_n) (x_n . grad L_dsr(theta_t))``; computed as one
    (T x D) x (D x N) product.
    """
    problem = _check_problem(problem)
    traj = _check_trajectory(problem, traj)
    return traj.residuals * (traj.desired_grads[:-1] @ problem.X.T)


def active_sim(values, gamma, min_active: int = 2) -> np.ndarray:
    r"""Per-step ``mean / std`` of ``values[t, n]`` over the examples with ``gamma[t, n] > 0``.

    ``values`` and ``gamma`` have shape (T, N); the std is the population std.  Steps with fewer than
    ``min_active`` active examples give NaN (a single active example is vacuously "equal"); steps whose
    active values are all equal give ``+-inf`` (the sign of the mean), or NaN if they are all zero.
    Returns (T,).
    """
    values = check.real_array("values", values, ndim=2)
    gamma = check.real_array("gamma", gamma, ndim=2, low=0, domain="non-negative weights")
    if values.shape != gamma.shape:
        raise ValueError(f"values and gamma must have one shape (T, N), got {values.shape} and {gamma.shape}")
    min_active = check.integer("min_active", min_active, low=2)
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
    problem = _check_problem(problem)
    gamma = _check_policy(problem, gamma)
    traj = train(problem, gamma) if traj is None else _check_trajectory(problem, traj)
    return active_sim(contributions(problem, traj), gamma, min_active)


def costate_sim(problem: PerceptronProblem, gamma, grad, min_active: int = 2) -> np.ndarray:
    r"""Per-step SIM of the exact first-order (KKT) quantity ``lambda_{t+1} . grad l_n(theta_t)``.

    ``grad`` is ``dJ/dgamma`` from :func:`objective_and_gradient`; ``lambda_{t+1} . grad l_n =
    -(1/eta) dJ/dgamma_{n,t}``.  KKT for ``min J`` over each simplex requires this quantity to be equal
    for all active examples of a step, so it is infinite at any stationary policy.  Returns (T,).
    """
    problem = _check_problem(problem)
    gamma = _check_policy(problem, gamma)
    grad = check.real_array("grad", grad, shape=gamma.shape)
    return active_sim(-grad / problem.eta, gamma, min_active)


def frank_wolfe_gap(gamma, grad, per_step: bool = False):
    r"""The Frank--Wolfe gap of a policy: the certificate of stationarity on a product of simplices.

    .. math::  \mathrm{gap}_t = \sum_n \gamma_{n,t}\, g_{n,t} - \min_n g_{n,t}
               = \max_{s \in \Delta} \langle g_t, \gamma_{\cdot,t} - s\rangle \ \ge 0,
               \qquad \mathrm{gap} = \sum_t \mathrm{gap}_t ,

    with ``g = dJ/dgamma``.  ``gap = 0`` exactly at the KKT points (every example with positive weight
    has the smallest partial derivative of its row), and for every feasible policy ``gamma'`` the
    first-order change ``<g, gamma' - gamma>`` is at least ``-gap``.

    Parameters
    ----------
    gamma : (T, N) array of non-negative weights (rows on the simplex).
    grad : (T, N) array, the gradient at ``gamma``.
    per_step : bool
        Return the (T,) array of ``gap_t`` instead of their sum.
    """
    gamma = check.real_array("gamma", gamma, ndim=2, low=0, domain="non-negative weights")
    grad = check.real_array("grad", grad, shape=gamma.shape)
    per_step = check.flag("per_step", per_step)
    if gamma.shape[1] == 0:
        raise ValueError(f"gamma must have at least one column, got shape {gamma.shape}")
    # rounding can make a vertex row's gap -1e-17; the gap is non-negative by definition
    gaps = np.maximum(np.sum(gamma * grad, axis=1) - grad.min(axis=1), 0.0)
    return gaps if per_step else float(gaps.sum())


def compression_ratio(J, T, n_classes: int = 2):
    r"""``CR = T log|V| / J``: bits needed without a model over bits needed with the learner.

    ``|V|`` is the size of the output vocabulary (2 for the binary perceptron).
    Domain: J > 0 (a scalar or an array), T >= 1 and n_classes >= 2 integers.
    """
    J = check.real_array("J", J, low=0, low_open=True, domain="positive reals")
    T = check.integer("T", T, low=1)
    n_classes = check.integer("n_classes", n_classes, low=2)
    cr = T * math.log(n_classes) / J
    return cr if cr.ndim else float(cr)


def law_spread(values, gamma, weighted: bool = False, min_active: int = 2) -> np.ndarray:
    r"""Per-step relative spread of ``values`` over the active examples: how far the Learning Law is from holding.

    Unweighted (``weighted=False``): ``std_{n active} v_{n,t} / |mean_{n active} v_{n,t}|`` = ``1 / |SIM_t|``
    (:func:`active_sim`), population std over the examples with ``gamma_{n,t} > 0``.
    Weighted: the same with the policy's weights, ``sqrt(sum_n gamma (v - vbar)^2) / |vbar|`` with
    ``vbar = sum_n gamma v`` (rows of ``gamma`` sum to one); an example on its way out with a tiny weight
    counts little.  Zero means exactly equal contributions.  Steps with fewer than ``min_active``
    active examples give NaN; a zero mean with a nonzero spread gives inf.  Returns (T,).

    Domain: ``values`` finite and ``gamma`` non-negative (T, N) arrays; ``min_active`` >= 2.
    """
    values = check.real_array("values", values, ndim=2)
    gamma = check.real_array("gamma", gamma, ndim=2, low=0, domain="non-negative weights")
    if values.shape != gamma.shape:
        raise ValueError(f"values and gamma must have one shape (T, N), got {values.shape} and {gamma.shape}")
    weighted = check.flag("weighted", weighted)
    min_active = check.integer("min_active", min_active, low=2)
    active = gamma > 0
    k = active.sum(axis=1)
    w = gamma / np.maximum(gamma.sum(axis=1, keepdims=True), 1e-300) if weighted else active / np.maximum(k, 1)[:, None]
    mean = np.sum(w * values, axis=1)
    std = np.sqrt(np.sum(w * (values - mean[:, None]) ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(std == 0, 0.0, std / np.abs(mean))
    return np.where(k >= min_active, spread, np.nan)


def margins(problem: PerceptronProblem, traj: Trajectory) -> np.ndarray:
    r"""Signed margins ``m_{n,t} = (2 y_n - 1)\,\theta_t\cdot x_n`` for t = 0..T-1, shape (T, N).

    Large positive: example n is classified correctly with confidence (its loss ``softplus(-m)`` is
    small); negative: misclassified.  For binary labels.
    """
    problem = _check_problem(problem)
    traj = _check_trajectory(problem, traj)
    return (2.0 * problem.y - 1.0) * (traj.thetas[:-1] @ problem.X.T)


def drop_evidence(problem: PerceptronProblem, gamma, traj: Trajectory, uniform_traj: Trajectory,
                  learned_loss: float = 1e-3) -> dict:
    r"""Which examples a policy drops, and when: the statistics behind the chapter's evidence.

    Returns a dict of floats:

    ``w_neg_policy``, ``w_neg_uniform``
        Over the first steps ``t = 1 .. max(1, T//20 - 1)``: the mean weight the policy puts on examples
        whose contribution :func:`contributions` is negative (a step on them raises the desired loss),
        and the same for the uniform policy (the fraction of such examples).
    ``selective_steps``
        Steps ``t >= 1`` with fewer than N/2 active examples.
    ``learned_count_share``, ``learned_weight_share``
        On those steps, the fraction of examples already learned (loss below ``learned_loss``, i.e.
        margin above ``-log(e^{learned_loss} - 1)``, about ``log(1/learned_loss)``), and the weight the
        policy gives them.
    ``margin_active``, ``margin_dropped``
        Median margin (:func:`margins`) of the active and of the dropped examples on those steps.
    ``single_example_share``
        Fraction of steps with exactly one active example.
    ``examples_used``
        Number of examples with positive weight at some step.
    ``greedy_share``
        Fraction of steps whose largest weight is on the example of largest contribution (the greedy
        choice for the next step's loss).
    ``costate_share``
        Fraction of steps whose largest weight is on the example of largest costate contribution
        ``lambda_{t+1} . grad l_n`` (what first-order optimality prescribes).
    ``last_use_margin``
        Median margin, at the last step it is used, of each example that stops being used before the
        last quarter of training (its last active step is below 3T/4); NaN if there are none.
    """
    problem = _check_problem(problem)
    gamma = _check_policy(problem, gamma)
    traj = _check_trajectory(problem, traj)
    uniform_traj = _check_trajectory(problem, uniform_traj, "uniform_traj")
    learned_loss = check.real("learned_loss", learned_loss, low=0, high=1, low_open=True, high_open=True)
    T, N = gamma.shape
    c = contributions(problem, traj)
    c_uniform = contributions(problem, uniform_traj)
    grad = _adjoint(problem, gamma, traj)
    m = margins(problem, traj)
    active = gamma > 0
    early = slice(1, max(2, T // 20))
    out = {}
    if T >= 2:
        out["w_neg_policy"] = float(np.mean(np.sum(gamma[early] * (c[early] < 0), axis=1)))
        out["w_neg_uniform"] = float(np.mean(np.mean(c_uniform[early] < 0, axis=1)))
    else:
        out["w_neg_policy"] = out["w_neg_uniform"] = math.nan
    selective = np.nonzero(active.sum(axis=1) < N / 2)[0]
    selective = selective[selective >= 1]
    out["selective_steps"] = float(selective.size)
    threshold = -math.log(math.expm1(learned_loss))  # softplus(-m) < learned_loss  <=>  m > threshold
    if selective.size:
        learned = m[selective] > threshold
        out["learned_count_share"] = float(learned.mean())
        out["learned_weight_share"] = float(np.mean(np.sum(gamma[selective] * learned, axis=1)))
        act_sel, m_sel = active[selective], m[selective]
        out["margin_active"] = float(np.median(m_sel[act_sel]))
        out["margin_dropped"] = float(np.median(m_sel[~act_sel])) if np.any(~act_sel) else math.nan
    else:
        out["learned_count_share"] = out["learned_weight_share"] = math.nan
        out["margin_active"] = out["margin_dropped"] = math.nan
    out["single_example_share"] = float(np.mean(active.sum(axis=1) == 1))
    used = active.any(axis=0)
    out["examples_used"] = float(used.sum())
    top = np.argmax(gamma, axis=1)
    out["greedy_share"] = float(np.mean(top == np.argmax(c, axis=1)))
    out["costate_share"] = float(np.mean(top == np.argmin(grad, axis=1)))
    last = np.where(used, T - 1 - np.argmax(active[::-1], axis=0), -1)
    stopped = np.nonzero(used & (last < 3 * T // 4))[0]
    out["last_use_margin"] = float(np.median(m[last[stopped], stopped])) if stopped.size else math.nan
    return out


# --------------------------------------------------------------------------- the policy optimiser
@dataclass
class PolicyResult:
    """Result of :func:`optimize_policy`.

    gamma : (T, N) final policy.  trajectory : its forward pass.  gradient : dJ/dgamma at ``gamma``.
    objectives : J after each iteration (index 0 is the initial policy).
    gaps : the Frank--Wolfe gap (:func:`frank_wolfe_gap`) after each iteration (index 0 initial).
    certified : whether the last gap is at most ``tol * J``.  message : how the run ended.
    steps : accepted projected-gradient step sizes.  fw_steps : accepted Frank--Wolfe step fractions
    (0 when the line search found no decrease).  sim, sim_costate : median over the steps with at least
    two active examples of :func:`sim_statistic` and :func:`costate_sim` after each iteration (if
    recorded; NaN when no step has two active examples).
    evaluations : forward passes.  gradients : adjoint sweeps.  seconds : wall time after each
    iteration (index 0: the initial evaluation), for benchmarks only (it depends on the machine).
    """

    gamma: np.ndarray
    trajectory: Trajectory
    gradient: np.ndarray
    tol: float
    method: str
    objectives: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    fw_steps: list = field(default_factory=list)
    sim: list = field(default_factory=list)
    sim_costate: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    evaluations: int = 0
    gradients: int = 0
    certified: bool = False
    message: str = ""

    @property
    def iterations(self) -> int:
        """Iterations performed."""
        return len(self.objectives) - 1

    @property
    def relative_gap(self) -> float:
        """The certificate of the final policy, ``gap / J``."""
        return self.gaps[-1] / self.objectives[-1]


def _projected_step(problem, gamma, J, G, s, result):
    """Backtracking projected-gradient step from gamma: (candidate, its trajectory, its J, step) or None.

    The step is halved until ``J(new) <= J + <G, d> + ||d||^2 / (2 s)`` (Beck and Teboulle 2009); None
    when the projected gradient does not move (a fixed point at this step size)."""
    while True:
        candidate = project_to_simplex(gamma - s * G)
        d = candidate - gamma
        if not np.any(d):
            return None
        cand_traj = _forward(problem, candidate)
        result.evaluations += 1
        J_new = cand_traj.objective
        if J_new <= J + np.sum(G * d) + np.sum(d * d) / (2 * s) or s < 1e-300:
            return candidate, cand_traj, J_new, s
        s *= 0.5


def _frank_wolfe_step(problem, gamma, J, G, a_prev, result):
    """Line-searched step towards each row's vertex of smallest partial derivative.

    ``gamma + a (S - gamma)``, with a in (0, 1] accepted when ``J <= J0 - a gap / 2``; trial steps start
    at ``min(1, 2 a_prev)`` and shrink to the minimiser of a quadratic model of J along the segment
    (clamped to [0.1 a, 0.5 a]).  Returns (a, candidate, trajectory), a = 0 if no decrease was found."""
    rows = np.arange(problem.T)
    direction = -gamma.copy()
    direction[rows, np.argmin(G, axis=1)] += 1.0
    slope = float(np.sum(G * direction))  # = -gap
    if slope >= 0:
        return 0.0, None, None
    a = min(1.0, 2.0 * a_prev)
    for _ in range(40):
        cand = gamma + a * direction
        np.maximum(cand, 0.0, out=cand)  # rounding only: (1 - a) gamma + a e is non-negative
        cand_traj = _forward(problem, cand)
        result.evaluations += 1
        if cand_traj.objective <= J + 0.5 * a * slope:
            return a, cand, cand_traj
        curvature = 2.0 * (cand_traj.objective - J - a * slope) / a**2  # > 0 here
        a = min(0.5 * a, max(0.1 * a, -slope / curvature))
    return 0.0, None, None


def optimize_policy(problem: PerceptronProblem, tol: float = 1e-3, max_iterations: int = 1000, gamma0=None,
                    *, method: str = "accelerated", step: float | None = None, growth: float = 1.5,
                    record_sim: bool = False, time_limit: float | None = None) -> PolicyResult:
    r"""Minimise J over the product of simplices until the Frank--Wolfe gap certifies a stationary point.

    Stops as soon as ``gap <= tol * J`` (:func:`frank_wolfe_gap`, computed from the exact adjoint
    gradient at the current policy), or after ``max_iterations`` iterations, saying which in
    ``result.message``; ``result.gaps`` holds the gap after every iteration.

    Methods (chosen by measurement: ``benchmarks/bench_learning_law_methods.py`` compares these with
    eight others; on the recorded comparison, at the chapter's default size, "accelerated" reached
    gap / J <= 1e-3 first, with the fewest training passes):

    ``"accelerated"`` (default)
        As "blended" below, with the projected-gradient step taken from the extrapolated point
        ``Proj(gamma_k + k/(k+3) (gamma_k - gamma_{k-1}))`` (the momentum of Beck and Teboulle's FISTA),
        the momentum restarted (k = 0) whenever that step would not bring J below the current
        policy's.  One more gradient per iteration than "blended", several times fewer iterations.
    ``"blended"``
        Each iteration is one projected-gradient step followed by one Frank--Wolfe step.  The
        projected-gradient step ``gamma <- Proj(gamma - s G)`` (row by row, :func:`project_to_simplex`)
        is accepted when ``J(new) <= J + <G, d> + ||d||^2 / (2 s)`` (Beck and Teboulle 2009), otherwise
        s is halved; after an accepted step s grows by ``growth``.  The Frank--Wolfe step moves every
        row towards the vertex of its smallest partial derivative, ``gamma <- gamma + a (S - gamma)``,
        with ``a`` in (0, 1] from a backtracking line search (sufficient decrease ``a gap / 2``, trial
        steps from a quadratic model of J along the segment).  It adds weight to examples that the
        projection has not yet let in, which is what the gap measures.
    ``"projected"``
        The projected-gradient step alone (the method of the paper, with this step rule).

    J never increases.  Starts from the uniform policy unless ``gamma0`` is given.  The initial step
    defaults to ``1 / (N max|G|)`` (a move of at most one uniform weight per entry).

    Parameters
    ----------
    problem : PerceptronProblem
    tol : float in (0, 1]
        Certificate target, relative to J.
    max_iterations : int >= 0
        Iteration cap; the estimated work ``max_iterations`` x (about 8 training passes) is checked
        against the work limits (lift them with ``scalinglaws.work_limits`` for the paper's size).
    gamma0 : (T, N) array, optional
        Initial policy (rows on the simplex).
    method : "accelerated", "blended" or "projected"
    step : float > 0, optional
        Initial projected-gradient step.
    growth : float >= 1
        Step growth after an accepted projected-gradient step.
    record_sim : bool
        Record the median SIM statistics after every iteration (one extra (T x D) x (D x N) product each).
    time_limit : float > 0, optional
        Also stop after this many seconds of wall time (for benchmarks; the result then depends on
        the machine, so the book's runs use ``max_iterations`` only).
    """
    problem = _check_problem(problem)
    tol = check.real("tol", tol, low=0, high=1, low_open=True)
    max_iterations = check.integer("max_iterations", max_iterations, low=0)
    method = check.choice("method", method, METHODS)
    growth = check.real("growth", growth, low=1)
    record_sim = check.flag("record_sim", record_sim)
    if step is not None:
        step = check.real("step", step, low=0, low_open=True)
    if time_limit is not None:
        time_limit = check.real("time_limit", time_limit, low=0, low_open=True, allow_inf=True)
    ops, mem = _pass_cost(problem)
    check.check_work("learning_law.optimize_policy", operations=8.0 * ops * max(max_iterations, 1),
                     memory_bytes=mem * 3 + 64.0 * problem.T * problem.n_train,
                     sizes=f"max_iterations = {max_iterations}, {_sizes(problem)}")
    start = time.perf_counter()
    gamma = (uniform_policy(problem.T, problem.n_train) if gamma0 is None
             else _check_policy(problem, gamma0, "gamma0").copy())
    traj = _forward(problem, gamma)
    J = traj.objective
    G = _adjoint(problem, gamma, traj)
    result = PolicyResult(gamma=gamma, trajectory=traj, gradient=G, tol=tol, method=method, evaluations=1,
                          gradients=1)

    def record():
        result.objectives.append(J)
        result.gaps.append(frank_wolfe_gap(gamma, G))
        result.seconds.append(time.perf_counter() - start)
        if record_sim:
            result.sim.append(_median_sim(contributions(problem, traj), gamma))
            result.sim_costate.append(_median_sim(-G / problem.eta, gamma))

    record()
    s = 1.0 / (problem.n_train * max(float(np.max(np.abs(G))), 1e-300)) if step is None else step
    a_fw, momentum, previous = 0.1, 0, gamma
    timed_out = False
    for _ in range(max_iterations):
        if result.gaps[-1] <= tol * J:
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            timed_out = True
            break
        # projected-gradient step, from an extrapolated point for "accelerated"
        step_taken = None
        if method == "accelerated" and momentum > 0:
            y = project_to_simplex(gamma + momentum / (momentum + 3.0) * (gamma - previous))
            y_traj = _forward(problem, y)
            y_grad = _adjoint(problem, y, y_traj)
            result.evaluations += 1
            result.gradients += 1
            step_taken = _projected_step(problem, y, y_traj.objective, y_grad, s, result)
            if step_taken is None or step_taken[2] > J:  # no decrease from the current policy: restart
                momentum, step_taken = 0, None
        if step_taken is None:
            step_taken = _projected_step(problem, gamma, J, G, s, result)
        if step_taken is not None:
            cand, cand_traj, J_new, s = step_taken
            if J_new <= J:
                previous = gamma
                gamma, traj, J = cand, cand_traj, J_new
                G = _adjoint(problem, gamma, traj)
                result.gradients += 1
                momentum += 1
        result.steps.append(s)
        s *= growth
        if method != "projected":
            accepted, cand, cand_traj = _frank_wolfe_step(problem, gamma, J, G, a_fw, result)
            if accepted:
                gamma, traj, J = cand, cand_traj, cand_traj.objective
                G = _adjoint(problem, gamma, traj)
                result.gradients += 1
                a_fw = accepted
            result.fw_steps.append(accepted)
        record()
    result.gamma, result.trajectory, result.gradient = gamma, traj, G
    result.certified = result.gaps[-1] <= tol * J
    rel = result.gaps[-1] / J
    if result.certified:
        result.message = (f"certified: Frank-Wolfe gap / J = {rel:.3g} <= tol = {tol:.3g} after "
                          f"{result.iterations} iterations")
    elif timed_out:
        result.message = (f"time limit reached ({time_limit:g} s, {result.iterations} iterations): "
                          f"Frank-Wolfe gap / J = {rel:.3g} > tol = {tol:.3g}; the policy is not certified")
    else:
        result.message = (f"iteration cap reached ({max_iterations} iterations): Frank-Wolfe gap / J = "
                          f"{rel:.3g} > tol = {tol:.3g}; the policy is not certified")
    return result


def _median_sim(values: np.ndarray, gamma: np.ndarray) -> float:
    """Median over the steps with >= 2 active examples of the per-step SIM; NaN if there are none.

    (The median, not the mean: one step whose two active contributions happen to be nearly equal has a
    SIM of 1e6 and would dominate a mean.)"""
    sim = active_sim(values, gamma)
    defined = ~np.isnan(sim)
    return float(np.median(sim[defined])) if np.any(defined) else math.nan


def law_statistics(problem: PerceptronProblem, gamma, traj: Trajectory, grad) -> dict:
    r"""How equal the contributions of the active examples are, in the paper's form and the exact one.

    For each step with at least two active examples, the relative spread (:func:`law_spread`) of

    - the paper's contributions ``c_{n,t} = grad L_dsr(theta_t) . grad l_n(theta_t)``
      (:func:`contributions`; Theorem 3.1 of Gu et al. 2024 says they are equal at the optimum), and
    - the costate contributions ``lambda_{t+1} . grad l_n(theta_t) = -(1/eta) dJ/dgamma_{n,t}``
      (KKT: equal at every stationary policy).

    Returns a dict: ``multi_share`` (fraction of steps with >= 2 active examples), and for
    ``paper`` and ``costate``, unweighted and weighted (``*_weighted``), the per-step spreads (lists,
    NaN where fewer than two examples are active) and their ``median_*``.
    """
    problem = _check_problem(problem)
    gamma = _check_policy(problem, gamma)
    traj = _check_trajectory(problem, traj)
    grad = check.real_array("grad", grad, shape=gamma.shape)
    values = {"paper": contributions(problem, traj), "costate": -grad / problem.eta}
    out = {"multi_share": float(np.mean((gamma > 0).sum(axis=1) >= 2))}
    for key, v in values.items():
        for weighted in (False, True):
            name = key + ("_weighted" if weighted else "")
            spread = law_spread(v, gamma, weighted=weighted)
            out[name] = spread.tolist()
            finite = spread[np.isfinite(spread)]
            out["median_" + name] = float(np.median(finite)) if finite.size else math.nan
    return out


def policy_report(problem: PerceptronProblem, result: PolicyResult) -> dict:
    """Everything the chapter reports about an optimised policy, as a JSON-ready dict.

    The uniform policy's J, CR, desired-loss curve and :func:`law_statistics`; the same for
    ``result``'s policy; the optimisation curve (J, CR, gap / J and, if recorded, the median SIM
    statistics after every iteration); :func:`drop_evidence`; :func:`compare_loss_curves` of the two
    desired-loss curves; the number of active examples per step.  Used by the chapter at its default
    size and by ``data/learning_law/compute_paper_size.py`` at the paper's size, so both report the
    same quantities computed by the same code.
    """
    problem = _check_problem(problem)
    if not isinstance(result, PolicyResult):
        raise ValueError(f"result must be a PolicyResult (from optimize_policy), got {check._show(result)}")  # noqa: TRY004
    gamma = _check_policy(problem, result.gamma, "result.gamma")
    uniform = uniform_policy(problem.T, problem.n_train)
    J_u, G_u, traj_u = objective_and_gradient(problem, uniform)
    traj, grad = result.trajectory, result.gradient
    J = traj.objective
    objectives = np.asarray(result.objectives)
    fits = compare_loss_curves(traj_u.desired_losses, traj.desired_losses)
    return {
        "uniform": {"J": J_u, "CR": compression_ratio(J_u, problem.T),
                    "desired_losses": traj_u.desired_losses.tolist(),
                    "law": law_statistics(problem, uniform, traj_u, G_u)},
        "policy": {"J": J, "CR": compression_ratio(J, problem.T), "desired_losses": traj.desired_losses.tolist(),
                   "relative_gap": result.relative_gap, "certified": result.certified,
                   "message": result.message, "iterations": result.iterations,
                   "n_active": (gamma > 0).sum(axis=1).tolist(),
                   "law": law_statistics(problem, gamma, traj, grad)},
        "curve": {"J": objectives.tolist(), "CR": compression_ratio(objectives, problem.T).tolist(),
                  "relative_gap": (np.asarray(result.gaps) / objectives).tolist(),
                  "sim": list(result.sim), "sim_costate": list(result.sim_costate)},
        "evidence": drop_evidence(problem, gamma, traj, traj_u),
        "fits": {key: (list(value) if isinstance(value, tuple) else value) for key, value in fits.items()},
    }


# --------------------------------------------------------------------------- loss-curve fits
def power_law_loss(t, L0, B, beta):
    r"""``L(t) = L0 + (B / t)^beta`` (Gu et al. 2024, the fitted form of the desired-loss curve).

    Evaluated as ``L0 + exp(beta (log B - log t))``, so it does not overflow for large B / t until the
    true value does.  Domain: t > 0 (array), L0 >= 0, B > 0, beta > 0 (finite).  Raises ValueError if
    the value exceeds the largest double.
    """
    t = check.real_array("t", t, low=0, low_open=True, domain="positive reals")
    L0 = check.real("L0", L0, low=0)
    B = check.real("B", B, low=0, low_open=True)
    beta = check.real("beta", beta, low=0, low_open=True)
    exponent = beta * (math.log(B) - np.log(t))
    if np.any(exponent > 709.0):
        raise check.not_representable("power_law_loss", f"(B / t)^beta exceeds 1e308 for t = {float(t.min()):.3g}")
    return L0 + np.exp(exponent)


def fit_loss_curve(t, L, L0_max: float | None = None):
    r"""Fit ``L = L0 + (B/t)^beta`` by least squares on log residuals ``log L_fit - log L``.

    Bounds: ``0 <= L0 <= L0_max`` (default: 0.999 min L, so the power-law part stays positive),
    ``10^-8 <= B <= 10^8 max t`` (fitted as log B), ``0.01 <= beta <= 10``.  Several starts in beta;
    the best is kept.  Returns ``(L0, B, beta)``.

    Domain: ``t`` and ``L`` 1-D arrays of positive finite reals of equal length >= 4; ``L0_max >= 0``.
    """
    t = check.real_array("t", t, ndim=1, low=0, low_open=True, min_size=4, domain="positive reals")
    L = check.real_array("L", L, ndim=1, low=0, low_open=True, min_size=4, domain="positive reals")
    if t.shape != L.shape:
        raise ValueError(f"t and L must have equal lengths, got shapes {t.shape} and {L.shape}")
    hi = 0.999 * float(L.min())
    if L0_max is not None:
        hi = min(check.real("L0_max", L0_max, low=0), hi)
    logL = np.log(L)
    logt = np.log(t)

    def resid(p):
        L0, logB, beta = p
        return np.log(L0 + np.exp(np.minimum(beta * (logB - logt), 700.0))) - logL

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


def compare_loss_curves(loss_conventional, loss_optimal, window: float = 0.1) -> dict:
    r"""Fit ``L = L0 + (B/t)^beta`` to two desired-loss curves and compare them (Gu et al. 2024).

    Both curves are ``L_dsr(theta_t)`` for t = 0..T.  Each is fitted by :func:`fit_loss_curve` over
    ``t in [window T, T]``.  Returns a dict: ``fit_conventional`` and ``fit_optimal`` (``(L0, B, beta)``),
    ``misfit_conventional`` and ``misfit_optimal`` (largest ``|log L_fit - log L|`` in the window),
    ``ar_fit`` (:func:`acceleration_ratio` of the two fits at T) and ``ar_empirical``
    (:func:`empirical_acceleration`, read off the curves).

    Domain: two curves of equal length T + 1 >= 5 of positive finite reals; ``window`` in (0, 1).
    """
    Lc = check.real_array("loss_conventional", loss_conventional, ndim=1, min_size=5, low=0, low_open=True,
                          domain="losses (positive reals)")
    Lo = check.real_array("loss_optimal", loss_optimal, ndim=1, min_size=5, low=0, low_open=True,
                          domain="losses (positive reals)")
    if Lc.shape != Lo.shape:
        raise ValueError(f"loss_conventional and loss_optimal must have equal lengths, got shapes {Lc.shape} "
                         f"and {Lo.shape}")
    window = check.real("window", window, low=0, high=1, low_open=True, high_open=True)
    T = Lc.size - 1
    steps = np.arange(1, T + 1, dtype=float)
    inside = steps >= window * T
    if inside.sum() < 4:
        raise ValueError(f"window must leave at least 4 steps to fit, got window = {window} with T = {T}")
    out = {}
    for key, curve in (("conventional", Lc[1:]), ("optimal", Lo[1:])):
        fit = fit_loss_curve(steps[inside], curve[inside])
        out[f"fit_{key}"] = fit
        resid = np.log(power_law_loss(steps[inside], *fit)) - np.log(curve[inside])
        out[f"misfit_{key}"] = float(np.max(np.abs(resid)))
    out["ar_fit"] = acceleration_ratio(out["fit_conventional"], out["fit_optimal"], T)
    out["ar_empirical"] = empirical_acceleration(Lc, Lo)
    return out


def _check_fit(name: str, fit) -> tuple[float, float, float]:
    arr = check.real_array(name, fit, shape=(3,), domain="(L0, B, beta)")
    L0 = check.real(f"{name}[0] (L0)", arr[0], low=0)
    B = check.real(f"{name}[1] (B)", arr[1], low=0, low_open=True)
    beta = check.real(f"{name}[2] (beta)", arr[2], low=0, low_open=True)
    return L0, B, beta


def acceleration_ratio(fit_conventional, fit_optimal, T) -> float:
    r"""Steps ratio to equal loss from two fitted laws: ``AR(T) = T / t_o``, ``L_o(t_o) = L_c(T)``.

    With ``L_c(T) = L0_c + (B_c/T)^beta_c`` and ``L_o(t) = L0_o + (B_o/t)^beta_o``,
    ``t_o = B_o (L_c(T) - L0_o)^(-1/beta_o)``; for a common L0 this is
    ``AR = T^(1 - beta_c/beta_o) B_c^(beta_c/beta_o) / B_o``.  Returns inf if the target loss is at or
    below the near-optimal law's floor (``L_c(T) <= L0_o``).  Computed in logarithms, with
    ``L_c(T) - L0_o = (L0_c - L0_o) + (B_c/T)^beta_c`` formed without cancellation, so the ratio stays
    finite for T up to 1e308 when the floors are equal; a ratio above 1e308 raises ValueError.

    Domain: each fit a triple ``(L0 >= 0, B > 0, beta > 0)``; T > 0.
    """
    L0c, Bc, bc = _check_fit("fit_conventional", fit_conventional)
    L0o, Bo, bo = _check_fit("fit_optimal", fit_optimal)
    T = check.real("T", T, low=0, low_open=True)
    log_excess_c = bc * (math.log(Bc) - math.log(T))
    if log_excess_c > 709.0:
        raise check.not_representable("the conventional loss L_c(T)")
    # log(L_c(T) - L0_o) = log((L0_c - L0_o) + e^{log_excess_c}), without forming L_c(T): its power-law
    # part may be far below the rounding of L0, or below the smallest double
    delta = L0c - L0o
    if delta == 0:
        log_above = log_excess_c
    elif delta > 0:
        log_delta = math.log(delta)
        log_above = max(log_delta, log_excess_c) + math.log1p(math.exp(-abs(log_delta - log_excess_c)))
    else:
        log_delta = math.log(-delta)
        if log_excess_c <= log_delta:
            return math.inf
        log_above = log_excess_c + math.log1p(-math.exp(log_delta - log_excess_c))
        if not math.isfinite(log_above):
            return math.inf
    log_t_o = math.log(Bo) - log_above / bo
    log_ar = math.log(T) - log_t_o
    if log_ar > 709.0:
        raise check.not_representable("the acceleration ratio")
    return float(math.exp(log_ar))  # may underflow to 0 for ratios below 1e-308


def empirical_acceleration(loss_conventional, loss_optimal) -> float:
    r"""Model-free acceleration: ``T / t*`` with ``t*`` the (interpolated) first step at which the
    near-optimal curve reaches the conventional curve's final loss.

    Both inputs are desired-loss curves ``L(theta_t)``, t = 0..T (same T), non-negative finite reals.  Linear
    interpolation in t between the two steps that bracket the target.  Returns inf if the target is
    reached at t = 0 and nan if it is never reached (the near-optimal curve stays above it).
    """
    Lc = check.real_array("loss_conventional", loss_conventional, ndim=1, min_size=2, low=0,
                          domain="losses (non-negative reals)")
    Lo = check.real_array("loss_optimal", loss_optimal, ndim=1, min_size=2, low=0,
                          domain="losses (non-negative reals)")
    if Lc.shape != Lo.shape:
        raise ValueError(f"loss_conventional and loss_optimal must have equal lengths, got shapes {Lc.shape} "
                         f"and {Lo.shape}")
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
