"""Tests of scalinglaws.surge against independent computations.

Independent means: explicit per-sample Monte Carlo, exact enumeration of the 2^n sign patterns
with probabilities from scipy.stats.norm (not erf), brute-force grid minimisation of the exact
expected loss after one step, the exact second-moment recursion of SGD, finite differences,
limits, and hypothesis property tests.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from scalinglaws import surge

RNG = np.random.default_rng(12345)


def _spd(n, rng, coupling=0.4):
    A = rng.standard_normal((n, n))
    return np.eye(n) + coupling * (A @ A.T) / n


def _random_quadratic(n, seed):
    """A random noisy quadratic: SPD Hessian H, a point theta, per-coordinate noise sigma in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    H = _spd(n, rng)
    return H, rng.standard_normal(n), rng.uniform(0.5, 2, n)


def _enumerate_expected_loss(theta, H, sigma, B, rates):
    """E[L(theta - eps sign(g_B))] by summing over all 2^n sign patterns (n small)."""
    G = H @ theta
    p_plus = norm.sf(0.0, loc=G, scale=sigma / math.sqrt(B))  # P(g_B,i > 0)
    out = np.zeros(len(rates))
    for pattern in itertools.product([-1.0, 1.0], repeat=theta.size):
        V = np.array(pattern)
        prob = np.prod(np.where(V > 0, p_plus, 1.0 - p_plus))
        new = theta[None, :] - np.asarray(rates)[:, None] * V[None, :]
        out += prob * 0.5 * np.einsum("ki,ij,kj->k", new, H, new)
    return out


# ----------------------------------------------------------------------------- mean of the sign
def test_expected_sign_matches_per_sample_monte_carlo():
    mu = np.array([0.3, -0.1, 0.0, 1.0])
    sigma = np.array([1.0, 0.5, 2.0, 3.0])
    B, m = 3, 200_000
    rng = np.random.default_rng(1)
    g = mu + sigma * rng.standard_normal((m, B, mu.size))  # B explicit per-sample gradients
    V = np.sign(g.mean(axis=1))
    est, se = V.mean(axis=0), V.std(axis=0, ddof=1) / math.sqrt(m)
    exact = surge.sign_descent_expected_update(mu, sigma, B)
    assert np.all(np.abs(est - exact) < 4 * se + 1e-12)
    # the variance 1 - E^2 as well
    assert np.allclose(V.var(axis=0), 1 - exact**2, atol=4 * 2 / math.sqrt(m))


def test_expected_sign_broadcasts_over_batch_sizes():
    out = surge.sign_descent_expected_update([1.0, -2.0], 1.0, np.array([[1, 4], [9, 16]]))
    assert out.shape == (2, 2, 2)
    assert np.allclose(out[1, 1], 2 * norm.cdf(np.sqrt(16) * np.array([1.0, -2.0])) - 1)


# ----------------------------------------------------------------------------- one-step optimum
@pytest.mark.parametrize("diagonal", [True, False])
def test_optimal_rate_is_brute_force_argmin_of_enumerated_expected_loss(diagonal):
    rng = np.random.default_rng(7 if diagonal else 8)
    n = 4
    H = np.diag(rng.uniform(0.5, 3, n)) if diagonal else _spd(n, rng, coupling=1.5)
    theta = rng.standard_normal(n)
    sigma = rng.uniform(0.5, 2.0, n)
    for B in [1, 5, 60]:
        eps = float(surge.optimal_rate(H @ theta, sigma, H, B))
        grid = np.linspace(0.0, 3 * eps, 3001)
        loss = _enumerate_expected_loss(theta, H, sigma, B, grid)
        assert abs(grid[np.argmin(loss)] - eps) <= grid[1] - grid[0]
        dec = surge.expected_decrease(H @ theta, sigma, H, B, grid)
        assert np.allclose(0.5 * theta @ H @ theta - loss, dec, rtol=1e-10, atol=1e-12)
        best = float(surge.optimal_decrease(H @ theta, sigma, H, B))
        assert abs(best - (0.5 * theta @ H @ theta - loss.min())) < 1e-6 * max(best, 1e-9)


def test_large_batch_limit_and_small_batch_slope():
    rng = np.random.default_rng(3)
    n = 5
    H = _spd(n, rng, coupling=1.0)
    mu = rng.standard_normal(n)
    sigma = rng.uniform(0.5, 2, n)
    p = surge.surge_parameters(mu, sigma, H)
    s = np.sign(mu)
    assert math.isclose(p.eps_large_batch, np.abs(mu).sum() / (s @ H @ s), rel_tol=1e-12)
    assert math.isclose(float(surge.optimal_rate(mu, sigma, H, 1e14)), p.eps_large_batch, rel_tol=1e-9)
    # as sigma -> infinity (equivalently B -> 0 at fixed B >= 1) the rate -> a sqrt(B) / tr H
    big = 1e6 * sigma
    a = math.sqrt(2 / math.pi) * np.sum(mu**2 / big)
    assert math.isclose(float(surge.optimal_rate(mu, big, H, 4.0)), a * 2 / np.trace(H), rel_tol=1e-6)


def test_diagonal_hessian_has_no_surge():
    rng = np.random.default_rng(4)
    lam = rng.uniform(0.5, 5, 6)
    mu = rng.standard_normal(6)
    p = surge.surge_parameters(mu, 1.0, np.diag(lam))
    assert math.isinf(p.B_noise) and math.isinf(p.eps_max)
    eps = surge.optimal_rate(mu, 1.0, np.diag(lam), np.geomspace(1, 1e6, 50))
    # the exact rate never decreases with B (it saturates at eps_large_batch)
    assert np.all(np.diff(eps) >= -1e-14 * eps[1:]) and eps[-1] > eps[0]
    assert math.isclose(eps[-1], p.eps_large_batch, rel_tol=1e-6)


# ----------------------------------------------------------------------------- closed form
positive = st.floats(0.05, 5.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(0, 10_000), st.floats(1.0, 1e4))
def test_linear_form_equals_closed_form(n, seed, B):
    rng = np.random.default_rng(seed)
    H = np.full((n, n), 0.6) + 0.4 * np.eye(n)  # positive coupling
    mu = rng.uniform(0.1, 2, n)  # same signs: d > 0
    sigma = rng.uniform(0.5, 3, n)
    p = surge.surge_parameters(mu, sigma, H)
    lin = float(surge.optimal_rate(mu, sigma, H, B, erf_form="linear"))
    assert math.isclose(lin, float(surge.approximate_optimal_rate(B, p.B_noise, p.eps_max)), rel_tol=1e-9)
    dl = float(surge.optimal_decrease(mu, sigma, H, B, erf_form="linear"))
    assert math.isclose(dl, p.delta_L_max / (1 + p.B_noise / B), rel_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(1.0, 1e6), st.floats(1.0, 1e6), positive)
def test_surge_curve_peak_and_symmetry(B, Bn, em):
    val = float(surge.approximate_optimal_rate(B, Bn, em))
    assert 0 < val <= em * (1 + 1e-12)
    assert math.isclose(float(surge.approximate_optimal_rate(Bn, Bn, em)), em, rel_tol=1e-12)
    mirror = Bn * Bn / B
    if mirror >= 1:  # symmetric in log B around B_noise
        assert math.isclose(float(surge.approximate_optimal_rate(mirror, Bn, em)), val, rel_tol=1e-9)
    # finite-difference derivative in log B vanishes at the peak
    h = 1e-5
    up = float(surge.approximate_optimal_rate(Bn * math.exp(h), Bn, em))
    if Bn * math.exp(-h) >= 1:
        dn = float(surge.approximate_optimal_rate(Bn * math.exp(-h), Bn, em))
        assert abs(up - dn) / (2 * h) < 1e-6 * em


def test_sigmoid_erf_properties():
    from scipy.special import erf

    h = 1e-6
    assert math.isclose((float(surge.sigmoid_erf(h)) - float(surge.sigmoid_erf(-h))) / (2 * h),
                        2 / math.sqrt(math.pi), rel_tol=1e-8)
    assert math.isclose(float(surge.sigmoid_erf(1e8)), 1.0, rel_tol=1e-12)
    z = np.linspace(-8, 8, 100_001)
    err = np.abs(surge.sigmoid_erf(z) - erf(z))
    assert 0.10 < err.max() < 0.11  # the worst error, near |z| = 1.33
    assert np.allclose(surge.sigmoid_erf(-z), -surge.sigmoid_erf(z))


# ----------------------------------------------------------------------------- simulators
def test_one_step_monte_carlo_agrees_with_exact():
    rng = np.random.default_rng(5)
    n = 6
    H = _spd(n, rng, coupling=1.0)
    theta = rng.standard_normal(n)
    sigma = np.full(n, 2.0)
    B = 8
    rates = np.linspace(0.01, 0.5, 11)
    mc = surge.one_step_monte_carlo(theta, H, sigma, B, rates, samples=60_000, seed=2)
    exact = surge.expected_decrease(H @ theta, sigma, H, B, rates)
    assert np.all(np.abs(mc.mean_decrease - exact) < 4 * mc.se_decrease)
    eps = float(surge.optimal_rate(H @ theta, sigma, H, B))
    assert abs(mc.ratio_estimate - eps) < 4 * mc.ratio_se


def test_one_step_of_simulator_sign_and_sgd():
    H, theta, sigma = _random_quadratic(5, seed=6)
    rates = np.array([0.05, 0.2])
    B, runs = 4, 40_000
    L0 = 0.5 * theta @ H @ theta
    G = H @ theta
    sign = surge.simulate_noisy_quadratic(H, sigma, theta, rates, B, 1, runs, seed=1)[:, :, 1]
    expect = L0 - surge.expected_decrease(G, sigma, H, B, rates)
    se = sign.std(axis=1, ddof=1) / math.sqrt(runs)
    assert np.all(np.abs(sign.mean(axis=1) - expect) < 4 * se)
    sgd = surge.simulate_noisy_quadratic(H, sigma, theta, rates, B, 1, runs, seed=1, optimizer="sgd")[:, :, 1]
    expect = L0 - rates * (G @ G) + 0.5 * rates**2 * (G @ H @ G + np.sum(np.diag(H) * sigma**2) / B)
    se = sgd.std(axis=1, ddof=1) / math.sqrt(runs)
    assert np.all(np.abs(sgd.mean(axis=1) - expect) < 4 * se)


def test_sgd_multi_step_matches_exact_second_moment_recursion():
    H, theta0, sigma = _random_quadratic(4, seed=9)
    n = 4
    eps, B, T, runs = 0.1, 3, 25, 20_000
    L = surge.simulate_noisy_quadratic(H, sigma, theta0, [eps], B, T, runs, seed=3, optimizer="sgd",
                                       common_noise=False)[0]
    A = np.eye(n) - eps * H
    M = np.outer(theta0, theta0)
    for t in range(T):
        M = A @ M @ A.T + eps**2 * np.diag(sigma**2) / B
    exact = 0.5 * np.trace(H @ M)
    se = L[:, -1].std(ddof=1) / math.sqrt(runs)
    assert abs(L[:, -1].mean() - exact) < 4 * se


def test_simulator_record_every_and_common_noise():
    H = np.eye(2)
    out = surge.simulate_noisy_quadratic(H, 1.0, [1.0, -1.0], [0.1, 0.2, 0.3], 2, 10, 3, record_every=5)
    assert out.shape == (3, 3, 3)
    assert np.allclose(out[:, :, 0], 1.0)


# ----------------------------------------------------------------------------- analysis helpers
@given(st.floats(0.5, 0.99), st.floats(1e-6, 0.9))
def test_steps_to_target_on_geometric_curve(q, frac):
    t = np.arange(200)
    L = 3.0 * q**t
    target = 3.0 * frac
    exact = math.log(3.0 / target) / math.log(1 / q)
    S = float(surge.steps_to_target(L, target))
    if exact <= t[-1]:
        assert math.isclose(S, exact, rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert math.isinf(S)


def test_refine_grid_minimum_recovers_vertex():
    rates = np.geomspace(1e-3, 1, 31)
    true = np.array([0.0123, 0.2])
    values = np.exp(2.0 * (np.log(rates)[None, :] - np.log(true)[:, None]) ** 2 + 1.0)
    assert np.allclose(surge.refine_grid_minimum(rates, values), true, rtol=1e-9)
    assert math.isnan(float(surge.refine_grid_minimum(rates, np.full(31, np.inf))))


def test_fits_recover_known_parameters():
    B = 2.0 ** np.arange(0, 13)
    eps = surge.approximate_optimal_rate(B, 37.0, 0.05)
    bn, em = surge.fit_surge_curve(B, eps)
    assert math.isclose(bn, 37.0, rel_tol=1e-6) and math.isclose(em, 0.05, rel_tol=1e-6)
    S = 120.0 * (1 + 37.0 / B)
    bn, smin = surge.fit_steps_examples(S, B * S)
    assert math.isclose(bn, 37.0, rel_tol=1e-9) and math.isclose(smin, 120.0, rel_tol=1e-9)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: surge.sign_descent_expected_update([[1.0]], 1.0, 1), "mu must be"),
        (lambda: surge.sign_descent_expected_update([1.0, 2.0], [1.0, 0.0], 1), "sigma must be > 0"),
        (lambda: surge.sign_descent_expected_update([1.0, 2.0], [1.0, 1.0, 1.0], 1), "sigma must be"),
        (lambda: surge.sign_descent_expected_update([1.0], 1.0, 0.5), "batch_size must be >= 1"),
        (lambda: surge.optimal_rate([1.0, 2.0], 1.0, np.eye(3), 1), "H must be a square"),
        (lambda: surge.optimal_rate([1.0, 2.0], 1.0, [[1, 0.5], [0, 1]], 1), "H must be symmetric"),
        (lambda: surge.optimal_rate([1.0, 2.0], 1.0, [[1, 2], [2, 1]], 1), "H must be positive definite"),
        (lambda: surge.optimal_rate([1.0], 1.0, [[1.0]], 1, erf_form="tanh"), "erf_form"),
        (lambda: surge.approximate_optimal_rate(2, 0.0, 1.0), "B_noise must be > 0"),
        (lambda: surge.approximate_optimal_rate(2, 1.0, -1.0), "eps_max must be > 0"),
        (lambda: surge.simulate_noisy_quadratic(np.eye(2), 1.0, [1.0, 1.0], [0.0], 1, 1, 1), "rates"),
        (lambda: surge.simulate_noisy_quadratic(np.eye(2), 1.0, [1.0, 1.0], [0.1], 1, 1, 1,
                                                optimizer="adam"), "optimizer"),
        (lambda: surge.simulate_noisy_quadratic(np.eye(2), 1.0, [1.0, 1.0], [0.1], 1, -1, 1), "steps"),
        (lambda: surge.one_step_monte_carlo([1.0], [[1.0]], 1.0, 1, [0.1], 1), "samples"),
        (lambda: surge.fit_steps_examples([1.0], [2.0]), "at least 2"),
        (lambda: surge.steps_to_target([1.0, 0.5], 0.0), "target must be > 0"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
