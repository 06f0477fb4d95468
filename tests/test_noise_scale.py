"""Tests for scalinglaws.noise_scale against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import linear1d
from scalinglaws import noise_scale as ns
from scipy.integrate import quad, solve_ivp
from scipy.optimize import minimize, minimize_scalar


def _random_problem(seed: int, d: int):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    H = A @ A.T + 0.1 * np.eye(d)
    Bm = rng.standard_normal((d, d))
    Sigma = Bm @ Bm.T
    G = rng.standard_normal(d)
    return G, H, Sigma


# ------------------------------------------------------------------ the local quadratic model

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 5), B=st.floats(1.0, 1e4))
def test_optimal_rate_is_the_brute_force_minimiser_of_the_quadratic_model(seed, d, B):
    G, H, Sigma = _random_problem(seed, d)
    # the quadratic model written out from its definition, E[V^T H V] = tr(H (G G^T + Sigma/B))
    second = np.trace(H @ (np.outer(G, G) + Sigma / B))

    def neg_improvement(eps):
        return -(eps * G @ G - 0.5 * eps**2 * second)

    res = minimize_scalar(neg_improvement, bounds=(0.0, 10 * G @ G / (G @ H @ G)), method="bounded",
                          options={"xatol": 1e-12})
    eps = ns.optimal_rate(B, G, H, Sigma)
    assert eps == pytest.approx(res.x, rel=1e-6, abs=1e-12)
    assert ns.optimal_improvement(B, G, H, Sigma) == pytest.approx(-res.fun, rel=1e-9)
    assert ns.expected_improvement(eps, B, G, H, Sigma) == pytest.approx(-res.fun, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 5))
def test_scales_limits_and_monotonicity(seed, d):
    G, H, Sigma = _random_problem(seed, d)
    s = ns.noise_scales(G, H, Sigma)
    Bs = np.logspace(0, 8, 50)
    eps = ns.optimal_rate(Bs, G, H, Sigma)
    assert np.all(np.diff(eps) > 0)                      # larger batch, larger optimal rate
    Bhuge = 1e8 * max(s.B_noise, 1.0)                     # B -> infinity: the noiseless rate
    assert ns.optimal_rate(Bhuge, G, H, Sigma) == pytest.approx(s.eps_max, rel=1e-6)
    assert ns.optimal_improvement(Bhuge, G, H, Sigma) == pytest.approx(s.delta_loss_max, rel=1e-6)
    # at B = B_noise the improvement is half the maximum (when B_noise is a batch size, >= 1)
    Bh = max(s.B_noise, 1.0)
    assert ns.optimal_improvement(Bh, G, H, Sigma) == pytest.approx(s.delta_loss_max / (1 + s.B_noise / Bh),
                                                                     rel=1e-12)
    if s.B_noise >= 1:
        assert ns.optimal_improvement(s.B_noise, G, H, Sigma) == pytest.approx(s.delta_loss_max / 2, rel=1e-12)
    # noiseless step: eps_max minimises the deterministic quadratic L - eps|G|^2 + eps^2 G^T H G/2
    eps_grid = np.linspace(0, 2 * s.eps_max, 20001)
    vals = -eps_grid * (G @ G) + 0.5 * eps_grid**2 * (G @ H @ G)
    assert eps_grid[np.argmin(vals)] == pytest.approx(s.eps_max, rel=1e-3)


def test_b_simple_equals_b_noise_for_isotropic_hessian():
    G, _, Sigma = _random_problem(3, 4)
    s = ns.noise_scales(G, 2.5 * np.eye(4), Sigma)
    assert s.B_simple == pytest.approx(s.B_noise, rel=1e-12)
    assert s.B_simple == pytest.approx(np.trace(Sigma) / (G @ G), rel=1e-12)


def test_scalars_accepted_in_one_dimension():
    s = ns.noise_scales(-1.0, 1.0, 3.0)
    assert s == pytest.approx((1.0, 0.5, 3.0, 3.0))


@pytest.mark.parametrize("G,H,Sigma,match", [
    (np.ones(2), np.eye(3), np.eye(2), "H must have shape"),
    (np.ones(2), np.eye(2), np.eye(3), "Sigma must have shape"),
    (np.ones(2), np.array([[1.0, 2.0], [2.0, 1.0]]), np.eye(2), "positive definite"),
    (np.ones(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.eye(2), "symmetric"),
    (np.ones(2), np.eye(2), -np.eye(2), "positive semi-definite"),
    (np.zeros(2), np.eye(2), np.eye(2), "nonzero"),
    (np.ones((2, 2)), np.eye(2), np.eye(2), "vector"),
    (np.array([1.0, np.nan]), np.eye(2), np.eye(2), "finite"),
])
def test_bad_moments_raise(G, H, Sigma, match):
    with pytest.raises(ValueError, match=match):
        ns.noise_scales(G, H, Sigma)


def test_bad_batch_raises():
    for B in (0.0, 0.5, -3.0, math.nan):
        with pytest.raises(ValueError, match="B must be"):
            ns.optimal_rate(B, 1.0, 1.0, 1.0)
    # B = inf is the noiseless limit
    assert ns.optimal_rate(math.inf, 2.0, 4.0, 1.0) == pytest.approx(0.25)


# ------------------------------------------------------------------ regression moments

def test_regression_moments_match_monte_carlo():
    rng = np.random.default_rng(1)
    C = np.array([[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 0.25]])
    u = np.array([0.7, -1.2, 0.4])
    s2 = 0.8
    G, H, Sigma = ns.regression_moments(u, C, s2)
    n = 400_000
    g = ns.sample_batch_gradients(u, C, s2, 1, n, rng)  # B = 1: per-example gradients
    mean = g.mean(axis=0)
    cov = np.cov(g.T)
    se_mean = np.sqrt(np.diag(Sigma) / n)
    assert np.all(np.abs(mean - G) < 5 * se_mean)
    # covariance entries: MC standard error from the fourth moments, estimated from the sample
    centred = g - mean
    prods = centred[:, :, None] * centred[:, None, :]
    se_cov = prods.std(axis=0) / math.sqrt(n)
    assert np.all(np.abs(cov - Sigma) < 5 * se_cov)
    assert np.allclose(H, C)


def test_regression_moments_one_dimensional_closed_form():
    for w in [-1.0, 0.0, 2.5, 3.5]:
        G, H, Sigma = ns.regression_moments(w - 3.0, 1.0, 1.0)
        assert G[0] == pytest.approx(w - 3.0)
        assert H[0, 0] == 1.0
        assert Sigma[0, 0] == pytest.approx(2 * (w - 3.0) ** 2 + 1)
        assert ns.noise_scales(G, H, Sigma).B_noise == pytest.approx(ns.noise_scale_1d((w - 3.0) ** 2))
        assert ns.noise_scale_1d((w - 3) ** 2) == pytest.approx(ns.noise_scale_from_loss(((w - 3) ** 2 + 1) / 2))


def test_batch_gradient_variance_scales_as_one_over_b():
    rng = np.random.default_rng(2)
    C = np.diag([1.0, 0.25])
    u = np.array([0.5, 1.0])
    _, _, Sigma = ns.regression_moments(u, C, 1.0)
    B, n = 16, 40_000
    V = ns.sample_batch_gradients(u, C, 1.0, B, n, rng)
    var = V.var(axis=0, ddof=1)
    target = np.diag(Sigma) / B
    # relative standard error of a variance estimate is about sqrt(2/n) (plus excess kurtosis)
    assert np.all(np.abs(var / target - 1) < 6 * math.sqrt(3.0 / n))


# ------------------------------------------------------------------ the two-batch estimator

def test_two_batch_estimator_is_unbiased_by_monte_carlo():
    rng = np.random.default_rng(3)
    C = np.diag([1.0, 0.5, 0.25, 0.125])
    u = np.array([1.0, -0.5, 0.8, 2.0])
    G, _, Sigma = ns.regression_moments(u, C, 1.0)
    Bs, Bb, reps = 4, 32, 20_000
    gs = ns.sample_batch_gradients(u, C, 1.0, Bs, reps, rng)
    gb = ns.sample_batch_gradients(u, C, 1.0, Bb, reps, rng)
    G2, trS = ns.two_batch_estimate(gs, gb, Bs, Bb)
    for est, exact in ((G2, G @ G), (trS, np.trace(Sigma))):
        se = est.std(ddof=1) / math.sqrt(reps)
        assert abs(est.mean() - exact) < 4 * se


def test_two_batch_estimator_exact_on_its_defining_identity():
    # if |G_B|^2 took exactly its expected value |G|^2 + tr(Sigma)/B, the estimates are exact
    G2, trS, Bs, Bb = 2.3, 7.1, 3.0, 50.0
    gs = np.array([math.sqrt(G2 + trS / Bs), 0.0])
    gb = np.array([0.0, math.sqrt(G2 + trS / Bb)])
    est = ns.two_batch_estimate(gs, gb, Bs, Bb)
    assert est == pytest.approx((G2, trS), rel=1e-12)


def test_two_batch_gaussian_variance_against_monte_carlo():
    rng = np.random.default_rng(4)
    G, _, Sigma = _random_problem(5, 3)
    Bs, Bb, reps = 2.0, 10.0, 200_000
    Ls, Lb = np.linalg.cholesky(Sigma / Bs), np.linalg.cholesky(Sigma / Bb)
    gs = G + rng.standard_normal((reps, 3)) @ Ls.T
    gb = G + rng.standard_normal((reps, 3)) @ Lb.T
    G2, trS = ns.two_batch_estimate(gs, gb, Bs, Bb)
    vG, vS = ns.two_batch_variance(G, Sigma, Bs, Bb)
    # relative SE of a sample variance of a (near-chi-square) variable: about sqrt(2 (1 + kurt/2) / n)
    tol = 6 * math.sqrt(8.0 / reps)
    assert G2.var() / vG == pytest.approx(1.0, abs=tol)
    assert trS.var() / vS == pytest.approx(1.0, abs=tol)


def test_two_batch_variance_exact_for_a_discrete_gradient_distribution():
    # per-example gradients uniform on five points of R^2: every moment is exact by enumeration
    rng = np.random.default_rng(8)
    pts = np.array([[3.0, 0.0], [-1.0, 2.0], [0.5, -2.0], [0.0, 0.0], [1.5, 4.0]])
    G = pts.mean(axis=0)
    e = pts - G
    Sigma = e.T @ e / len(pts)
    third = np.mean((e @ G) * np.sum(e * e, axis=1))
    fourth = np.mean(np.sum(e * e, axis=1) ** 2)
    Bs, Bb, reps = 2, 7, 200_000
    gs = pts[rng.integers(0, 5, size=(reps, Bs))].mean(axis=1)
    gb = pts[rng.integers(0, 5, size=(reps, Bb))].mean(axis=1)
    G2, trS = ns.two_batch_estimate(gs, gb, Bs, Bb)
    vG, vS = ns.two_batch_variance(G, Sigma, Bs, Bb, third=third, fourth=fourth)
    tol = 6 * math.sqrt(10.0 / reps)
    assert G2.var() / vG == pytest.approx(1.0, abs=tol)
    assert trS.var() / vS == pytest.approx(1.0, abs=tol)
    # the B = 1 case by direct enumeration of |g|^2
    v1 = np.var(np.sum(pts * pts, axis=1))
    vb = ns.two_batch_variance(G, Sigma, 1, 2, third=third, fourth=fourth)
    v2 = np.var(np.sum(((pts[:, None, :] + pts[None, :, :]) / 2) ** 2, axis=2))
    assert vb[1] == pytest.approx((v1 + v2) / (1 - 0.5) ** 2, rel=1e-12)


def test_two_batch_estimate_errors():
    with pytest.raises(ValueError, match="B_big must exceed B_small"):
        ns.two_batch_estimate(np.ones(2), np.ones(2), 8, 8)
    with pytest.raises(ValueError, match="same number of parameters"):
        ns.two_batch_estimate(np.ones(2), np.ones(3), 1, 8)
    with pytest.raises(ValueError, match="B_small must be"):
        ns.two_batch_estimate(np.ones(2), np.ones(2), 0, 8)
    with pytest.raises(ValueError, match="B_small must be"):
        ns.two_batch_estimate(np.ones(2), np.ones(2), 1.5, 8)


# ------------------------------------------------------------------ the 1-D model

@settings(max_examples=40, deadline=None)
@given(m=st.floats(1e-4, 100.0), B=st.integers(1, 4096))
def test_greedy_rate_minimises_the_linear1d_one_step_recursion(m, B):
    bound = linear1d.stable_rate_bound(B)

    def m_next(eta):  # from linear1d: r(eta) m + eta^2 / B
        return linear1d.contraction_factor(eta, B) * m + eta**2 / B

    res = minimize_scalar(m_next, bounds=(1e-12, bound * (1 - 1e-12)), method="bounded",
                          options={"xatol": 1e-13})
    eps = ns.greedy_rate_1d(m, B)
    assert m_next(eps) <= res.fun * (1 + 1e-12)
    assert eps == pytest.approx(res.x, rel=1e-4, abs=1e-9)
    assert ns.second_moment_step(m, eps, B) == pytest.approx(m_next(eps), rel=1e-12)
    # the greedy step multiplies m by (1 - eps)
    assert ns.second_moment_step(m, eps, B) == pytest.approx(m * (1 - eps), rel=1e-12)


def test_second_moment_step_reproduces_linear1d_expected_loss():
    for B in (1, 3, 16):
        for eta in (0.05, 0.3 * B / (B + 2)):
            m = 9.0
            for _ in range(40):
                m = ns.second_moment_step(m, eta, B)
            assert 0.5 * (1 + m) == pytest.approx(linear1d.expected_loss(eta, 40, batch_size=B), rel=1e-12)


def test_greedy_trajectory_is_the_multi_step_optimum_in_one_dimension():
    # brute force: optimise all T rates jointly for the final second moment
    B, T = 4, 6

    def final(etas):
        m = 9.0
        for eta in etas:
            m = linear1d.contraction_factor(eta, B) * m + eta**2 / B
        return m

    bound = linear1d.stable_rate_bound(B)
    res = minimize(final, x0=np.full(T, 0.3), bounds=[(1e-9, bound - 1e-9)] * T, method="L-BFGS-B",
                   options={"ftol": 1e-15, "gtol": 1e-12})
    m, eps, _ = ns.greedy_trajectory(T, batch_size=B)
    assert m[-1] <= res.fun * (1 + 1e-9)
    assert final(eps) == pytest.approx(m[-1], rel=1e-12)


def test_steps_to_target_against_a_plain_loop():
    m_target = 0.003
    for B in (1.0, 2.5, 7.0, 100.0):
        m, S, E = 9.0, 0, 0.0
        while m > m_target:
            eps = B * m / ((B + 2) * m + 1)
            m = linear1d.contraction_factor(eps, 1) * m + eps**2 if B == 1 else (1 - eps) ** 2 * m + eps**2 * (2 * m + 1) / B
            S += 1
            E += B
        S2, E2 = ns.steps_to_target(m_target, batch_size=B)
        assert (S2, E2) == (S, pytest.approx(E))
    # schedule: matches greedy_trajectory step by step
    S, E = ns.steps_to_target(m_target, batch_coef=0.7)
    m, _, Bt = ns.greedy_trajectory(int(S), batch_coef=0.7)
    assert m[-1] <= m_target < m[-2]
    assert E == pytest.approx(Bt.sum(), rel=1e-12)


def test_steps_to_target_constant_rate_against_a_brute_force_scan():
    m_target, B = 0.05, 4
    S, E, eta = ns.steps_to_target_constant_rate(m_target, B, grid=4000)
    # brute force: linear1d's exact second moment on a grid of (rate, T), first T below target
    etas = np.linspace(0.001, B / (B + 2), 3000)
    Ts = np.arange(0, 3000)
    m = linear1d.second_moment(etas[:, None], Ts[None, :], batch_size=B)
    below = m <= m_target
    first = np.where(below.any(axis=1), below.argmax(axis=1), np.iinfo(int).max)
    assert linear1d.second_moment(eta, S, batch_size=B) <= m_target < linear1d.second_moment(eta, S - 1, batch_size=B)
    assert first.min() >= S - 1   # the log grid of the library is at least as good as this scan, to one step
    assert E == B * S


def test_continuum_theory_against_ode_and_quadrature():
    m0, mT, B = 9.0, 1e-3, 7.0
    S_min, E_min = ns.continuum_steps_examples(mT, m0)
    # dS/dlog(1/m) = 1 + B_noise/B; integrate numerically
    sol = solve_ivp(lambda s, y: [1 + (2 + math.exp(s) / m0) / B], (0, math.log(m0 / mT)), [0.0],
                    rtol=1e-11, atol=1e-11)
    S = sol.y[0, -1]
    assert S == pytest.approx(S_min + E_min / B, rel=1e-8)
    I, _ = quad(lambda s: math.sqrt(2 + math.exp(s) / m0), 0, S_min, epsabs=1e-12, epsrel=1e-12)
    assert ns.continuum_sqrt_integral(mT, m0) == pytest.approx(I, rel=1e-10)
    gamma = ns.continuum_gamma(mT, m0)
    assert 0 < gamma < 1
    # small steps (rates k eps_opt, k -> 0): the exact recursion approaches the continuum, whose
    # counts are divided by 2k - k^2
    B2 = 2.0
    errors = []
    for k in (0.002, 0.001):
        S_exact, E_exact = ns.steps_to_target(mT, batch_size=B2, m0=m0, rate_factor=k)
        f = 2 * k - k * k
        assert E_exact * f == pytest.approx(E_min + B2 * S_min, rel=2e-4)    # measured 5.6e-5 at k = 0.002
        assert S_exact * f == pytest.approx(S_min + E_min / B2, rel=2e-4)
        errors.append(abs(S_exact * f / (S_min + E_min / B2) - 1))
    assert errors[1] < 0.6 * errors[0]    # first order in k: halving k about halves the gap


def test_simulation_matches_exact_recursion():
    B, T, runs = 3, 30, 20_000
    m, eps, Bt = ns.greedy_trajectory(T, batch_size=B)
    losses = ns.simulate_schedule_1d(eps, Bt, runs, seed=5)
    mean = losses.mean(axis=1)
    se = losses.std(axis=1, ddof=1) / math.sqrt(runs)
    exact = 0.5 * (1 + m)
    assert np.all(np.abs(mean[1:] - exact[1:]) < 4.5 * se[1:])


def test_simulation_agrees_with_linear1d_simulator_in_distribution():
    eta, B, T, runs = 0.2, 5, 25, 20_000
    a = ns.simulate_schedule_1d(np.full(T, eta), np.full(T, B), runs, seed=6)[-1]
    b = linear1d.simulate(eta, T, runs, seed=7, batch_size=B)
    se = math.sqrt(a.var() / runs + b.var() / runs)
    assert abs(a.mean() - b.mean()) < 4 * se
    assert abs(a.mean() - linear1d.expected_loss(eta, T, batch_size=B)) < 4 * a.std() / math.sqrt(runs)


def test_one_dimensional_errors():
    with pytest.raises(ValueError, match="exactly one"):
        ns.steps_to_target(0.1)
    with pytest.raises(ValueError, match="m_target must be"):
        ns.steps_to_target(10.0, batch_size=1)
    with pytest.raises(ValueError, match="loss must be"):
        ns.noise_scale_from_loss(0.5)
    with pytest.raises(ValueError, match="stable range"):
        ns.simulate_schedule_1d([0.9], [1], 10)
    with pytest.raises(ValueError, match="batch_sizes must be"):
        ns.simulate_schedule_1d([0.1], [1.5], 10)


# ------------------------------------------------------------------ the whole valid domain

import mpmath  # noqa: E402
from fractions import Fraction  # noqa: E402
from scalinglaws import work_limits  # noqa: E402


def _mp_scales(G, H, S):
    """The four scales from the definitions, in mpmath (50 digits), from the exact float inputs."""
    with mpmath.workdps(50):
        Gm = mpmath.matrix([mpmath.mpf(float(x)) for x in G])
        Hm = mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in H])
        Sm = mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in S])
        g2 = (Gm.T * Gm)[0]
        ghg = (Gm.T * Hm * Gm)[0]
        trHS = sum((Hm * Sm)[i, i] for i in range(len(G)))
        trS = sum(Sm[i, i] for i in range(len(G)))
        return g2 / ghg, g2 * g2 / (2 * ghg), trHS / ghg, trS / g2


def _fits(v) -> bool:
    return mpmath.mpf("2.3e-308") < abs(v) < mpmath.mpf("1.79e308")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 4), eg=st.integers(-600, 600), eh=st.integers(-600, 600),
       es=st.integers(-600, 600))
def test_noise_scales_over_the_whole_domain_against_mpmath(seed, d, eg, eh, es):
    G, H, Sigma = _random_problem(seed, d)
    G, H, Sigma = G * 2.0**eg, H * 2.0**eh, Sigma * 2.0**es
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(H)) and np.all(np.isfinite(Sigma))):
        return
    ref = _mp_scales(G, H, Sigma)
    if all(_fits(v) for v in ref):
        got = ns.noise_scales(G, H, Sigma)
        for a, b in zip(got, ref):
            assert a == pytest.approx(float(b), rel=1e-9)
    else:
        with pytest.raises(ValueError, match="not representable"):
            ns.noise_scales(G, H, Sigma)


def test_noise_scales_audit_case():
    # |G| = 1e200 with H = Sigma = 1: eps_max = 1 and B_noise = 1e-400 (underflows), DeltaL_max = 5e399
    with pytest.raises(ValueError, match="not representable"):
        ns.noise_scales(1e200, 1, 1)
    # a representable extreme: every scale finite and exact
    s = ns.noise_scales(1e100, 1e-100, 1e150)
    assert s == pytest.approx((1e100, 5e299, 1e-50, 1e-50), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(eps=st.floats(-1e200, 1e200), B=st.floats(1.0, 1e300))
def test_expected_improvement_over_the_whole_domain_against_mpmath(eps, B):
    G, H, Sigma = np.array([0.3, -1.2]), np.diag([2.0, 0.5]), np.array([[1.0, 0.2], [0.2, 3.0]])
    with mpmath.workdps(50):
        g2, ghg = mpmath.mpf("0.09") + mpmath.mpf("1.44"), 2 * mpmath.mpf("0.09") + mpmath.mpf("0.5") * mpmath.mpf("1.44")
        g2 = sum(mpmath.mpf(float(x)) ** 2 for x in G)
        ghg = 2 * mpmath.mpf(float(G[0])) ** 2 + mpmath.mpf("0.5") * mpmath.mpf(float(G[1])) ** 2
        trhs = 2 * mpmath.mpf(1) + mpmath.mpf("0.5") * 3
        e = mpmath.mpf(eps)
        ref = e * g2 - e * e / 2 * (ghg + trhs / mpmath.mpf(B))
    if _fits(ref) or ref == 0:
        assert ns.expected_improvement(eps, B, G, H, Sigma) == pytest.approx(float(ref), rel=1e-9, abs=1e-300)
    elif abs(ref) >= mpmath.mpf("1.79e308"):
        with pytest.raises(ValueError, match="not representable"):
            ns.expected_improvement(eps, B, G, H, Sigma)


@settings(max_examples=60, deadline=None)
@given(m=st.floats(1e-300, 1e300), B=st.floats(1.0, 1e300))
def test_greedy_rate_over_the_whole_domain_against_exact_rationals(m, B):
    exact = Fraction(B) * Fraction(m) / ((Fraction(B) + 2) * Fraction(m) + 1)
    assert ns.greedy_rate_1d(m, B) == pytest.approx(float(exact), rel=1e-13)


@settings(max_examples=60, deadline=None)
@given(m=st.floats(0.0, 1e300), eps=st.floats(-1e200, 1e200), B=st.floats(1.0, 1e300))
def test_second_moment_step_over_the_whole_domain_against_exact_rationals(m, eps, B):
    M, E, Bf = Fraction(m), Fraction(eps), Fraction(B)
    exact = (1 - E) ** 2 * M + E**2 * (2 * M + 1) / Bf
    if exact < Fraction(1.79e308):
        assert ns.second_moment_step(m, eps, B) == pytest.approx(float(exact), rel=1e-12, abs=1e-300)
    else:
        with pytest.raises(ValueError, match="not representable"):
            ns.second_moment_step(m, eps, B)


@settings(max_examples=60, deadline=None)
@given(excess=st.floats(1e-300, 1e300))
def test_noise_scale_from_loss_against_exact_rationals(excess):
    loss = 0.5 + excess
    if loss == 0.5:
        return
    exact = 2 + 1 / (2 * Fraction(loss) - 1)
    if exact < Fraction(1.79e308):
        assert ns.noise_scale_from_loss(loss) == pytest.approx(float(exact), rel=1e-14)
    else:
        with pytest.raises(ValueError, match="not representable"):
            ns.noise_scale_from_loss(loss)


@settings(max_examples=30, deadline=None)
@given(scale=st.integers(-500, 500), seed=st.integers(0, 1000))
def test_two_batch_estimate_at_any_scale_is_the_scaled_estimate(scale, seed):
    rng = np.random.default_rng(seed)
    gs, gb = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    G2, trS = ns.two_batch_estimate(gs, gb, 2, 9)
    big_gs, big_gb = np.ldexp(gs, scale), np.ldexp(gb, scale)
    top = max(np.max(np.abs(G2)), np.max(np.abs(trS)))
    if math.frexp(top)[1] + 2 * scale < 1024:      # the scaled estimates fit in a double
        G2b, trSb = ns.two_batch_estimate(big_gs, big_gb, 2, 9)
        np.testing.assert_allclose(G2b, np.ldexp(G2, 2 * scale), rtol=1e-12)
        np.testing.assert_allclose(trSb, np.ldexp(trS, 2 * scale), rtol=1e-12)
    else:
        with pytest.raises(ValueError, match="not representable"):
            ns.two_batch_estimate(big_gs, big_gb, 2, 9)


def test_two_batch_variance_with_huge_moments_uses_high_precision():
    # G Sigma G = 1e450 overflows a double in the intermediate, the variances (~1e450) too: refused;
    # with G = 1e150 and Sigma = 1e150 I the Gaussian v(B) = 4e300/B^2 + 4e450/B overflows as well,
    # while Sigma = 1e100 I gives v(B) = 4e200/B^2 + 4e400/B: still too large. A representable extreme:
    G, Sigma = np.array([1e150, 0.0]), np.diag([1e-150, 1e-150])
    vG, vS = ns.two_batch_variance(G, Sigma, 1, 4)
    with mpmath.workdps(40):
        t2, gsg = 2 * mpmath.mpf(1e-150) ** 2, mpmath.mpf(1e150) ** 2 * mpmath.mpf(1e-150)
        v = lambda B: 2 * t2 / B**2 + 4 * gsg / B  # noqa: E731
        ref_G, ref_S = (16 * v(4) + v(1)) / 9, (v(1) + v(4)) / (1 - mpmath.mpf(1) / 4) ** 2
    assert vG == pytest.approx(float(ref_G), rel=1e-12)
    assert vS == pytest.approx(float(ref_S), rel=1e-12)
    with pytest.raises(ValueError, match="not representable"):
        ns.two_batch_variance(np.array([1e200, 0.0]), np.diag([1e150, 1e150]), 1, 4)


def test_two_batch_variance_overflowing_in_floats_is_computed_in_high_precision():
    # Sigma = 1e150 I, G = 0, B = 1e14 and 1e15: 2 (B - 1) tr(Sigma^2) = 4e315 overflows the floats, while
    # the variances (about 1e271) are doubles. Gaussian noise, G = 0: v(B) = 2 tr(Sigma^2) / B^2 exactly
    vG, vS = ns.two_batch_variance(np.zeros(2), np.diag([1e150, 1e150]), 10**14, 10**15)
    with mpmath.workdps(40):
        t2, Bs, Bb = 2 * mpmath.mpf(1e150) ** 2, mpmath.mpf(10) ** 14, mpmath.mpf(10) ** 15
        v = lambda B: 2 * t2 / B**2  # noqa: E731
        ref_G = (Bb**2 * v(Bb) + Bs**2 * v(Bs)) / (Bb - Bs) ** 2
        ref_S = (v(Bs) + v(Bb)) / (1 / Bs - 1 / Bb) ** 2
    assert vG == pytest.approx(float(ref_G), rel=1e-12)
    assert vS == pytest.approx(float(ref_S), rel=1e-12)


BAD_CALLS = [
    (lambda: ns.noise_scales("1", 1.0, 1.0), "G"),
    (lambda: ns.noise_scales(True, 1.0, 1.0), "G"),
    (lambda: ns.noise_scales(1.0, None, 1.0), "H"),
    (lambda: ns.noise_scales(1.0, 1.0, math.inf), "Sigma"),
    (lambda: ns.expected_improvement(math.nan, 1, 1.0, 1.0, 1.0), "eps"),
    (lambda: ns.optimal_improvement(0.9, 1.0, 1.0, 1.0), "B"),
    (lambda: ns.regression_moments([1.0], [[1.0]], -1.0), "noise_var"),
    (lambda: ns.regression_moments([1e200], [[1.0]], 1.0), "u"),
    (lambda: ns.regression_moments([1.0, 2.0], np.eye(3), 1.0), "cov"),
    (lambda: ns.sample_batch_gradients([1.0], 1.0, 1.0, 0, 10, np.random.default_rng(0)), "batch_size"),
    (lambda: ns.sample_batch_gradients([1.0], 1.0, 1.0, 2, 10, 0), "rng"),
    (lambda: ns.two_batch_variance([1.0], [[1.0]], 1, 2, third="0"), "third"),
    (lambda: ns.two_batch_variance([1.0], [[2.0]], 1, 2, fourth=1.0), "fourth"),
    (lambda: ns.noise_scale_1d(0.0), "m"),
    (lambda: ns.noise_scale_1d([1.0, -1.0]), "m"),
    (lambda: ns.noise_scale_from_loss("0.7"), "loss"),
    (lambda: ns.greedy_rate_1d(1.0, 0.5), "B"),
    (lambda: ns.second_moment_step(-1.0, 0.1, 1), "m"),
    (lambda: ns.greedy_trajectory(-1, batch_size=2.0), "T"),
    (lambda: ns.greedy_trajectory(5, batch_size=0.5), "batch_size"),
    (lambda: ns.greedy_trajectory(5, batch_coef=0.0), "batch_coef"),
    (lambda: ns.greedy_trajectory(5, batch_size=2.0, integer="yes"), "integer"),
    (lambda: ns.greedy_trajectory(5, batch_size=2.0, rate_factor=0.0), "rate_factor"),
    (lambda: ns.steps_to_target(1e-3, batch_size=[1.0, 0.2]), "batch_size"),
    (lambda: ns.steps_to_target(1e-3, batch_size=1.0, max_steps=0), "max_steps"),
    (lambda: ns.steps_to_target(1e-3, batch_size=1.0, max_steps=10), "max_steps"),
    (lambda: ns.steps_to_target(0.0, batch_size=1.0), "m_target"),
    (lambda: ns.steps_to_target_constant_rate(1e-3, 1.5), "batch_size"),
    (lambda: ns.steps_to_target_constant_rate(1e-3, 4, grid=5), "grid"),
    (lambda: ns.continuum_steps_examples(1e-3, m0=-9.0), "m0"),
    (lambda: ns.continuum_gamma(math.nan), "m_target"),
    (lambda: ns.simulate_schedule_1d([0.1], [1], 10, seed=-3), "seed"),
    (lambda: ns.simulate_schedule_1d([0.1], [1], 10, seed="a"), "seed"),
    (lambda: ns.simulate_schedule_1d([0.1], [1], 0), "runs"),
    (lambda: ns.simulate_schedule_1d([0.1, 0.1], [1], 10), "same length"),
]


@pytest.mark.parametrize(("call", "name"), BAD_CALLS)
def test_bad_input_is_refused_with_the_argument_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_requests_beyond_the_work_cap_are_refused_and_can_be_lifted():
    with pytest.raises(ValueError, match="work_limits"):
        ns.steps_to_target(1e-3, batch_size=1.0, max_steps=10**12)
    with pytest.raises(ValueError, match="work_limits"):
        ns.simulate_schedule_1d(np.full(10**4, 0.1), np.ones(10**4), 10**8)
    with pytest.raises(ValueError, match="work_limits"):
        ns.sample_batch_gradients(np.ones(100), np.eye(100), 1.0, 10**4, 10**6, np.random.default_rng(0))
    with work_limits(operations=1e6):
        with pytest.raises(ValueError, match="work_limits"):
            ns.greedy_trajectory(10**4, batch_size=1.0)
        # the work actually done by a sweep is counted too: 50 runs of 1020 steps each
        with pytest.raises(ValueError, match="work_limits"):
            ns.steps_to_target(1e-3, batch_size=np.ones(50), max_steps=2000)
    # B = 1 at the optimal rate: m <- m (2m + 1) / (3m + 1), from m0 = 9 until m <= 1e-3
    m, steps = 9.0, 0
    while m > 1e-3:
        m, steps = m * (2 * m + 1) / (3 * m + 1), steps + 1
    with work_limits(operations=1e13):
        assert ns.steps_to_target(1e-3, batch_size=1.0, max_steps=10**10)[0] == steps


@settings(max_examples=60, deadline=None)
@given(m0=st.floats(1e-6, 1e6), log_ratio=st.floats(1e-15, 30.0))
def test_continuum_integrals_at_any_ratio_against_mpmath(m0, log_ratio):
    m_target = m0 * math.exp(-log_ratio)
    if not (1e-300 <= m_target < m0):
        return
    S, E = ns.continuum_steps_examples(m_target, m0)
    with mpmath.workdps(40):
        mt, mz = mpmath.mpf(m_target), mpmath.mpf(m0)
        S_ref = mpmath.log(mz / mt)
        E_ref = 2 * S_ref + 1 / mt - 1 / mz
        I_ref = mpmath.quad(lambda s: mpmath.sqrt(2 + mpmath.exp(s) / mz), [0, S_ref])
    assert S == pytest.approx(float(S_ref), rel=1e-12)
    assert E == pytest.approx(float(E_ref), rel=1e-12)
    assert ns.continuum_sqrt_integral(m_target, m0) == pytest.approx(float(I_ref), rel=1e-10)
    g = ns.continuum_gamma(m_target, m0)
    assert 0 < g <= 1
    assert g == pytest.approx(float(I_ref**2 / (S_ref * E_ref)), rel=1e-9)


def test_two_batch_variance_refuses_impossible_moments():
    G, Sigma = [1.0, -0.5], [[1.0, 0.2], [0.2, 0.5]]
    with pytest.raises(ValueError, match="third"):
        ns.two_batch_variance(G, Sigma, 4, 64, third=-1e300)
    # within the Cauchy-Schwarz bound the variances are non-negative
    vG, vS = ns.two_batch_variance(G, Sigma, 4, 64, third=-2.0)
    assert vG >= 0 and vS >= 0
