"""Tests for scalinglaws.critical_batch against independent computations.

References: the noise scales from the full matrices of ``noise_scale.regression_moments``; the full
second-moment matrix recursion written out with Isserlis' theorem; the 1-D model's own recursion in
``noise_scale``; Monte Carlo of the real SGD process; brute-force scans of the loss curves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import critical_batch as cb
from scalinglaws import noise_scale as ns

SPEC = dict(curvatures=np.arange(1, 21.0) ** -1.0, initial_moments=np.ones(20), noise_var=1.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 6), s2=st.floats(0.0, 10.0),
       log_scale=st.sampled_from([-120.0, -5.0, 0.0, 5.0, 120.0]))
def test_scales_match_the_full_matrix_moments(seed, d, s2, log_scale):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.05, 3.0, d)
    u = rng.standard_normal(d)
    G, H, Sigma = ns.regression_moments(u, np.diag(c), s2)
    ref = ns.noise_scales(G, H, Sigma)
    got = cb.regression_scales(c, u * u, s2)
    assert got.eps_max == pytest.approx(ref.eps_max, rel=1e-10)
    assert got.delta_loss_max == pytest.approx(ref.delta_loss_max, rel=1e-10)
    assert got.B_noise == pytest.approx(ref.B_noise, rel=1e-10)
    assert got.B_simple == pytest.approx(ref.B_simple, rel=1e-10)
    # scaling M by a and s2 by a leaves B_noise, B_simple and eps_max unchanged, DeltaL_max scales by a
    a = 10.0**log_scale
    big = cb.regression_scales(c, a * u * u, a * s2)
    assert big.B_noise == pytest.approx(got.B_noise, rel=1e-10)
    assert big.B_simple == pytest.approx(got.B_simple, rel=1e-10)
    assert big.eps_max == pytest.approx(got.eps_max, rel=1e-10)
    assert big.delta_loss_max == pytest.approx(a * got.delta_loss_max, rel=1e-10)


def _full_recursion(c, U0, s2, B, steps, k):
    """E[u u^T] as a full matrix: (I - eps C) M (I - eps C) + eps^2/B (C M C + tr(C M) C + s2 C)."""
    C = np.diag(c)
    M = U0.copy()
    exc = [0.5 * np.trace(C @ M)]
    for _ in range(steps):
        G2, GHG = np.trace(C @ C @ M), np.trace(C @ C @ C @ M)
        trHS = np.trace(C @ (C @ M @ C + np.trace(C @ M) * C + s2 * C))
        eps = k * G2 / (GHG + trHS / B)
        A = np.eye(len(c)) - eps * C
        M = A @ M @ A + eps**2 / B * (C @ M @ C + np.trace(C @ M) * C + s2 * C)
        exc.append(0.5 * np.trace(C @ M))
    return np.array(exc)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 5), B=st.sampled_from([1.0, 3.0, 40.0, 1e4]),
       k=st.sampled_from([1.0, 0.5, 0.1]))
def test_diagonal_recursion_equals_the_full_matrix_recursion(seed, d, B, k):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.05, 2.0, d)
    u0 = rng.standard_normal(d)
    full = _full_recursion(c, np.outer(u0, u0), 0.7, B, 12, k)  # off-diagonal entries present
    exc, _ = cb.regression_trajectory(c, u0 * u0, 0.7, B, 12, k)
    np.testing.assert_allclose(exc, full, rtol=1e-10)


def test_one_dimensional_case_is_the_noise_scale_model():
    for B, k in ((1.0, 1.0), (7.0, 0.3), (250.0, 1.0)):
        m, eps, _ = ns.greedy_trajectory(20, batch_size=B, rate_factor=k)
        exc, rates = cb.regression_trajectory([1.0], [9.0], 1.0, B, 20, k)
        np.testing.assert_allclose(exc, 0.5 * m, rtol=1e-12)
        np.testing.assert_allclose(rates, eps, rtol=1e-12)


def test_recursion_matches_monte_carlo_of_real_sgd():
    c, M0 = SPEC["curvatures"][:8], np.ones(8)
    for B in (1, 8):
        exc, rates = cb.regression_trajectory(c, M0, 1.0, B, 25)
        runs = 4000
        sim = cb.simulate_regression(c, np.ones(8), 1.0, rates, B, runs, seed=B)
        se = sim.std(axis=1, ddof=1)[1:] / math.sqrt(runs)
        assert np.all(np.abs(sim.mean(axis=1)[1:] - exc[1:]) < 4.5 * se)


@settings(max_examples=15, deadline=None)
@given(frac=st.floats(0.02, 0.9), B=st.sampled_from([1.0, 2.0, 17.0, 300.0, math.inf]),
       k=st.sampled_from([1.0, 0.2]))
def test_fractional_steps_are_the_crossing_of_the_interpolated_curve(frac, B, k):
    c, M0 = SPEC["curvatures"], SPEC["initial_moments"]
    target = frac * 0.5 * float(c @ M0)
    res = cb.steps_to_targets(c, M0, 1.0, [B], [target], k)
    S = res.steps[0, 0]
    n = int(math.ceil(S)) + 1
    exc, _ = cb.regression_trajectory(c, M0, 1.0, B, n, k)
    t = int(np.argmax(exc <= target))             # first step at or below the target: brute-force scan
    assert t >= 1 and exc[t - 1] > target
    assert S == pytest.approx(t - 1 + (exc[t - 1] - target) / (exc[t - 1] - exc[t]), rel=1e-12, abs=1e-12)
    # B_noise at the crossing, and its average along the run with the same fractional weights
    M_scales = []
    Mloc = M0.copy()
    for _ in range(t + 1):  # the scales along the run, from an independent evaluation of each state
        M_scales.append(cb.regression_scales(c, Mloc, 1.0).B_noise)
        cm, g2, ghg = Mloc @ c, Mloc @ c**2, Mloc @ c**3
        invB = 0.0 if math.isinf(B) else 1.0 / B
        eps = k * g2 / (ghg + (ghg + (cm + 1.0) * (c @ c)) * invB)
        Mloc = (1 - eps * c) ** 2 * Mloc + eps**2 * invB * (c**2 * Mloc + c * (cm + 1.0))
    assert res.B_noise[0, 0] == pytest.approx(M_scales[t], rel=1e-10)
    weights = np.ones(t)
    weights[-1] = S - (t - 1)
    assert res.mean_B_noise[0, 0] == pytest.approx(weights @ np.array(M_scales[:t]) / S, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 5), log_s2=st.floats(-3.0, 3.0),
       noiseless=st.booleans(), k=st.sampled_from([1.0, 0.5, 0.1, 0.01]), log_frac=st.floats(-2.0, -0.05))
def test_the_lower_bound_on_steps_holds_for_the_recursion(seed, d, log_s2, noiseless, k, log_frac):
    # the bound that refuses hopeless runs up front never exceeds the step count the recursion takes
    rng = np.random.default_rng(seed)
    c, M0 = 10.0 ** rng.uniform(-2, 1, d), 10.0 ** rng.uniform(-1, 1, d)
    s2 = 0.0 if noiseless else 10.0**log_s2
    Bs = np.array([1.0, 4.0, 64.0, math.inf])
    e0 = 0.5 * float(c @ M0)
    target = e0 * 10.0**log_frac
    try:
        steps = cb.steps_to_targets(c, M0, s2, Bs, [target], k, max_steps=100_000).steps[:, 0]
    except ValueError as exc:       # a run beyond max_steps (or refused by the bound itself)
        assert "max_steps" in str(exc)
        return
    bound = cb._fewest_steps(e0, target, k, s2, Bs, float(c.max()) ** 2 / float(c @ c))
    first_step_below = np.ceil(steps)          # steps = t - 1 + fraction, t the first step at or below
    assert np.all(bound <= first_step_below * (1 + 1e-9) + 1e-9)


@pytest.mark.parametrize("change", [dict(noise_var=1e150), dict(rate_factor=1e-300), dict(noise_var=1e6)])
def test_runs_that_cannot_reach_the_target_are_refused_at_once(change):
    # each would take max_steps steps (about 16 s) before failing; the bound refuses it before the first
    args = dict(curvatures=[1.0, 0.1, 0.01], initial_moments=[1.0, 1.0, 1.0], noise_var=1.0,
                batch_sizes=[1.0, 4.0, 16.0], excess_targets=[0.1, 0.05], rate_factor=1.0, max_steps=200_000)
    args.update(change)
    with pytest.raises(ValueError, match=r"max_steps=200000 is too small: .* needs at least"):
        cb.steps_to_targets(**args)


def test_the_lower_bound_is_exact_for_one_noiseless_coordinate():
    # d = 1, B = inf: e_{t+1} = (1 - k)^2 e_t exactly, so the bound is the step count itself
    k, frac = 0.1, 1e-3
    res = cb.steps_to_targets([2.0], [3.0], 0.0, [math.inf], [3.0 * frac], k)
    bound = cb._fewest_steps(3.0, 3.0 * frac, k, 0.0, np.array([math.inf]), 1.0)
    assert math.ceil(res.steps[0, 0]) == math.ceil(bound[0] - 1e-9)


def test_several_targets_at_once_equal_one_at_a_time():
    c, M0 = SPEC["curvatures"], SPEC["initial_moments"]
    e0 = 0.5 * float(c @ M0)
    targets = np.array([0.1, 0.5, 0.03]) * e0     # deliberately unsorted
    Bs = np.array([1.0, 5.0, 64.0, math.inf])
    together = cb.steps_to_targets(c, M0, 1.0, Bs, targets)
    for j, tg in enumerate(targets):
        alone = cb.steps_to_targets(c, M0, 1.0, Bs, [tg])
        np.testing.assert_allclose(together.steps[:, j], alone.steps[:, 0], rtol=1e-12)
        np.testing.assert_allclose(together.B_simple[:, j], alone.B_simple[:, 0], rtol=1e-12)


@pytest.mark.parametrize("reference", ["linear", "large-batch"])
def test_critical_batch_solves_its_definition_and_is_bracketed_by_a_grid(reference):
    c, M0 = SPEC["curvatures"], SPEC["initial_moments"]
    target = 0.1 * 0.5 * float(c @ M0)
    Bc = cb.critical_batch(c, M0, 1.0, target, reference)
    S = lambda b: cb.steps_to_targets(c, M0, 1.0, [b], [target]).steps[0, 0]  # noqa: E731
    if reference == "linear":
        assert Bc * S(Bc) / S(1.0) == pytest.approx(1.2, rel=1e-6)
        ratio = lambda b: b * S(b) / S(1.0)  # noqa: E731
    else:
        assert S(Bc) / S(math.inf) == pytest.approx(1.2, rel=1e-6)
        ratio = lambda b: S(math.inf) * 1.44 / S(b)  # noqa: E731  (increasing, 1.2 at the root)
    grid = np.logspace(0, 6, 121)
    r = np.array([ratio(b) for b in grid])
    i = int(np.argmax(r > 1.2))
    assert grid[i - 1] <= Bc <= grid[i]


def test_critical_batch_of_an_exact_hyperbola():
    # isotropic noiseless-limit-free case: 1-D model with tiny steps follows S = S_min (1 + B_crit/B) closely;
    # the two definitions must bracket the fitted B_crit by about 0.2 and 5 times
    c, M0 = [1.0], [9.0]
    target = 0.5 * 0.05
    Bs = np.logspace(0, 4, 33)
    S = cb.steps_to_targets(c, M0, 1.0, Bs, [target], rate_factor=0.05).steps[:, 0]
    smin, emin = cb.hyperbola_fit(Bs, S)
    lin = cb.critical_batch(c, M0, 1.0, target, "linear", rate_factor=0.05)
    big = cb.critical_batch(c, M0, 1.0, target, "large-batch", rate_factor=0.05)
    assert lin == pytest.approx(0.2 * emin / smin + 1.2, rel=0.1)
    assert big == pytest.approx(5 * emin / smin, rel=0.15)


@settings(max_examples=30, deadline=None)
@given(smin=st.floats(0.5, 1e4), emin=st.floats(1.0, 1e7))
def test_hyperbola_fit_recovers_exact_parameters(smin, emin):
    B = np.logspace(0, 6, 25)
    got = cb.hyperbola_fit(B, smin + emin / B)
    assert got[0] == pytest.approx(smin, rel=1e-7)
    assert got[1] == pytest.approx(emin, rel=1e-7)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: cb.regression_scales([1.0, -1.0], [1.0, 1.0]), "curvatures"),
    (lambda: cb.regression_scales([1.0], [0.0]), "moments"),
    (lambda: cb.regression_scales([1.0], [1.0, 2.0]), "moments"),
    (lambda: cb.regression_scales([1.0], [1.0], noise_var=math.nan), "noise_var"),
    (lambda: cb.regression_scales([1.0], [1.0], noise_var="1"), "noise_var"),
    (lambda: cb.steps_to_targets([1.0], [9.0], 1.0, [0.5], [1.0]), "batch_sizes"),
    (lambda: cb.steps_to_targets([1.0], [9.0], 1.0, [2.0], [5.0]), "excess_targets"),
    (lambda: cb.steps_to_targets([1.0], [9.0], 1.0, [2.0], [1.0], rate_factor=0.0), "rate_factor"),
    (lambda: cb.steps_to_targets([1.0], [9.0], 1.0, [1.0], [1e-6], max_steps=10), "max_steps"),
    (lambda: cb.steps_to_targets([1.0], [9.0], 1.0, [True], [1.0]), "batch_sizes"),
    (lambda: cb.critical_batch([1.0], [9.0], 1.0, 0.1, reference="median"), "reference"),
    (lambda: cb.critical_batch([1.0], [9.0], 1.0, 0.1, overhead=0.0), "overhead"),
    (lambda: cb.critical_batch([1.0], [9.0], 1.0, 0.1, max_batch=2.0), "max_batch"),
    (lambda: cb.hyperbola_fit([1.0, 1.0], [2.0, 3.0]), "batch_sizes"),
    (lambda: cb.hyperbola_fit([1.0, 2.0], [2.0, -3.0]), "steps"),
    (lambda: cb.regression_trajectory([1.0], [9.0], 1.0, 0.9, 5), "batch_size"),
    (lambda: cb.simulate_regression([1.0], [3.0], 1.0, [0.1], 2.5, 10), "batch_size"),
    (lambda: cb.simulate_regression([1.0], [3.0], 1.0, [0.1], 2, 10, seed=-1), "seed"),
])
def test_bad_input_is_refused_with_the_argument_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_work_cap():
    with pytest.raises(ValueError, match="work_limits"):
        cb.simulate_regression(np.ones(1000), np.ones(1000), 1.0, np.full(1000, 0.01), 1000, 10**4)


@pytest.mark.parametrize("batch_sizes", [[math.inf], [math.inf, 4.0]])
def test_noise_scales_are_inf_at_the_optimum_on_both_paths(batch_sizes):
    # rate_factor 1 and B = inf jump to the optimum (G = 0) in one step: B_noise = B_simple = inf there,
    # whether the run is finished by the scalar path (one batch size) or the vectorised one (several)
    res = cb.steps_to_targets([2.0], [3.0], 0.0, batch_sizes, [0.1], 1.0)
    assert res.B_noise[0, 0] == math.inf and res.B_simple[0, 0] == math.inf
    assert not np.isnan(res.B_noise).any() and not np.isnan(res.B_simple).any()
