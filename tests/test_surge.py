"""Tests of scalinglaws.surge against independent computations.

Independent means: explicit per-sample Monte Carlo, exact enumeration of the 2^n sign patterns
with probabilities from scipy.stats.norm (not erf), brute-force grid minimisation of the exact
expected loss after one step, the exact second-moment recursion of SGD, a literal loop
implementation of Adam's Algorithm 1, mpmath at 50 digits for every closed form (over the whole
range of doubles, scales included), limits, and hypothesis property tests.
"""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import scalinglaws
from scalinglaws import surge

TINY, HUGE = np.finfo(float).tiny, np.finfo(float).max


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


# ----------------------------------------------------------------------------- mpmath references
def _mp_moments(mu, sigma, H, B, form="exact"):
    """G.E[V] and E[V^T H V] at 50 digits, straight from the definitions (no scaling tricks)."""
    with mp.workdps(50):
        E = []
        for m, s in zip(mu, sigma):
            zz = mp.sqrt(mp.mpf(B) / 2) * mp.mpf(m) / mp.mpf(s)
            if form == "exact":
                E.append(mp.erf(zz))
            elif form == "sigmoid":
                E.append(zz / mp.sqrt(mp.pi / 4 + zz * zz))
            else:
                E.append(2 * zz / mp.sqrt(mp.pi))
        n = len(mu)
        first = mp.fsum(mp.mpf(m) * e for m, e in zip(mu, E))
        second = mp.fsum(mp.mpf(H[i][i]) for i in range(n)) + mp.fsum(
            mp.mpf(H[i][j]) * E[i] * E[j] for i in range(n) for j in range(n) if i != j)
        return first, second


def _close_or_refused(call, exact, rtol=1e-9):
    """``call()`` equals the mpmath value ``exact`` if it is a normal double, else raises 'not representable'."""
    magnitude = abs(mp.mpf(exact))
    if magnitude == 0:
        assert call() == 0
    elif mp.mpf(TINY) <= magnitude <= mp.mpf(HUGE) * (1 - mp.mpf(1e-12)):
        got = float(call())
        assert math.isfinite(got)
        assert abs(got - float(exact)) <= rtol * float(magnitude), (got, exact)
    elif magnitude > mp.mpf(HUGE) * (1 + mp.mpf(1e-12)) or magnitude < mp.mpf(2) ** -1075:
        with pytest.raises(ValueError, match="not representable"):
            call()
    # subnormal or at the very edge: either a value or a refusal is acceptable


# a base problem with O(1) entries, and power-of-two scales for mu, sigma and H over the whole range
problems = st.tuples(st.integers(1, 5), st.integers(0, 10**6), st.integers(-1000, 1000),
                     st.integers(-1000, 1000), st.integers(-1000, 1000))


def _scaled_problem(n, seed, a, b, c):
    rng = np.random.default_rng(seed)
    H = _spd(n, rng, coupling=1.0)
    mu = rng.standard_normal(n)
    mu[rng.random(n) < 0.15] = 0.0
    sigma = rng.uniform(0.3, 3.0, n)
    return np.ldexp(mu, a), np.ldexp(sigma, b), np.ldexp(H, c)


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


def test_expected_sign_at_extreme_signal_to_noise():
    # |mu|/sigma beyond the doubles saturates the sign; a tiny one stays linear (erf(z) ~ 2z/sqrt(pi))
    assert np.all(surge.sign_descent_expected_update([1e300, -1e300], 1e-300, 1e300) == [1.0, -1.0])
    tiny = surge.sign_descent_expected_update([1e-200], 1e100, 2.0)
    assert math.isclose(float(tiny[0]), 2e-300 / math.sqrt(math.pi), rel_tol=1e-12)


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


@settings(max_examples=80, deadline=None)
@given(problems, st.floats(1.0, 1e15), st.sampled_from(["exact", "sigmoid"]))
def test_optimal_rate_and_decrease_match_mpmath_over_all_scales(problem, B, form):
    mu, sigma, H = _scaled_problem(*problem)
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma)) and np.all(np.isfinite(H))
            and np.all(sigma > 0) and np.all(np.diag(H) > 0)):
        return  # the scaled problem left the doubles (or underflowed): not a valid input
    first, second = _mp_moments(mu, sigma, H, B, form)
    with mp.workdps(50):
        _close_or_refused(lambda: surge.optimal_rate(mu, sigma, H, B, form), first / second)
        _close_or_refused(lambda: surge.optimal_decrease(mu, sigma, H, B, form), first**2 / (2 * second))
        rate = 0.7 * first / second if first != 0 else mp.mpf(1)
        if TINY < abs(rate) < HUGE:
            r = float(rate)
            exact = r * first - mp.mpf(r) ** 2 * second / 2
            _close_or_refused(lambda: surge.expected_decrease(mu, sigma, H, B, r, form), exact, rtol=1e-8)


def test_audit_cases_are_fixed():
    # each returned a wrong value before: 0 for 1, inf for 1, "no peak"
    assert float(surge.sigmoid_erf(1e160)) == 1.0 and float(surge.sigmoid_erf(-1e308)) == -1.0
    assert math.isclose(float(surge.approximate_optimal_rate(1e200, 1e200, 1)), 1.0, rel_tol=1e-15)
    H = np.array([[2.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.5]])
    # mu = 1e155 has a peak; its Delta L_max ~ mu^2 = 1e310 does not fit in a double: said so, not "no peak"
    with pytest.raises(ValueError, match="delta_L_max is not representable"):
        surge.surge_parameters([1e155] * 3, 1, H)
    p_big = surge.surge_parameters([1e150] * 3, 1e150, H)
    p_one = surge.surge_parameters([1.0] * 3, 1.0, H)   # the same signal-to-noise ratio
    assert math.isclose(p_big.B_noise, p_one.B_noise, rel_tol=1e-12)
    assert math.isclose(p_big.eps_max, 1e150 * p_one.eps_max, rel_tol=1e-12)
    assert math.isclose(p_big.delta_L_max, 1e300 * p_one.delta_L_max, rel_tol=1e-12)


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


@settings(max_examples=80, deadline=None)
@given(problems)
def test_surge_parameters_match_mpmath_over_all_scales(problem):
    mu, sigma, H = _scaled_problem(*problem)
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma)) and np.all(np.isfinite(H))
            and np.all(sigma > 0) and np.all(np.diag(H) > 0)):
        return
    n = mu.size
    with mp.workdps(50):
        r = [mp.mpf(m) / mp.mpf(s) for m, s in zip(mu, sigma)]
        a = mp.sqrt(2 / mp.pi) * mp.fsum(mp.mpf(m) * ri for m, ri in zip(mu, r))
        c = mp.fsum(mp.mpf(H[i, i]) for i in range(n))
        d = 2 / mp.pi * mp.fsum(mp.mpf(H[i, j]) * r[i] * r[j] for i in range(n) for j in range(n) if i != j)
        s = [mp.sign(mp.mpf(m)) for m in mu]
        eps_inf = mp.fsum(abs(mp.mpf(m)) for m in mu) / (c + mp.fsum(
            mp.mpf(H[i, j]) * s[i] * s[j] for i in range(n) for j in range(n) if i != j))
        try:
            p = surge.surge_parameters(mu, sigma, H)
        except ValueError as err:
            assert "not representable" in str(err)
            candidates = [eps_inf] + ([c / d, a / (2 * mp.sqrt(c * d)), a * a / (2 * d)] if d > 0 and a > 0 else [])
            assert any(not (TINY <= abs(v) <= HUGE) for v in candidates if v != 0)
            return
        _close_or_refused(lambda: p.eps_large_batch, eps_inf)
        if d > 0 and a > 0 and abs(d) > mp.mpf(10) ** -12 * c * max(abs(x) for x in r) ** 2:
            # d is a sum of terms of both signs: its relative error in doubles is about the unit
            # roundoff times the cancellation sum|terms| / |d|, and the three results inherit it
            cancel = float(2 / mp.pi * mp.fsum(abs(mp.mpf(H[i, j]) * r[i] * r[j])
                                               for i in range(n) for j in range(n) if i != j) / d)
            rtol = max(1e-12, 1e-13 * cancel)
            _close_or_refused(lambda: p.B_noise, c / d, rtol=rtol)
            _close_or_refused(lambda: p.eps_max, a / (2 * mp.sqrt(c * d)), rtol=rtol)
            _close_or_refused(lambda: p.delta_L_max, a * a / (2 * d), rtol=rtol)
        elif d <= 0 or a == 0:
            assert math.isinf(p.B_noise) and math.isinf(p.eps_max) and math.isinf(p.delta_L_max)


@settings(max_examples=100, deadline=None)
@given(st.floats(1.0, HUGE), st.floats(5e-324, HUGE), st.floats(5e-324, HUGE))
def test_surge_curve_matches_mpmath_over_all_doubles(B, Bn, em):
    with mp.workdps(50):
        exact = 2 * mp.mpf(em) * mp.sqrt(mp.mpf(B) * mp.mpf(Bn)) / (mp.mpf(B) + mp.mpf(Bn))
        _close_or_refused(lambda: surge.approximate_optimal_rate(B, Bn, em), exact, rtol=1e-12)


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


@settings(max_examples=100, deadline=None)
@given(st.floats(-HUGE, HUGE))
def test_sigmoid_erf_matches_mpmath_over_all_doubles(zv):
    with mp.workdps(50):
        exact = mp.mpf(zv) / mp.sqrt(mp.pi / 4 + mp.mpf(zv) ** 2)
    assert abs(float(surge.sigmoid_erf(zv)) - float(exact)) <= 1e-15 * abs(float(exact)) + 1e-320


def test_sigmoid_erf_properties():
    from scipy.special import erf

    h = 1e-6
    assert math.isclose((float(surge.sigmoid_erf(h)) - float(surge.sigmoid_erf(-h))) / (2 * h),
                        2 / math.sqrt(math.pi), rel_tol=1e-8)
    assert math.isclose(float(surge.sigmoid_erf(1e8)), 1.0, rel_tol=1e-12)
    zv = np.linspace(-8, 8, 100_001)
    err = np.abs(surge.sigmoid_erf(zv) - erf(zv))
    assert 0.10 < err.max() < 0.11  # the worst error, near |z| = 1.33
    assert np.allclose(surge.sigmoid_erf(-zv), -surge.sigmoid_erf(zv))


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


def test_one_step_monte_carlo_is_scale_invariant():
    # scaling H by 2**k scales the decreases by 2**k (same random signs): no overflow at 1e300
    rng = np.random.default_rng(11)
    H = _spd(3, rng, coupling=1.0)
    theta = rng.standard_normal(3)
    rates = np.array([0.1, 0.3])
    base = surge.one_step_monte_carlo(theta, H, 1.0, 4, rates, 2000, seed=3)
    big = surge.one_step_monte_carlo(theta, np.ldexp(H, 990), np.ldexp(1.0, 990), 4, rates, 2000, seed=3)
    assert np.allclose(big.mean_decrease, np.ldexp(base.mean_decrease, 990), rtol=1e-9)
    assert math.isclose(big.ratio_estimate, base.ratio_estimate, rel_tol=1e-9)


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
    for _ in range(T):
        M = A @ M @ A.T + eps**2 * np.diag(sigma**2) / B
    exact = 0.5 * np.trace(H @ M)
    se = L[:, -1].std(ddof=1) / math.sqrt(runs)
    assert abs(L[:, -1].mean() - exact) < 4 * se


def _adam_reference(H, sigma, theta0, rate, B, steps, runs, seed, beta1=0.9, beta2=0.999, eps=1e-8):
    """Kingma & Ba's Algorithm 1, run by run, with the simulator's noise draws (common noise)."""
    rng = np.random.default_rng(seed)
    noise = [rng.standard_normal((runs, theta0.size)) for _ in range(steps)]
    losses = np.empty((runs, steps + 1))
    for r in range(runs):
        theta, m, v = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
        losses[r, 0] = 0.5 * theta @ H @ theta
        for t in range(1, steps + 1):
            g = H @ theta + sigma * noise[t - 1][r] / math.sqrt(B)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            m_hat = m / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)
            theta = theta - rate * m_hat / (np.sqrt(v_hat) + eps)
            losses[r, t] = 0.5 * theta @ H @ theta
    return losses


def test_adam_matches_a_literal_implementation_of_algorithm_1():
    H, theta0, sigma = _random_quadratic(4, seed=12)
    rates = [0.01, 0.1]
    out = surge.simulate_noisy_quadratic(H, sigma, theta0, rates, 8, 40, 3, seed=5, optimizer="adam")
    for k, rate in enumerate(rates):
        ref = _adam_reference(H, sigma, theta0, rate, 8, 40, 3, seed=5)
        assert np.allclose(out[k], ref, rtol=1e-11, atol=0)


def test_adam_without_averaging_is_sign_descent():
    H, theta0, sigma = _random_quadratic(5, seed=13)
    args = (H, sigma, theta0, [0.02, 0.05], 4, 30, 6)
    sign = surge.simulate_noisy_quadratic(*args, seed=2, optimizer="sign")
    adam = surge.simulate_noisy_quadratic(*args, seed=2, optimizer="adam", beta1=0.0, beta2=0.0, adam_eps=0.0)
    assert np.allclose(adam, sign, rtol=1e-13)


def test_simulator_record_every_and_common_noise():
    H = np.eye(2)
    out = surge.simulate_noisy_quadratic(H, 1.0, [1.0, -1.0], [0.1, 0.2, 0.3], 2, 10, 3, record_every=5)
    assert out.shape == (3, 3, 3)
    assert np.allclose(out[:, :, 0], 1.0)


def test_diverged_sgd_run_has_infinite_loss_and_no_target_step():
    H = np.diag([1.0, 100.0])
    out = surge.simulate_noisy_quadratic(H, 1.0, [1.0, 1.0], [0.5], 1, 400, 2, optimizer="sgd")
    assert np.all(np.isinf(out[0, :, -1])) and not np.any(np.isnan(out))
    assert np.all(np.isinf(surge.steps_to_target(out[0], 1e-3)))


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


def test_steps_to_target_with_infinite_entries():
    assert math.isinf(float(surge.steps_to_target([1.0, np.inf, np.inf], 0.5)))   # diverged
    assert float(surge.steps_to_target([np.inf, 0.25], 0.5)) == 1.0                # crossing from inf
    assert float(surge.steps_to_target([0.1, np.inf], 0.5)) == 0.0


def test_refine_grid_minimum_recovers_vertex():
    rates = np.geomspace(1e-3, 1, 31)
    true = np.array([0.0123, 0.2])
    values = np.exp(2.0 * (np.log(rates)[None, :] - np.log(true)[:, None]) ** 2 + 1.0)
    assert np.allclose(surge.refine_grid_minimum(rates, values), true, rtol=1e-9)
    assert math.isnan(float(surge.refine_grid_minimum(rates, np.full(31, np.inf))))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.5, 100.0), min_size=3, max_size=12), st.integers(0, 1000))
def test_refine_grid_minimum_is_within_the_bracket_of_the_brute_force_argmin(values, seed):
    rng = np.random.default_rng(seed)
    rates = np.cumsum(rng.uniform(0.1, 1.0, len(values)))
    v = np.array(values)
    k = int(np.argmin(v))
    got = float(surge.refine_grid_minimum(rates, v))
    lo, hi = rates[max(k - 1, 0)], rates[min(k + 1, len(v) - 1)]
    assert lo * (1 - 1e-12) <= got <= hi * (1 + 1e-12)
    if k in (0, len(v) - 1):
        assert got == rates[k]


def test_fits_recover_known_parameters():
    B = 2.0 ** np.arange(0, 13)
    eps = surge.approximate_optimal_rate(B, 37.0, 0.05)
    bn, em = surge.fit_surge_curve(B, eps)
    assert math.isclose(bn, 37.0, rel_tol=1e-6) and math.isclose(em, 0.05, rel_tol=1e-6)
    S = 120.0 * (1 + 37.0 / B)
    bn, smin = surge.fit_steps_examples(S, B * S)
    assert math.isclose(bn, 37.0, rel_tol=1e-9) and math.isclose(smin, 120.0, rel_tol=1e-9)
    # the same law at extreme scales
    bn, smin = surge.fit_steps_examples(1e-200 * S, 1e-200 * B * S)
    assert math.isclose(bn, 37.0, rel_tol=1e-9) and math.isclose(smin, 1.2e-198, rel_tol=1e-9)


def test_fit_steps_examples_refuses_pairs_that_do_not_follow_the_law():
    B = np.array([1.0, 2.0, 4.0, 8.0])
    S = np.array([10.0, 12.0, 15.0, 20.0])            # more steps with larger batches: B_noise < 0
    with pytest.raises(ValueError, match="do not follow"):
        surge.fit_steps_examples(S, B * S)
    with pytest.raises(ValueError, match="two distinct batch sizes"):
        surge.fit_steps_examples([10.0, 20.0], [20.0, 40.0])   # one batch size
    with pytest.raises(ValueError, match="examples must be >= steps"):
        surge.fit_steps_examples([10.0, 20.0], [5.0, 40.0])


# ----------------------------------------------------------------------------- work caps
def test_requests_beyond_the_work_cap_are_refused_and_can_be_lifted():
    with pytest.raises(ValueError, match="work_limits"):
        surge.simulate_noisy_quadratic(np.eye(2), 1.0, [1.0, 1.0], [0.1], 1, 10**9, 10**6)
    with pytest.raises(ValueError, match="work_limits"):
        surge.one_step_monte_carlo([1.0, 1.0], np.eye(2), 1.0, 1, [0.1], 10**15)
    small = lambda: surge.simulate_noisy_quadratic(np.eye(2), 1.0, [1.0, 1.0], [0.1], 1, 2, 2)  # noqa: E731
    with scalinglaws.work_limits(operations=10.0), pytest.raises(ValueError, match="work_limits"):
        small()
    with scalinglaws.work_limits(operations=float("inf"), memory_bytes=float("inf")):
        assert np.all(np.isfinite(small()))


# ----------------------------------------------------------------------------- errors
H2 = np.eye(2)
BAD_VALUES = [np.nan, np.inf, "0.5", True, None]


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda v: surge.sigmoid_erf(v), "z"),
        (lambda v: surge.sign_descent_expected_update([1.0, v], 1.0, 1), "mu[]"),
        (lambda v: surge.sign_descent_expected_update([1.0, 2.0], v, 1), "sigma"),
        (lambda v: surge.sign_descent_expected_update([1.0], 1.0, v), "batch_size"),
        (lambda v: surge.optimal_rate([1.0, 2.0], 1.0, [[1.0, v], [v, 1.0]], 1), "H[]"),
        (lambda v: surge.expected_decrease([1.0, 2.0], 1.0, H2, 1, v), "rate"),
        (lambda v: surge.approximate_optimal_rate(v, 1.0, 1.0), "batch_size"),
        (lambda v: surge.approximate_optimal_rate(2, v, 1.0), "B_noise"),
        (lambda v: surge.approximate_optimal_rate(2, 1.0, v), "eps_max"),
        (lambda v: surge.one_step_monte_carlo([1.0, v], H2, 1.0, 1, [0.1], 10), "theta[]"),
        (lambda v: surge.one_step_monte_carlo([1.0, 1.0], H2, 1.0, 1, [0.1], v), "samples"),
        (lambda v: surge.one_step_monte_carlo([1.0, 1.0], H2, 1.0, 1, [0.1], 10, seed=v), "seed"),
        (lambda v: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [v], 1, 1, 1), "rates[]"),
        (lambda v: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [0.1], 1, v, 1), "steps"),
        (lambda v: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [0.1], 1, 1, 1, seed=v), "seed"),
        (lambda v: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [0.1], 1, 1, 1, optimizer="adam",
                                                  beta2=v), "beta2"),
        (lambda v: surge.steps_to_target([1.0, 0.5], v), "target"),
        (lambda v: surge.refine_grid_minimum([0.1, 0.2, 0.3], [1.0, v, 2.0]), "values[]"),
        (lambda v: surge.fit_surge_curve([1, 2, 4], [0.1, v, 0.1]), "rates[]"),
        (lambda v: surge.fit_steps_examples([10.0, v], [10.0, 40.0]), "steps[]"),
    ],
)
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_bad_values_are_refused_naming_the_argument(call, name, value):
    if name.endswith("[]"):  # the value sits inside a list, where True is the number 1 (numpy's rule)
        name = name[:-2]
        if value is True or (value is np.inf and name == "values"):
            return  # inf is legitimate in values (a rate that never reaches the target)
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call(value)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: surge.sign_descent_expected_update([[1.0]], 1.0, 1), "mu must be a 1-dimensional"),
        (lambda: surge.sign_descent_expected_update([1.0, 2.0], [1.0, 0.0], 1), "sigma must be"),
        (lambda: surge.sign_descent_expected_update([1.0, 2.0], [1.0, 1.0, 1.0], 1), "sigma must be"),
        (lambda: surge.sign_descent_expected_update([1.0], 1.0, 0.5), "batch_size must be batch sizes >= 1"),
        (lambda: surge.optimal_rate([1.0, 2.0], 1.0, np.eye(3), 1), "H must have shape"),
        (lambda: surge.optimal_rate([1.0, 2.0], 1.0, [[1, 0.5], [0, 1]], 1), "H must be symmetric"),
        (lambda: surge.optimal_rate([1.0, 2.0], 1.0, [[1, 2], [2, 1]], 1), "H must be positive definite"),
        (lambda: surge.optimal_rate([1.0], 1.0, [[1.0]], 1, erf_form="tanh"), "erf_form"),
        (lambda: surge.approximate_optimal_rate(2, 0.0, 1.0), "B_noise must be"),
        (lambda: surge.approximate_optimal_rate(2, 1.0, -1.0), "eps_max must be"),
        (lambda: surge.approximate_optimal_rate(1e300, 1e-300, 1e-300), "not representable"),
        (lambda: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [0.0], 1, 1, 1), "rates"),
        (lambda: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [0.1], 1, 1, 1, optimizer="lion"),
         "optimizer"),
        (lambda: surge.simulate_noisy_quadratic(H2, 1.0, [1e200, 1e200], [0.1], 1, 1, 1), "fit in a double"),
        (lambda: surge.simulate_noisy_quadratic(H2, 1e200, [1.0, 1.0], [0.1], 1, 1, 1, optimizer="adam"),
         "squared gradients"),
        (lambda: surge.simulate_noisy_quadratic(H2, 1.0, [1.0, 1.0], [0.1], 0.5, 1, 1), "batch_size"),
        (lambda: surge.one_step_monte_carlo([1.0], [[1.0]], 1.0, 1, [0.1], 1), "samples"),
        (lambda: surge.fit_steps_examples([1.0], [2.0]), "at least 2"),
        (lambda: surge.steps_to_target([1.0, 0.5], 0.0), "target must be"),
        (lambda: surge.steps_to_target([1.0, -0.5], 0.1), "losses must be"),
        (lambda: surge.optimal_rate([1.0, 1.0], 1.0, [[1.0, -0.9], [-0.9, 1.0]], 1e6, erf_form="linear"),
         "no optimal rate"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
