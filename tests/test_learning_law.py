"""Tests of scalinglaws.learning_law against independent computations.

Finite differences of an explicit per-example loop for the adjoint gradient and for the Frank--Wolfe
certificate; exact rational arithmetic, bisection and KKT conditions for the simplex projection;
mpmath for the losses; an explicit loop of plain gradient descent for the uniform policy; dense
Hessians for the HVP; synthetic curves with known parameters for the fits.
"""

import json
import math
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scalinglaws
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scalinglaws import learning_law as ll
from scipy.optimize import minimize


def _small(T=6, seed=1, eta=0.5):
    return ll.make_problem(dim=5, n_train=8, n_desired=4, eta=eta, T=T, seed=seed)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _reference_J(problem, gamma):
    """J by a plain loop with explicit per-example gradients (no shared code with the module)."""
    theta = problem.theta0.copy()
    total = 0.0
    for t in range(problem.T):
        step = np.zeros_like(theta)
        for n in range(problem.n_train):
            x = problem.X[n]
            step += gamma[t, n] * (_sigmoid(theta @ x) - problem.y[n]) * x
        theta = theta - problem.eta * step
        p = _sigmoid(problem.Xd @ theta)
        yd = problem.yd
        total += np.mean(-yd * np.log(p) - (1 - yd) * np.log(1 - p))
    return total


def _central_difference_gradient(problem, gamma, h=1e-6):
    fd = np.empty_like(gamma)
    for t in range(problem.T):
        for n in range(problem.n_train):
            e = np.zeros_like(gamma)
            e[t, n] = h
            fd[t, n] = (_reference_J(problem, gamma + e) - _reference_J(problem, gamma - e)) / (2 * h)
    return fd


def _with_labels(problem, y):
    return ll.PerceptronProblem(X=problem.X, y=y, Xd=problem.Xd, yd=problem.yd, teacher=problem.teacher,
                                eta=problem.eta, T=problem.T, theta0=problem.theta0)


# ----------------------------------------------------------------------------- data
def test_make_problem_shapes_labels_and_moments():
    p = ll.make_problem(dim=16, n_train=20000, n_desired=20000, T=3, seed=3)
    assert p.X.shape == (20000, 16) and p.Xd.shape == (20000, 16) and p.teacher.shape == (16,)
    np.testing.assert_array_equal(p.y, (p.X @ p.teacher > 0).astype(float))
    np.testing.assert_array_equal(p.yd, (p.Xd @ p.teacher > 0).astype(float))
    # training inputs N(0, 3 I), desired N(0.5, I): sample moments within ~6 standard errors
    se = math.sqrt(3.0 / 20000)
    assert np.max(np.abs(p.X.mean(0))) < 6 * se
    assert np.max(np.abs(p.X.var(0) - 3.0)) < 6 * 3.0 * math.sqrt(2 / 20000)
    assert np.max(np.abs(p.Xd.mean(0) - 0.5)) < 6 * math.sqrt(1 / 20000)
    assert np.max(np.abs(p.Xd.var(0) - 1.0)) < 6 * math.sqrt(2 / 20000)
    np.testing.assert_array_equal(p.theta0, 0.0)


def test_make_problem_is_reproducible_and_read_only():
    a, b = ll.make_problem(8, 10, 4, T=2, seed=7), ll.make_problem(8, 10, 4, T=2, seed=7)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Xd, b.Xd)
    with pytest.raises(ValueError):
        a.X[0, 0] = 1.0  # the problem is immutable: its arrays are read-only


@pytest.mark.parametrize("kwargs", [{"dim": 0}, {"n_train": 2.5}, {"eta": 0.0}, {"T": 0}, {"n_desired": "3"},
                                    {"train_variance": -1.0}, {"eta": float("nan")}, {"seed": -1},
                                    {"desired_shift": float("inf")}, {"dim": True}])
def test_make_problem_rejects_bad_arguments(kwargs):
    base = {"dim": 4, "n_train": 5, "n_desired": 3, "T": 2}
    base.update(kwargs)
    with pytest.raises(ValueError, match=f"^{next(iter(kwargs))} must"):
        ll.make_problem(**base)


def test_make_problem_refuses_sizes_beyond_the_work_limits():
    with pytest.raises(ValueError, match="work_limits"):
        ll.make_problem(dim=10**6, n_train=10**6, n_desired=1, T=1)


@pytest.mark.parametrize("y", [0.3 * np.ones(8), np.full(8, 1.5), np.full(8, -0.1)])
def test_labels_outside_zero_one_are_refused_and_soft_labels_are_exact(y):
    p = _small()
    if np.all((y >= 0) & (y <= 1)):
        # a soft label (cross-entropy with a target probability): the adjoint's curvature term must use
        # sigma = r + y, not |r|; compare with central differences of the explicit loop
        q = _with_labels(p, y)
        rng = np.random.default_rng(0)
        gamma = ll.project_to_simplex(rng.random((q.T, q.n_train)) + 0.3)
        _, G, _ = ll.objective_and_gradient(q, gamma)
        np.testing.assert_allclose(G, _central_difference_gradient(q, gamma), rtol=1e-6,
                                   atol=1e-9 * np.abs(G).max())
    else:
        with pytest.raises(ValueError, match=r"^y must be .*\[0, 1\]"):
            _with_labels(p, y)


def test_problem_none_and_wrong_objects_are_refused_by_name():
    p = _small()
    gamma = ll.uniform_policy(p.T, p.n_train)
    for call in (lambda: ll.train(None, gamma), lambda: ll.objective(None, gamma),
                 lambda: ll.objective_and_gradient("p", gamma), lambda: ll.optimize_policy(None),
                 lambda: ll.gradient_descent(None), lambda: ll.sim_statistic(None, gamma),
                 lambda: ll.costate_sim(None, gamma, gamma), lambda: ll.contributions(None, None),
                 lambda: ll.weighted_hvp(None, np.zeros(5), np.ones(8), np.ones(5))):
        with pytest.raises(ValueError, match="^problem must be a PerceptronProblem"):
            call()
    with pytest.raises(ValueError, match="^traj must be a Trajectory"):
        ll.contributions(p, None)
    traj = ll.train(p, gamma)
    with pytest.raises(ValueError, match="^uniform_traj must be a Trajectory"):
        ll.drop_evidence(p, gamma, traj, "x")


# ----------------------------------------------------------------------------- losses
@settings(max_examples=100, deadline=None)
@given(st.floats(-1e300, 1e300), st.floats(0, 1))
def test_logistic_loss_matches_mpmath_and_is_non_negative(z, y):
    mpmath.mp.dps = 60
    zz, yy = mpmath.mpf(z), mpmath.mpf(y)
    exact = yy * mpmath.log1p(mpmath.exp(-zz)) + (1 - yy) * mpmath.log1p(mpmath.exp(zz))
    value = float(ll.logistic_loss(z, y))
    assert value >= 0
    assert value == pytest.approx(float(exact), rel=1e-12, abs=1e-300)


def test_logistic_loss_audit_cases():
    assert ll.logistic_loss(800.0, 1.0) == 0.0
    assert ll.logistic_loss(-800.0, 1.0) == pytest.approx(800.0)
    assert ll.logistic_loss(40.0, 1.0) == pytest.approx(math.exp(-40.0), rel=1e-12)
    with pytest.raises(ValueError, match=r"^y must be"):
        ll.logistic_loss(0.5, 5)  # was -1.53: a label outside [0, 1] makes the loss unbounded below
    with pytest.raises(ValueError, match="^margin must"):
        ll.logistic_loss(np.nan, 1.0)
    with pytest.raises(ValueError, match="margin and y must broadcast"):
        ll.logistic_loss([1.0, 2.0], [0.0, 1.0, 1.0])


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-3, 1e6), st.floats(0, 10), st.floats(1e-3, 1e3), st.floats(0.01, 5))
def test_power_law_loss_matches_mpmath(t, L0, B, beta):
    mpmath.mp.dps = 40
    exact = mpmath.mpf(L0) + (mpmath.mpf(B) / mpmath.mpf(t)) ** mpmath.mpf(beta)
    assert float(ll.power_law_loss(t, L0, B, beta)) == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize(("kwargs", "name"), [({"beta": -0.5}, "beta"), ({"beta": np.nan}, "beta"),
                                              ({"L0": np.nan}, "L0"), ({"B": 0.0}, "B"), ({"t": [1, -2]}, "t"),
                                              ({"L0": -1.0}, "L0"), ({"B": "2"}, "B")])
def test_power_law_loss_rejects_bad_parameters(kwargs, name):
    args = {"t": [1.0, 2.0], "L0": 0.1, "B": 2.0, "beta": 0.5} | kwargs
    with pytest.raises(ValueError, match=f"^{name} must"):
        ll.power_law_loss(**args)


def test_power_law_loss_overflow_is_refused_not_inf():
    with pytest.raises(ValueError, match="not representable"):
        ll.power_law_loss(1.0, 0.0, 2.0, 1e4)


# ----------------------------------------------------------------------------- projection
def _exact_projection(v):
    """The projection in exact rational arithmetic (Fractions of the float entries): sort, find rho."""
    q = [Fraction(x) for x in v]
    u = sorted(q, reverse=True)
    total, tau = Fraction(0), Fraction(0)
    for j, uj in enumerate(u, start=1):  # tau from the last j (rho) where the condition holds
        total += uj
        if uj - (total - 1) / j > 0:
            tau = (total - 1) / j
    return np.array([float(max(x - tau, 0)) for x in q])


def _bisection_projection(v):
    """Independent projection: find tau with sum max(v - tau, 0) = 1 by bisection."""
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(v - mid, 0).sum() > 1:
            lo = mid
        else:
            hi = mid
    return np.maximum(v - 0.5 * (lo + hi), 0)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 12), elements=st.floats(-10, 10)))
def test_projection_matches_bisection_and_lies_on_simplex(v):
    w = ll.project_to_simplex(v)
    assert np.all(w >= 0)
    assert abs(w.sum() - 1) < 1e-12
    np.testing.assert_allclose(w, _bisection_projection(v), atol=1e-9)
    np.testing.assert_allclose(ll.project_to_simplex(w), w, atol=1e-12)  # idempotent


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 8),
              elements=st.one_of(st.floats(-1e308, 1e308), st.floats(-1e17, 1e17), st.floats(-3, 3))))
def test_projection_of_any_magnitude_matches_exact_arithmetic(v):
    w = ll.project_to_simplex(v)
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    np.testing.assert_allclose(w, _exact_projection(v), atol=1e-12)


def test_projection_audit_cases():
    np.testing.assert_array_equal(ll.project_to_simplex([1e16, 1e16]), [0.5, 0.5])  # was [0, 0]
    np.testing.assert_array_equal(ll.project_to_simplex([1e308, -1e308]), [1.0, 0.0])
    np.testing.assert_allclose(ll.project_to_simplex([[1e16 + 2, 1e16], [3.0, 3.0]]), [[1, 0], [0.5, 0.5]])


def test_projection_matches_constrained_minimisation():
    rng = np.random.default_rng(0)

    def solve(v):
        n = v.size
        return minimize(lambda w: np.sum((w - v) ** 2), np.full(n, 1 / n), jac=lambda w: 2 * (w - v),
                        method="SLSQP", bounds=[(0, None)] * n,
                        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1,
                                      "jac": lambda w: np.ones(n)}],
                        options={"ftol": 1e-14, "maxiter": 500}).x

    for _ in range(20):
        v = rng.normal(0, 2, int(rng.integers(2, 7)))
        np.testing.assert_allclose(ll.project_to_simplex(v), solve(v), atol=1e-6)


def test_projection_kkt_conditions_rowwise():
    rng = np.random.default_rng(1)
    V = rng.normal(0, 1, (50, 9))
    W = ll.project_to_simplex(V)
    for v, w in zip(V, W):
        active = w > 0
        # KKT: v - w = tau on the active set; v <= tau off it
        tau = (v - w)[active]
        assert np.ptp(tau) < 1e-12
        assert np.all(v[~active] <= tau[0] + 1e-12)


@pytest.mark.parametrize("v", [np.zeros((3, 0)), 1.0, [np.nan, 1.0], [np.inf, 0.0], "1", [True, False]])
def test_projection_rejects_bad_input(v):
    with pytest.raises(ValueError, match="^v must"):
        ll.project_to_simplex(v)


# ----------------------------------------------------------------------------- training and gradient
def test_uniform_policy_reproduces_plain_gradient_descent():
    p = ll.make_problem(dim=6, n_train=10, n_desired=5, eta=0.3, T=25, seed=2)
    traj = ll.train(p, ll.uniform_policy(p.T, p.n_train))
    # independent loop: mean-loss gradient descent written out example by example
    theta = np.zeros(p.dim)
    for t in range(p.T):
        g = sum((_sigmoid(theta @ x) - y) * x for x, y in zip(p.X, p.y)) / p.n_train
        theta = theta - p.eta * g
        np.testing.assert_allclose(traj.thetas[t + 1], theta, rtol=1e-12, atol=1e-13)
    thetas, losses = ll.gradient_descent(p)
    np.testing.assert_allclose(thetas, traj.thetas, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(losses, traj.desired_losses, rtol=1e-12)


def test_objective_counts_steps_one_to_T():
    p = _small(T=4)
    rng = np.random.default_rng(5)
    gamma = ll.project_to_simplex(rng.random((p.T, p.n_train)))
    traj = ll.train(p, gamma)
    assert traj.objective == pytest.approx(_reference_J(p, gamma), rel=1e-12)
    assert traj.desired_losses[0] == pytest.approx(math.log(2))  # theta_0 = 0 predicts 1/2 everywhere


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adjoint_gradient_matches_central_differences(seed):
    p = _small(T=6, seed=seed, eta=0.7)
    rng = np.random.default_rng(seed + 10)
    gamma = ll.project_to_simplex(rng.random((p.T, p.n_train)) + 0.3)
    J, G, _ = ll.objective_and_gradient(p, gamma)
    fd = _central_difference_gradient(p, gamma)
    assert J == pytest.approx(_reference_J(p, gamma), rel=1e-12)
    np.testing.assert_allclose(G, fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


def test_adjoint_gradient_directional_derivative_with_many_steps():
    p = ll.make_problem(dim=7, n_train=12, n_desired=6, eta=0.2, T=60, seed=4)
    rng = np.random.default_rng(4)
    gamma = ll.project_to_simplex(rng.random((p.T, p.n_train)) + 0.5)
    _, G, _ = ll.objective_and_gradient(p, gamma)
    d = rng.normal(size=gamma.shape)
    d -= d.mean(axis=1, keepdims=True)  # tangent to the simplices
    h = 1e-5
    fd = (_reference_J(p, gamma + h * d) - _reference_J(p, gamma - h * d)) / (2 * h)
    assert np.sum(G * d) == pytest.approx(fd, rel=1e-6)


def test_weighted_hvp_matches_dense_hessian():
    p = _small()
    rng = np.random.default_rng(3)
    theta, v, w = rng.normal(size=p.dim), rng.normal(size=p.dim), rng.random(p.n_train)
    H = np.zeros((p.dim, p.dim))
    for x, wn in zip(p.X, w):
        s = _sigmoid(theta @ x)
        H += wn * s * (1 - s) * np.outer(x, x)
    np.testing.assert_allclose(ll.weighted_hvp(p, theta, w, v), H @ v, rtol=1e-12)
    with pytest.raises(ValueError, match="^theta must have shape"):
        ll.weighted_hvp(p, np.zeros(p.dim + 1), w, v)


def test_policy_validation():
    p = _small()
    with pytest.raises(ValueError, match="^gamma must have shape"):
        ll.train(p, np.ones((p.T + 1, p.n_train)) / p.n_train)
    bad = ll.uniform_policy(p.T, p.n_train)
    bad[0, 0] += 0.1
    with pytest.raises(ValueError, match="^gamma must have rows that sum to 1"):
        ll.train(p, bad)
    bad = ll.uniform_policy(p.T, p.n_train)
    bad[1, :2] = [-0.1, 0.1 + 2 / p.n_train]
    with pytest.raises(ValueError, match="^gamma must be"):
        ll.train(p, bad)
    nan = ll.uniform_policy(p.T, p.n_train)
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="^gamma must be finite"):
        ll.objective(p, nan)


def test_overflowing_training_is_refused_not_nan():
    base = ll.make_problem(dim=4, n_train=5, n_desired=3, T=3, seed=0)
    p = ll.PerceptronProblem(X=1e200 * base.X, y=base.y, Xd=base.Xd, yd=base.yd, teacher=base.teacher,
                             eta=1e200, T=3, theta0=base.theta0)  # eta * x is about 1e400
    with pytest.raises(ValueError, match="not representable"):
        ll.train(p, ll.uniform_policy(p.T, p.n_train))
    with pytest.raises(ValueError, match="not representable"):
        ll.gradient_descent(p)


# ----------------------------------------------------------------------------- the certificate
def _brute_force_gap(problem, gamma, h=1e-6):
    """The Frank--Wolfe gap from finite differences of the explicit loop, vertex by vertex.

    gap_t = max_n -D_{e_n - gamma_t} J: the steepest first-order decrease from row t towards a vertex,
    each directional derivative by central differences (no use of the adjoint gradient).
    """
    total = 0.0
    for t in range(problem.T):
        best = 0.0
        for n in range(problem.n_train):
            d = np.zeros_like(gamma)
            d[t] = -gamma[t]
            d[t, n] += 1.0
            deriv = (_reference_J(problem, gamma + h * d) - _reference_J(problem, gamma - h * d)) / (2 * h)
            best = max(best, -deriv)
        total += best
    return total


def test_frank_wolfe_gap_matches_finite_differences_at_a_random_policy():
    p = ll.make_problem(dim=3, n_train=4, n_desired=3, eta=0.6, T=3, seed=5)
    rng = np.random.default_rng(5)
    gamma = ll.project_to_simplex(rng.random((p.T, p.n_train)))
    _, G, _ = ll.objective_and_gradient(p, gamma)
    assert ll.frank_wolfe_gap(gamma, G) == pytest.approx(_brute_force_gap(p, gamma), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_optimize_policy_certificate_is_true(seed):
    """The run stops certified, and an independent finite-difference gap confirms the certificate."""
    p = ll.make_problem(dim=3, n_train=4, n_desired=3, eta=0.6, T=3, seed=seed)
    res = ll.optimize_policy(p, tol=1e-6, max_iterations=5000)
    assert res.certified and "certified" in res.message
    J = res.objectives[-1]
    assert J == pytest.approx(_reference_J(p, res.gamma), rel=1e-12)
    brute = _brute_force_gap(p, res.gamma)
    assert brute <= 1e-6 * J + 1e-8  # finite-difference error of the derivatives is ~1e-9
    assert res.gaps[-1] == pytest.approx(brute, abs=1e-8)
    # first-order optimality: towards any feasible policy the slope is >= -gap
    rng = np.random.default_rng(seed)
    for _ in range(5):
        other = ll.project_to_simplex(rng.random(res.gamma.shape) * 3)
        d, h = other - res.gamma, 1e-6
        slope = (_reference_J(p, res.gamma + h * d) - _reference_J(p, res.gamma - h * d)) / (2 * h)
        assert slope >= -res.gaps[-1] - 1e-8


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=st.floats(0, 1)),
       arrays(np.float64, 30, elements=st.floats(-1e6, 1e6)))
def test_frank_wolfe_gap_is_the_largest_vertex_decrease(weights, values):
    gamma = weights + 1e-3
    gamma /= gamma.sum(axis=1, keepdims=True)
    G = np.resize(values, gamma.shape)
    brute = sum(max(float(gamma[t] @ G[t] - G[t, n]) for n in range(G.shape[1])) for t in range(G.shape[0]))
    gaps = ll.frank_wolfe_gap(gamma, G, per_step=True)
    assert np.all(gaps >= 0)
    assert gaps.sum() == pytest.approx(max(brute, 0.0), rel=1e-9, abs=1e-9 * np.abs(G).max())


def test_optimizer_never_increases_J_and_records_the_gap_each_iteration():
    p = ll.make_problem(dim=4, n_train=6, n_desired=5, eta=0.5, T=5, seed=0)
    for method in ll.METHODS:
        res = ll.optimize_policy(p, tol=1e-9, max_iterations=60, method=method, record_sim=True)
        J = np.array(res.objectives)
        assert np.all(np.diff(J) <= 1e-12) and J[-1] < J[0]
        assert len(res.gaps) == len(res.objectives) == res.iterations + 1 == len(res.sim) == len(res.seconds)
        assert res.objectives[-1] == pytest.approx(_reference_J(p, res.gamma), rel=1e-12)
        _, G, _ = ll.objective_and_gradient(p, res.gamma)
        np.testing.assert_array_equal(G, res.gradient)
        assert res.gaps[-1] == ll.frank_wolfe_gap(res.gamma, G)
        if not res.certified:
            assert res.iterations == 60 and "not certified" in res.message


def test_optimizer_costate_sim_matches_an_explicit_loop():
    p = ll.make_problem(dim=4, n_train=6, n_desired=5, eta=0.5, T=5, seed=0)
    res = ll.optimize_policy(p, tol=1e-4, max_iterations=300)
    uniform = ll.uniform_policy(p.T, p.n_train)
    for gamma, grad in [(res.gamma, res.gradient), (uniform, ll.objective_and_gradient(p, uniform)[1])]:
        sim = ll.costate_sim(p, gamma, grad)
        for t in range(p.T):
            vals = -grad[t, gamma[t] > 0] / p.eta
            if vals.size < 2:
                assert math.isnan(sim[t])
            else:
                assert sim[t] == pytest.approx(np.mean(vals) / np.std(vals), rel=1e-10)


def test_huge_initial_step_is_handled():
    """step=1e30 used to crash inside train (the projection left the simplex); now it backtracks."""
    p = ll.make_problem(dim=4, n_train=6, n_desired=5, eta=0.5, T=5, seed=0)
    res = ll.optimize_policy(p, tol=1e-9, max_iterations=3, step=1e30, method="projected")
    assert np.all(np.diff(res.objectives) <= 0) and res.objectives[-1] < res.objectives[0]


@pytest.mark.parametrize(("kwargs", "name"), [({"tol": 0.0}, "tol"), ({"tol": 2.0}, "tol"), ({"tol": np.nan}, "tol"),
                                              ({"max_iterations": -1}, "max_iterations"),
                                              ({"max_iterations": 2.5}, "max_iterations"),
                                              ({"method": "newton"}, "method"), ({"step": 0.0}, "step"),
                                              ({"step": np.inf}, "step"), ({"growth": 0.5}, "growth"),
                                              ({"record_sim": 1}, "record_sim"), ({"gamma0": np.ones((2, 2))}, "gamma0")])
def test_optimize_policy_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must"):
        ll.optimize_policy(_small(), **kwargs)


def test_optimize_policy_caps_requested_work():
    p = ll.make_problem(dim=128, n_train=4096, n_desired=512, T=2000, seed=0)
    with pytest.raises(ValueError, match="work_limits"):
        ll.optimize_policy(p, max_iterations=100)


# ----------------------------------------------------------------------------- diagnostics
def test_contributions_match_explicit_dot_products():
    p = _small()
    rng = np.random.default_rng(8)
    gamma = ll.project_to_simplex(rng.random((p.T, p.n_train)))
    traj = ll.train(p, gamma)
    c = ll.contributions(p, traj)
    for t in range(p.T):
        th = traj.thetas[t]
        gd = sum((_sigmoid(th @ z) - y) * z for z, y in zip(p.Xd, p.yd)) / p.n_desired
        for n in range(p.n_train):
            gn = (_sigmoid(th @ p.X[n]) - p.y[n]) * p.X[n]
            assert c[t, n] == pytest.approx(gd @ gn, rel=1e-10, abs=1e-14)


def test_active_sim_uses_only_active_examples():
    values = np.array([[1.0, 3.0, 100.0], [2.0, 2.0, 5.0], [1.0, 0.0, 0.0]])
    gamma = np.array([[0.5, 0.5, 0.0], [0.3, 0.7, 0.0], [1.0, 0.0, 0.0]])
    sim = ll.active_sim(values, gamma)
    assert sim[0] == pytest.approx(2.0 / 1.0)  # mean 2, population std 1
    assert sim[1] == math.inf  # equal contributions: the Learning Law holds exactly
    assert math.isnan(sim[2])  # one active example: undefined
    with pytest.raises(ValueError, match="^min_active must"):
        ll.active_sim(values, gamma, min_active=1)
    with pytest.raises(ValueError, match="^values and gamma must have one shape"):
        ll.active_sim(values, gamma[:2])


def test_compression_ratio():
    assert ll.compression_ratio(10 * math.log(2), 10) == pytest.approx(1.0)
    assert ll.compression_ratio(5.0, 10, n_classes=4) == pytest.approx(10 * math.log(4) / 5)
    np.testing.assert_allclose(ll.compression_ratio([5.0, 10.0], 10), [2 * math.log(2), math.log(2)])
    for bad, name in [((0.0, 10), "J"), ((np.nan, 10), "J"), ((1.0, 0), "T"), ((1.0, 10, 1), "n_classes")]:
        with pytest.raises(ValueError, match=f"^{name} must"):
            ll.compression_ratio(*bad)


# ----------------------------------------------------------------------------- fits
def test_fit_recovers_known_power_law():
    t = np.arange(20, 2001, dtype=float)
    L = ll.power_law_loss(t, 0.05, 3.0, 0.6)
    L0, B, beta = ll.fit_loss_curve(t, L)
    assert (L0, B, beta) == pytest.approx((0.05, 3.0, 0.6), rel=1e-5)
    with pytest.raises(ValueError, match="^L must"):
        ll.fit_loss_curve(t, -L)
    with pytest.raises(ValueError, match="^t and L must have equal lengths"):
        ll.fit_loss_curve(t[:-1], L)


def test_acceleration_ratio_matches_direct_root_finding():
    fc, fo = (0.02, 2.0, 0.4), (0.02, 0.5, 0.5)
    T = 1000.0
    target = ll.power_law_loss(T, *fc)
    # solve L_o(t) = target by bisection in log t
    lo, hi = 1e-6, 1e9
    for _ in range(300):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if ll.power_law_loss(mid, *fo) > target else (lo, mid)
    assert ll.acceleration_ratio(fc, fo, T) == pytest.approx(T / lo, rel=1e-9)
    # common L0: the closed form T^(1 - bc/bo) Bc^(bc/bo) / Bo
    assert ll.acceleration_ratio(fc, fo, T) == pytest.approx(T ** (1 - 0.8) * 2.0 ** 0.8 / 0.5, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(1.0, 1e300), st.floats(0.05, 3), st.floats(0.05, 3))
def test_acceleration_ratio_with_a_common_floor_matches_the_closed_form_for_any_T(T, bc, bo):
    fc, fo = (0.5, 2.0, bc), (0.5, 1.0, bo)
    log_ar = (1 - bc / bo) * math.log(T) + (bc / bo) * math.log(2.0) - math.log(1.0)
    if log_ar > 700:
        with pytest.raises(ValueError, match="not representable"):
            ll.acceleration_ratio(fc, fo, T)
    else:
        assert ll.acceleration_ratio(fc, fo, T) == pytest.approx(math.exp(log_ar), rel=1e-9, abs=1e-300)


def test_empirical_acceleration_on_rescaled_curve():
    t = np.arange(0, 401, dtype=float)
    Lc = 1.0 / (1.0 + t)
    Lo = 1.0 / (1.0 + 4.0 * t)  # the same curve run four times faster
    assert ll.empirical_acceleration(Lc, Lo) == pytest.approx(4.0, rel=1e-12)   # exact: hit at t = 100
    assert ll.empirical_acceleration(Lc, Lc) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="^loss_conventional must"):
        ll.empirical_acceleration(-Lc, Lo)
    with pytest.raises(ValueError, match="^loss_conventional and loss_optimal must have equal lengths"):
        ll.empirical_acceleration(Lc[:-1], Lo)


# ----------------------------------------------------------------------------- rejection of bad input
_P = _small()
_U = ll.uniform_policy(_P.T, _P.n_train)
_BAD_SCALARS = [np.nan, np.inf, "0.5", None, True]
_CALLS = {
    "uniform_policy.T": lambda x: ll.uniform_policy(x, 3),
    "uniform_policy.n_train": lambda x: ll.uniform_policy(3, x),
    "make_problem.eta": lambda x: ll.make_problem(3, 4, 2, eta=x, T=2),
    "make_problem.seed": lambda x: ll.make_problem(3, 4, 2, T=2, seed=x),
    "compression_ratio.J": lambda x: ll.compression_ratio(x, 10),
    "power_law_loss.beta": lambda x: ll.power_law_loss(1.0, 0.1, 1.0, x),
    "acceleration_ratio.T": lambda x: ll.acceleration_ratio((0.1, 1, 0.5), (0.1, 1, 0.6), x),
    "optimize_policy.tol": lambda x: ll.optimize_policy(_P, tol=x, max_iterations=1),
    "frank_wolfe_gap.grad": lambda x: ll.frank_wolfe_gap(_U, np.full(_U.shape, x, dtype=object)),
}


@pytest.mark.parametrize("bad", _BAD_SCALARS, ids=repr)
@pytest.mark.parametrize("key", sorted(_CALLS))
def test_public_functions_reject_nan_inf_strings_none_and_booleans_by_name(key, bad):
    name = key.split(".")[1]
    with pytest.raises(ValueError, match=f"^{name} must"):
        _CALLS[key](bad)


def test_work_limits_can_be_lifted_deliberately():
    p = ll.make_problem(8, 64, 8, T=200)
    with scalinglaws.work_limits(operations=1e5), pytest.raises(ValueError, match="learning_law.train"):
        ll.train(p, ll.uniform_policy(200, 64))


@settings(max_examples=100, deadline=None)
@given(st.floats(1.0, 1e12), st.floats(0, 0.5), st.floats(0, 0.5), st.floats(0.1, 10), st.floats(0.1, 10),
       st.floats(0.05, 2), st.floats(0.05, 2))
def test_acceleration_ratio_matches_mpmath_for_different_floors(T, L0c, L0o, Bc, Bo, bc, bo):
    mpmath.mp.dps = 50
    target = mpmath.mpf(L0c) + (mpmath.mpf(Bc) / mpmath.mpf(T)) ** mpmath.mpf(bc)
    value = ll.acceleration_ratio((L0c, Bc, bc), (L0o, Bo, bo), T)
    if target <= L0o:
        assert value == math.inf
    else:
        t_o = mpmath.mpf(Bo) * (target - mpmath.mpf(L0o)) ** (-1 / mpmath.mpf(bo))
        exact = mpmath.mpf(T) / t_o
        if exact > 1e308:
            return  # refused as not representable, checked elsewhere
        assert value == pytest.approx(float(exact), rel=1e-7, abs=1e-300)


# ----------------------------------------------------------------------------- the law and the evidence
def test_law_spread_matches_explicit_loops():
    rng = np.random.default_rng(2)
    values = rng.normal(1.0, 0.5, (6, 5))
    gamma = ll.project_to_simplex(rng.normal(0, 1, (6, 5)) * 2)
    gamma[0] = [1, 0, 0, 0, 0]
    for weighted in (False, True):
        spread = ll.law_spread(values, gamma, weighted=weighted)
        for t in range(6):
            on = gamma[t] > 0
            if on.sum() < 2:
                assert math.isnan(spread[t])
                continue
            w = gamma[t, on] / gamma[t, on].sum() if weighted else np.full(on.sum(), 1 / on.sum())
            mean = np.sum(w * values[t, on])
            std = math.sqrt(np.sum(w * (values[t, on] - mean) ** 2))
            assert spread[t] == pytest.approx(std / abs(mean), rel=1e-12)
    assert ll.law_spread(np.ones((2, 3)), np.full((2, 3), 1 / 3))[0] == 0.0  # equal: the law holds exactly


def test_drop_evidence_matches_explicit_loops():
    p = ll.make_problem(dim=4, n_train=12, n_desired=6, eta=0.5, T=40, seed=3)
    res = ll.optimize_policy(p, tol=1e-3, max_iterations=400)
    uniform = ll.train(p, ll.uniform_policy(p.T, p.n_train))
    ev = ll.drop_evidence(p, res.gamma, res.trajectory, uniform)
    g, th = res.gamma, res.trajectory.thetas
    c = np.array([[(_sigmoid(th[t] @ p.X[n]) - p.y[n]) * (p.X[n] @ res.trajectory.desired_grads[t])
                   for n in range(p.n_train)] for t in range(p.T)])
    m = np.array([[(2 * p.y[n] - 1) * (th[t] @ p.X[n]) for n in range(p.n_train)] for t in range(p.T)])
    np.testing.assert_allclose(ll.margins(p, res.trajectory), m, rtol=1e-12, atol=1e-12)
    assert ev["w_neg_policy"] == pytest.approx(np.mean([sum(g[t, n] for n in range(p.n_train) if c[t, n] < 0)
                                                        for t in (1,)]))
    assert ev["single_example_share"] == pytest.approx(np.mean([(g[t] > 0).sum() == 1 for t in range(p.T)]))
    assert ev["examples_used"] == sum(any(g[t, n] > 0 for t in range(p.T)) for n in range(p.n_train))
    assert ev["greedy_share"] == pytest.approx(np.mean([np.argmax(g[t]) == np.argmax(c[t]) for t in range(p.T)]))
    # the learned threshold: loss below 1e-3 exactly
    sel = [t for t in range(1, p.T) if (g[t] > 0).sum() < p.n_train / 2]
    learned = [[float(ll.logistic_loss(m[t, n], 1.0)) < 1e-3 for n in range(p.n_train)] for t in sel]
    assert ev["learned_count_share"] == pytest.approx(np.mean(learned))
    # at a certified policy the largest weight sits on a smallest-gradient example in most steps
    assert ev["costate_share"] > 0.9


def test_compare_loss_curves_recovers_a_known_acceleration():
    t = np.arange(0, 801, dtype=float)
    Lc = ll.power_law_loss(np.maximum(t, 1), 0.0, 2.0, 0.5)
    Lo = ll.power_law_loss(np.maximum(t, 1) * 4.0, 0.0, 2.0, 0.5)  # the same law, four times faster
    out = ll.compare_loss_curves(Lc, Lo)
    assert out["ar_fit"] == pytest.approx(4.0, rel=1e-12)
    assert out["ar_empirical"] == pytest.approx(4.0, rel=1e-12)
    assert out["misfit_conventional"] < 1e-8
    with pytest.raises(ValueError, match="^window must"):
        ll.compare_loss_curves(Lc, Lo, window=1.0)


def test_policy_report_is_consistent_and_json_ready():
    import json

    p = ll.make_problem(dim=4, n_train=10, n_desired=5, eta=0.5, T=30, seed=1)
    res = ll.optimize_policy(p, tol=1e-3, max_iterations=300, record_sim=True)
    rep = ll.policy_report(p, res)
    back = json.loads(json.dumps(rep))
    assert back["policy"]["J"] == pytest.approx(_reference_J(p, res.gamma), rel=1e-12)
    assert back["uniform"]["J"] == pytest.approx(_reference_J(p, ll.uniform_policy(p.T, p.n_train)), rel=1e-12)
    assert back["policy"]["CR"] == pytest.approx(p.T * math.log(2) / back["policy"]["J"])
    assert back["curve"]["relative_gap"][-1] == pytest.approx(res.relative_gap)
    assert back["policy"]["certified"] == res.certified
    assert len(back["policy"]["law"]["costate"]) == p.T
    # the law statistics of the final policy, by an explicit loop over steps
    law = back["policy"]["law"]
    q = -res.gradient / p.eta
    for t in range(p.T):
        on = res.gamma[t] > 0
        if on.sum() >= 2:
            assert law["costate"][t] == pytest.approx(np.std(q[t, on]) / abs(np.mean(q[t, on])), rel=1e-10)
        else:
            assert math.isnan(law["costate"][t])
    with pytest.raises(ValueError, match="^result must be a PolicyResult"):
        ll.policy_report(p, None)


def test_code_version_ignores_documentation_and_sees_code():
    base = 'def f(x):\n    """Doc."""\n    return x + 1  # one\n'
    assert ll._code_hash(base) == ll._code_hash('def f(x):\n    """Other doc."""\n\n    return x + 1  # two\n')
    assert ll._code_hash(base) != ll._code_hash('def f(x):\n    """Doc."""\n    return x + 2\n')
    assert len(ll.code_version()) == 64


def test_stored_paper_size_results_belong_to_this_code():
    # data/learning_law/paper_size.json is loaded by the chapter; a change to what learning_law.py
    # computes must come with `make learning-law-paper`, which rewrites it
    stored = json.loads((Path(__file__).resolve().parents[1] / "data" / "learning_law" / "paper_size.json")
                        .read_text(encoding="utf-8"))
    assert stored["code"]["learning_law_code_version"] == ll.code_version(), (
        "learning_law.py computes something else than when data/learning_law/paper_size.json was written: "
        "run `make learning-law-paper`")
