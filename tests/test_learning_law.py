"""Tests of scalinglaws.learning_law against independent computations.

Finite differences for the adjoint gradient, brute-force / KKT checks of the simplex projection,
an explicit loop of plain gradient descent for the uniform policy, dense Hessians for the HVP,
and synthetic curves with known parameters for the fits.
"""

import math

import numpy as np
import pytest
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
        total += np.mean(-problem.yd * np.log(p) - (1 - problem.yd) * np.log(1 - p))
    return total


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


def test_make_problem_is_reproducible():
    a, b = ll.make_problem(8, 10, 4, T=2, seed=7), ll.make_problem(8, 10, 4, T=2, seed=7)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Xd, b.Xd)


@pytest.mark.parametrize("kwargs", [{"dim": 0}, {"n_train": 2.5}, {"eta": 0.0}, {"T": 0},
                                    {"train_variance": -1.0}, {"eta": float("nan")}])
def test_make_problem_rejects_bad_arguments(kwargs):
    base = {"dim": 4, "n_train": 5, "n_desired": 3, "T": 2}
    base.update(kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ll.make_problem(**base)


def test_logistic_loss_matches_direct_formula_and_is_stable():
    z = np.linspace(-20, 20, 81)
    for y in (0.0, 1.0):
        direct = y * np.log1p(np.exp(-z)) + (1 - y) * np.log1p(np.exp(z))  # -log p, -log(1 - p)
        np.testing.assert_allclose(ll.logistic_loss(z, y), direct, rtol=1e-9, atol=1e-12)
    # extreme margins: exp(-800) is not representable, the loss must be ~0 or ~|z|, never inf/nan
    assert ll.logistic_loss(800.0, 1.0) == 0.0
    assert ll.logistic_loss(-800.0, 1.0) == pytest.approx(800.0)
    assert ll.logistic_loss(40.0, 1.0) == pytest.approx(math.exp(-40.0), rel=1e-12)


# ----------------------------------------------------------------------------- projection
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


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 12), elements=st.floats(-10, 10)))
def test_projection_matches_bisection_and_lies_on_simplex(v):
    w = ll.project_to_simplex(v)
    assert np.all(w >= 0)
    assert abs(w.sum() - 1) < 1e-12
    np.testing.assert_allclose(w, _bisection_projection(v), atol=1e-9)
    np.testing.assert_allclose(ll.project_to_simplex(w), w, atol=1e-12)  # idempotent


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


def test_projection_rejects_empty():
    with pytest.raises(ValueError, match="v must"):
        ll.project_to_simplex(np.zeros((3, 0)))


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
    h = 1e-6
    fd = np.empty_like(gamma)
    for t in range(p.T):
        for n in range(p.n_train):
            e = np.zeros_like(gamma)
            e[t, n] = h
            fd[t, n] = (_reference_J(p, gamma + e) - _reference_J(p, gamma - e)) / (2 * h)
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


def test_policy_validation():
    p = _small()
    with pytest.raises(ValueError, match="gamma must have shape"):
        ll.train(p, np.ones((p.T + 1, p.n_train)) / p.n_train)
    bad = ll.uniform_policy(p.T, p.n_train)
    bad[0, 0] += 0.1
    with pytest.raises(ValueError, match="gamma must have non-negative rows"):
        ll.train(p, bad)


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


def test_compression_ratio():
    assert ll.compression_ratio(10 * math.log(2), 10) == pytest.approx(1.0)
    assert ll.compression_ratio(5.0, 10, n_classes=4) == pytest.approx(10 * math.log(4) / 5)
    with pytest.raises(ValueError, match="J must be positive"):
        ll.compression_ratio(0.0, 10)


def test_optimizer_never_increases_J_and_approaches_kkt():
    p = ll.make_problem(dim=4, n_train=6, n_desired=5, eta=0.5, T=5, seed=0)
    res = ll.optimize_policy(p, 300)
    J = np.array(res.objectives)
    assert np.all(np.diff(J) <= 1e-12)
    assert J[-1] < J[0]
    assert res.objectives[-1] == pytest.approx(_reference_J(p, res.gamma), rel=1e-12)
    # first-order optimality on each simplex: projected-gradient fixed point, small residual
    G = res.gradient
    residual = res.gamma - ll.project_to_simplex(res.gamma - G / np.abs(G).max())
    assert np.abs(residual).max() < 1e-3
    # the exact KKT statistic (equal costate contributions among active examples) has grown
    assert res.sim_costate[-1] > res.sim_costate[0]
    # costate SIM by an explicit per-step loop: mean / population std of -dJ/dgamma / eta over the
    # active set, at the final (sparse) policy and at the uniform one (every example active)
    uniform = ll.uniform_policy(p.T, p.n_train)
    for gamma, grad in [(res.gamma, G), (uniform, ll.objective_and_gradient(p, uniform)[1])]:
        sim = ll.costate_sim(p, gamma, grad)
        for t in range(p.T):
            vals = -grad[t, gamma[t] > 0] / p.eta
            if vals.size < 2:
                assert math.isnan(sim[t])
            else:
                assert sim[t] == pytest.approx(np.mean(vals) / np.std(vals), rel=1e-10)


# ----------------------------------------------------------------------------- fits
def test_fit_recovers_known_power_law():
    t = np.arange(20, 2001, dtype=float)
    L = ll.power_law_loss(t, 0.05, 3.0, 0.6)
    L0, B, beta = ll.fit_loss_curve(t, L)
    assert (L0, B, beta) == pytest.approx((0.05, 3.0, 0.6), rel=1e-5)


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


def test_empirical_acceleration_on_rescaled_curve():
    t = np.arange(0, 401, dtype=float)
    Lc = 1.0 / (1.0 + t)
    Lo = 1.0 / (1.0 + 4.0 * t)  # the same curve run four times faster
    assert ll.empirical_acceleration(Lc, Lo) == pytest.approx(4.0, rel=1e-2)
    assert ll.empirical_acceleration(Lc, Lc) == pytest.approx(1.0)
