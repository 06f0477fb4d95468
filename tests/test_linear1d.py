"""Tests of scalinglaws.linear1d against computations that do not reuse its closed form."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglaws import linear1d


def loss_by_rational_iteration(eta, T, B=1):
    """Iterate m_{t+1} = r m_t + eta^2/B exactly (Fractions): no closed form involved."""
    eta_q = Fraction(eta)
    r = 1 - 2 * eta_q + eta_q**2 * Fraction(B + 2, B)
    m = Fraction(9)
    for _ in range(T):
        m = r * m + eta_q**2 / B
    return (1 + m) / 2


def loss_mp(eta, T, B=1, dps=60):
    """The closed form in 60-digit arithmetic, with the float eta taken exactly."""
    with mpmath.workdps(dps):
        e = mpmath.mpf(eta)
        r = 1 - 2 * e + e**2 * mpmath.mpf(B + 2) / B
        m_star = (e**2 / B) / (1 - r)
        return (1 + m_star + (9 - m_star) * r ** mpmath.mpf(T)) / 2


@pytest.mark.parametrize("B", [1, 2, 5, 64])
@pytest.mark.parametrize("T", [0, 1, 2, 3, 10, 57])
def test_expected_loss_matches_exact_iteration(B, T):
    for eta in np.linspace(0.01, linear1d.stable_rate_bound(B) * 0.999, 9):
        exact = loss_by_rational_iteration(float(eta), T, B)
        got = Fraction(linear1d.expected_loss(float(eta), T, B))
        assert abs(float(got / exact - 1)) < 1e-13


@settings(max_examples=300, deadline=None)
@given(eta_frac=st.floats(min_value=1e-12, max_value=1 - 1e-12),
       log10_T=st.floats(min_value=0, max_value=12),
       B=st.sampled_from([1, 2, 3, 16, 1000]))
def test_expected_loss_high_precision_whole_domain(eta_frac, log10_T, B):
    eta = eta_frac * linear1d.stable_rate_bound(B)
    T = float(np.floor(10**log10_T))
    got = linear1d.expected_loss(eta, T, B)
    want = loss_mp(eta, T, B)
    assert abs(got / float(want) - 1) < 1e-12


@pytest.mark.parametrize("eta", [1e-15, 1e-9, 1e-4, 0.3, 1 / 3, 0.5, 0.66, 2 / 3 - 1e-12])
@pytest.mark.parametrize("T", [0, 1, 1e3, 1e6, 1e9, 1e12])
def test_expected_loss_extremes(eta, T):
    got = linear1d.expected_loss(eta, T)
    assert np.isfinite(got)
    assert abs(got / float(loss_mp(eta, T)) - 1) < 1e-12


def test_vectorised_broadcasting():
    etas = np.array([0.05, 0.1, 0.2])[:, None]
    Ts = np.array([0, 10, 1000])[None, :]
    grid = linear1d.expected_loss(etas, Ts)
    assert grid.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            assert grid[i, j] == linear1d.expected_loss(float(etas[i, 0]), int(Ts[0, j]))


def test_expected_weight_by_iteration():
    for eta in (0.01, 0.2, 1 / 3):
        mean = 0.0
        for T in range(30):
            assert abs(linear1d.expected_weight(eta, T) - mean) < 1e-13
            mean = mean - eta * (mean - 3)  # E[w_{t+1}] = E[w_t] - eta (E[w_t] - 3)


@pytest.mark.parametrize("eta,T,B", [(0.1, 10, 1), (1 / 3, 5, 1), (0.05, 40, 1), (0.3, 8, 4), (0.9, 6, 8)])
def test_simulation_agrees_within_four_standard_errors(eta, T, B):
    sample = linear1d.simulate(eta, T, 50_000, seed=123, batch_size=B)
    se = sample.std(ddof=1) / np.sqrt(sample.size)
    assert abs(sample.mean() - linear1d.expected_loss(eta, T, B)) < 4 * se


def test_simulation_is_seeded_and_real():
    a = linear1d.simulate_weights(0.1, 20, 1000, seed=5)
    b = linear1d.simulate_weights(0.1, 20, 1000, seed=5)
    c = linear1d.simulate_weights(0.1, 20, 1000, seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # one step by hand with the same random stream
    rng = np.random.default_rng(9)
    draws = rng.standard_normal((2, 1, 4))
    x, noise = draws[0, 0], draws[1, 0]
    w1 = 0 - 0.2 * (0 * x - (3 * x + noise)) * x
    assert np.allclose(linear1d.simulate_weights(0.2, 1, 4, seed=9), w1, rtol=1e-14, atol=1e-15)
    assert np.all(linear1d.simulate(0.1, 0, 10) == 5.0)


def brute_force_optimum(T, B=1):
    """Golden-section search in log(eta) on the 60-digit closed form, after a coarse grid scan."""
    with mpmath.workdps(40):
        grid = np.exp(np.linspace(np.log(1e-14), np.log(B / (B + 2)), 4001))
        values = [loss_mp(float(e), T, B, dps=40) for e in grid]
        k = int(np.argmin(values))
        lo, hi = mpmath.log(grid[max(k - 1, 0)]), mpmath.log(grid[min(k + 1, len(grid) - 1)])
        f = lambda u: loss_mp(float(mpmath.exp(u)), T, B, dps=40)  # noqa: E731
        phi = (mpmath.sqrt(5) - 1) / 2
        for _ in range(80):
            a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
            if f(a) < f(b):
                hi = b
            else:
                lo = a
        u = (lo + hi) / 2
        return float(f(u)), float(mpmath.exp(u))


@pytest.mark.parametrize("T", [1, 2, 10, 1000, 10**6, 10**12])
def test_optimal_loss_against_brute_force(T):
    loss, eta = linear1d.optimal_loss(T)
    bf_loss, bf_eta = brute_force_optimum(T)
    assert abs(loss / bf_loss - 1) < 1e-12
    assert loss <= bf_loss * (1 + 1e-15)
    assert abs(eta / bf_eta - 1) < 1e-5  # the minimum is flat: the argmin is less well determined by search


def test_optimal_loss_batch_and_vector():
    losses, etas = linear1d.optimal_loss(np.array([10, 100]), batch_size=4)
    for T, L, e in zip((10, 100), losses, etas):
        bf_loss, _ = brute_force_optimum(T, 4)
        assert abs(L / bf_loss - 1) < 1e-12 and 0 < e <= 4 / 6


@pytest.mark.parametrize("T", [1, 10, 12345, 10**9])
def test_optimal_loss_mp_agrees_with_double(T):
    loss_hp, eta_hp = linear1d.optimal_loss_mp(T, dps=40)
    loss, eta = linear1d.optimal_loss(T)
    assert abs(float(loss_hp) / loss - 1) < 1e-14
    assert abs(float(eta_hp) / eta - 1) < 1e-12


def test_asymptote_is_within_its_error_order():
    for T in (10**4, 10**8, 10**11):
        with mpmath.workdps(50):
            loss, _ = linear1d.optimal_loss_mp(T, dps=50)
            g = mpmath.mpf(1) / 2 + (1 + mpmath.log(36 * T)) / (8 * T)
            gap = float((loss - g) * T**2 / mpmath.log(T) ** 2)
        assert 0.1 < gap < 0.3  # bounded, tending to 1/8 (chapter "the tuned learning rate")
        assert abs(linear1d.asymptotic_optimal_loss(float(T)) / float(g) - 1) < 1e-15
    assert abs(linear1d.asymptotic_optimal_rate(1e6) / linear1d.optimal_loss(1e6)[1] - 1) < 1e-4


@pytest.mark.parametrize("call,message", [
    (lambda: linear1d.expected_loss(0.0, 10), "eta"),
    (lambda: linear1d.expected_loss(2 / 3, 10), "eta"),
    (lambda: linear1d.expected_loss(-0.1, 10), "eta"),
    (lambda: linear1d.expected_loss(1.4, 10, batch_size=4), "eta"),
    (lambda: linear1d.expected_loss(0.1, -1), "T"),
    (lambda: linear1d.expected_loss(0.1, 2.5), "T"),
    (lambda: linear1d.expected_loss(0.1, np.nan), "T"),
    (lambda: linear1d.expected_loss(0.1, 10, batch_size=0), "batch_size"),
    (lambda: linear1d.expected_loss(0.1, 10, batch_size=1.5), "batch_size"),
    (lambda: linear1d.expected_loss("a", 10), "eta"),
    (lambda: linear1d.simulate(0.1, 10, 0), "runs"),
    (lambda: linear1d.simulate(0.1, 3.5, 10), "T"),
    (lambda: linear1d.simulate(0.7, 3, 10), "eta"),
    (lambda: linear1d.optimal_loss(0), "T"),
    (lambda: linear1d.asymptotic_optimal_loss(0), "T"),
])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_error_message_states_the_range():
    with pytest.raises(ValueError, match=r"\(0, 0\.666667\)"):
        linear1d.expected_loss(0.9, 1)
