"""Tests of scalinglaws.zipf against independent computations.

Brute-force sums over every visible feature (math.fsum), exact integer arithmetic for the feature
count, enumeration of all draw patterns for the per-feature recursion, the closed-form incomplete
beta integral (mpmath) for the far tail, Monte Carlo of the real data process, and dense grid
search for the tuned rate.
"""

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import zipf

ZETA = {}


def zeta_mp(s):
    if s not in ZETA:
        ZETA[s] = float(mpmath.zeta(s))
    return ZETA[s]


# ----------------------------------------------------------------------------- feature_count
def count_by_loop(N, b):
    """Count k with floor(k**b) <= N by walking k (exact: b rational, integer comparison)."""
    frac = Fraction(b)
    p, q = frac.numerator, frac.denominator
    k = 0
    while (k + 1) ** p < (N + 1) ** q:  # (k+1)^b < N+1  <=>  floor((k+1)^b) <= N
        k += 1
    return k


@pytest.mark.parametrize("b", [1.0, 1.5, 2.0, 2.5, 3.0, 1.25])
def test_feature_count_small_N_brute_force(b):
    for N in range(1, 400):
        assert zipf.feature_count(N, b) == count_by_loop(N, b), (N, b)


def test_feature_count_boundaries_large():
    # k^b exactly an integer at the boundary: k visible iff floor(k^b) = k^b <= N
    for m in (10**4, 10**6, 999_983):
        for b, kb in ((2.0, m**2), (3.0, m**3), (1.0, m)):
            if kb > 10**18:
                continue
            assert zipf.feature_count(kb, b) == m
            assert zipf.feature_count(kb - 1, b) == m - 1
    # b = 1.5: 10^8 ** 1.5 = 10^12 exactly
    assert zipf.feature_count(10**12, 1.5) == 10**8
    assert zipf.feature_count(10**12 - 1, 1.5) == 10**8 - 1
    assert zipf.feature_count(10**12, 1.0) == 10**12


@settings(max_examples=60, deadline=None)
@given(N=st.integers(min_value=1, max_value=10**13),
       b=st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0, 1.75, 4.0]))
def test_feature_count_property(N, b):
    K = zipf.feature_count(N, b)
    frac = Fraction(b)
    p, q = frac.numerator, frac.denominator
    assert K >= 1
    assert K**p < (N + 1) ** q <= (K + 1) ** p  # floor(K^b) <= N < floor((K+1)^b)


def test_feature_count_vectorised():
    N = np.array([1, 3, 4, 8, 9, 10**6])
    expected = [count_by_loop(int(n), 2.0) for n in N]
    assert list(zipf.feature_count(N, 2.0)) == expected


# ----------------------------------------------------------------------------- probabilities
def test_probabilities_and_tail_mass():
    for a in (0.3, 1.0, 2.5):
        p = zipf.feature_probabilities(1000, a)
        assert p[0] == pytest.approx(1 / zeta_mp(a + 1), rel=1e-14)
        tau = zipf.tail_mass(1000, a)
        assert tau == pytest.approx(float(mpmath.zeta(a + 1, 1001) / mpmath.zeta(a + 1)), rel=1e-12)
        assert math.fsum(p) + tau == pytest.approx(1.0, abs=1e-14)


def test_numpy_zipf_draws_the_zipf_law():
    """rng.zipf(a + 1) has pmf k^-(a+1) / zeta(a+1): frequencies of k = 1..6 within 4 SE."""
    rng = np.random.default_rng(11)
    for a in (0.5, 1.0):
        n = 400_000
        k = rng.zipf(a + 1, size=n)
        for value in range(1, 7):
            prob = value ** -(a + 1) / zeta_mp(a + 1)
            freq = np.mean(k == value)
            assert abs(freq - prob) < 4 * math.sqrt(prob * (1 - prob) / n)


# ----------------------------------------------------------------------------- expected_loss
def brute_loss(eta, T, N, a, b):
    K = count_by_loop_fast(N, b)
    s = eta * (2 - 3 * eta)
    m_star = eta / (2 - 3 * eta)
    Z = zeta_mp(a + 1)
    parts = []
    for start in range(1, K + 1, 10**6):
        k = np.arange(start, min(K, start + 10**6 - 1) + 1, dtype=float)
        p = k ** -(a + 1) / Z
        parts.append(p * (m_star + (9 - m_star) * np.exp(T * np.log1p(-s * p))))
    tau = float(mpmath.zeta(a + 1, K + 1) / mpmath.zeta(a + 1))
    return 0.5 + 0.5 * (math.fsum(np.concatenate(parts)) + 9 * tau)


def count_by_loop_fast(N, b):
    frac = Fraction(b)
    p, q = frac.numerator, frac.denominator
    k = round((N + 1) ** (1 / b))
    while k > 0 and k**p >= (N + 1) ** q:
        k -= 1
    while (k + 1) ** p < (N + 1) ** q:
        k += 1
    return k


CASES = [
    (0.01, 1000, 10**6, 1.0, 1.0),
    (0.001, 10**6, 3 * 10**6, 0.2, 1.0),
    (0.3, 10, 10**6, 0.5, 1.5),
    (1e-4, 10**9, 5 * 10**6, 0.1, 1.0),
    (0.05, 10**5, 3 * 10**6, 2.0, 1.0),
    (0.01, 10**4, 2 * 10**6, 0.05, 1.0),
    (1 / 3, 50, 2000, 1.0, 1.0),
    (0.02, 3000, 2049, 0.7, 1.0),
    (0.004, 10**5, 10**7, 1.0, 2.0),
    (0.2, 0, 10**5, 1.0, 1.0),
]


@pytest.mark.parametrize("eta,T,N,a,b", CASES)
def test_expected_loss_matches_brute_force(eta, T, N, a, b):
    assert zipf.expected_loss(eta, T, N, a, b) == pytest.approx(brute_loss(eta, T, N, a, b), rel=1e-11)


def euler_maclaurin_tail(eta, T, H, K, a, integral):
    """sum_{k=H+1}^K p_k (1 - s p_k)^T = int_H^K f + (f(K) - f(H))/2 + (f'(K) - f'(H))/12 + ...

    f(x) = g(x) (1 - s g(x))^T, g(x) = x^-beta / Z, f' analytic; ``integral(beta, Z, s, f)`` supplies
    int_H^K f dx, so that two tests can check the library against two different integrations.
    """
    with mpmath.workdps(30):
        beta = mpmath.mpf(a) + 1
        Z = mpmath.zeta(beta)
        s = mpmath.mpf(eta) * (2 - 3 * mpmath.mpf(eta))

        def g(x):
            return mpmath.mpf(x) ** (-beta) / Z

        def f(x):
            return g(x) * mpmath.exp(T * mpmath.log1p(-s * g(x)))

        def fprime(x):
            gx = g(x)
            return -(beta * gx / x) * mpmath.exp((T - 1) * mpmath.log1p(-s * gx)) * (1 - (T + 1) * s * gx)

        return float(integral(beta, Z, s, f) + (f(K) - f(H)) / 2 + (fprime(K) - fprime(H)) / 12)


def tail_by_incomplete_beta(eta, T, H, K, a):
    """The integral in closed form:
    int_H^K g (1 - s g)^T dx = Z^(-1/beta)/beta * s^(1/beta - 1) * B(1 - 1/beta, T + 1; s g(K), s g(H)).
    """
    def integral(beta, Z, s, f):
        g = lambda x: mpmath.mpf(x) ** (-beta) / Z  # noqa: E731
        return Z ** (-1 / beta) / beta * s ** (1 / beta - 1) * mpmath.betainc(1 - 1 / beta, T + 1, s * g(K), s * g(H))
    return euler_maclaurin_tail(eta, T, H, K, a, integral)


@pytest.mark.parametrize("eta,T,N,a", [(0.01, 10**4, 10**12, 1.0), (1e-3, 10**6, 10**12, 0.3),
                                       (1e-5, 10**7, 10**11, 0.1), (0.1, 100, 10**10, 2.0),
                                       (0.01, 10**4, 10**12, 0.05), (0.05, 10**3, 10**12, 5.0)])
def test_expected_loss_far_tail_closed_form(eta, T, N, a):
    """N up to 1e12: head summed by brute force, the rest by the incomplete-beta closed form."""
    H = 10**5
    Z = zeta_mp(a + 1)
    k = np.arange(1, H + 1, dtype=float)
    p = k ** -(a + 1) / Z
    s = eta * (2 - 3 * eta)
    m_star = eta / (2 - 3 * eta)
    S = math.fsum(p * np.exp(T * np.log1p(-s * p))) + tail_by_incomplete_beta(eta, T, H, N, a)
    tau = float(mpmath.zeta(a + 1, N + 1) / mpmath.zeta(a + 1))
    expected = 0.5 + 0.5 * (m_star * (1 - tau) + (9 - m_star) * S + 9 * tau)
    assert zipf.expected_loss(eta, T, N, a, 1.0) == pytest.approx(expected, rel=1e-11)


def tail_by_mp_quad(eta, T, H, K, a):
    """The integral by mpmath's tanh-sinh quadrature in u = log x."""
    def integral(beta, Z, s, f):
        return mpmath.quad(lambda u: mpmath.exp(u) * f(mpmath.exp(u)),
                           mpmath.linspace(mpmath.log(H), mpmath.log(K), 40))
    return euler_maclaurin_tail(eta, T, H, K, a, integral)


@pytest.mark.parametrize("eta,T,N,a", [(1 / 3, 10**12, 10**12, 1.0), (0.2, 10**9, 10**12, 0.1),
                                       (0.05, 10**3, 10**12, 5.0)])
def test_far_tail_alone_against_mpmath_quadrature(eta, T, N, a):
    """The Euler-Maclaurin pseudo-features beyond k = 2048, on their own (no loss floor to hide behind)."""
    p, w, _ = zipf._feature_table(N, a)
    head = zipf.HEAD
    s = eta * (2 - 3 * eta)
    library_tail = math.fsum(w[head:] * np.exp(T * np.log1p(-s * p[head:])))
    assert library_tail == pytest.approx(tail_by_mp_quad(eta, T, head, N, a), rel=1e-9)


def test_expected_loss_depends_on_N_only_through_K():
    for N, b in ((10**9, 2.0), (12345, 1.5), (10**12, 3.0)):
        K = zipf.feature_count(N, b)
        assert zipf.expected_loss(0.01, 5000, N, 0.8, b) == zipf.expected_loss(0.01, 5000, K, 0.8, 1.0)


def test_expected_loss_vectorised_and_limits():
    etas = np.array([0.01, 0.1, 1 / 3])
    Ts = np.array([[10], [1000]])
    out = zipf.expected_loss(etas, Ts, 500, 1.0, 1.0)
    assert out.shape == (2, 3)
    for i, j in itertools.product(range(2), range(3)):
        assert out[i, j] == pytest.approx(zipf.expected_loss(etas[j], Ts[i, 0], 500, 1.0, 1.0), rel=1e-14)
    # T -> infinity: every visible feature at its noise floor m_*
    eta, N, a = 0.1, 50, 1.0
    tau = zipf.tail_mass(50, a)
    m_star = eta / (2 - 3 * eta)
    assert zipf.expected_loss(eta, 10**12, N, a, 1.0) == pytest.approx(
        0.5 + 0.5 * (m_star * (1 - tau) + 9 * tau), rel=1e-13)


# ----------------------------------------------------------------------------- curve
def enumerate_feature_moment(p, etas):
    """E[(w_T - 3)^2] for one feature by enumerating which steps draw it (2^T patterns)."""
    total = 0.0
    for pattern in itertools.product((0, 1), repeat=len(etas)):
        prob = 1.0
        m = 9.0
        for drawn, eta in zip(pattern, etas):
            prob *= p if drawn else 1 - p
            if drawn:  # one step of the 1-D model: m -> (1 - 2 eta + 3 eta^2) m + eta^2
                m = (1 - 2 * eta + 3 * eta**2) * m + eta**2
        total += prob * m
    return total


def test_curve_per_feature_recursion_by_enumeration():
    etas = np.array([0.3, 0.05, 0.2, 1 / 3, 0.01, 0.15, 0.25])
    N, a = 6, 0.7
    p = zipf.feature_probabilities(N, a)
    tau = zipf.tail_mass(N, a)
    curve = zipf.expected_loss_curve(etas, N, a, 1.0)
    for t in range(1, len(etas) + 1):
        moments = [enumerate_feature_moment(pk, etas[:t]) for pk in p]
        assert curve[t - 1] == pytest.approx(0.5 + 0.5 * (math.fsum(p * moments) + 9 * tau), rel=1e-13)


def test_curve_constant_rate_matches_expected_loss():
    for N, a, b in ((300, 1.0, 1.0), (10**9, 0.5, 1.0), (10**12, 1.0, 2.0), (10**12, 0.2, 1.0)):
        etas = np.full(3000, 0.02)
        curve = zipf.expected_loss_curve(etas, N, a, b)
        steps = np.array([1, 10, 100, 1000, 3000])
        np.testing.assert_allclose(curve[steps - 1], zipf.expected_loss(0.02, steps, N, a, b), rtol=1e-12)
        np.testing.assert_array_equal(zipf.expected_loss_curve(etas, N, a, b, steps=steps), curve[steps - 1])


def test_curve_schedule_brute_force_many_features():
    """Cosine-like schedule, K = 20000 > 2048: per-feature brute force over every feature."""
    T = 800
    t = np.arange(T)
    etas = 0.001 + 0.1 * 0.5 * (1 + np.cos(np.pi * t / T))
    N, a = 20000, 0.4
    p = zipf.feature_probabilities(N, a)
    m = np.full(N, 9.0)
    tau = float(mpmath.zeta(a + 1, N + 1) / mpmath.zeta(a + 1))
    ref = np.empty(T)
    for i, eta in enumerate(etas):
        m = (1 - p * eta * (2 - 3 * eta)) * m + p * eta**2
        ref[i] = 0.5 + 0.5 * (math.fsum(p * m) + 9 * tau)
    np.testing.assert_allclose(zipf.expected_loss_curve(etas, N, a, 1.0), ref, rtol=1e-11)


# ----------------------------------------------------------------------------- optimal_loss
@pytest.mark.parametrize("T,N,a,b", [(10, 100, 1.0, 1.0), (10**4, 10**6, 1.0, 1.0), (10**6, 10**3, 0.5, 1.0),
                                     (10**5, 10**12, 0.3, 1.5), (3, 5, 2.0, 1.0), (10**8, 10**9, 2.0, 1.0)])
def test_optimal_loss_against_dense_grid(T, N, a, b):
    loss, eta = zipf.optimal_loss(T, N, a, b)
    grid = np.geomspace(1e-6 / T, 1 / 3, 4000)
    values = zipf.expected_loss(grid, T, N, a, b)
    assert loss <= values.min() * (1 + 1e-13)
    assert loss == pytest.approx(zipf.expected_loss(eta, T, N, a, b), rel=1e-15)
    i = int(np.argmin(values))
    assert grid[max(i - 1, 0)] * 0.999 <= eta <= grid[min(i + 1, grid.size - 1)] * 1.001


def test_optimal_loss_vectorised():
    losses, _etas = zipf.optimal_loss(np.array([10, 100]), np.array([[50], [5000]]), 1.0, 1.0)
    assert losses.shape == (2, 2)
    assert losses[1, 1] == pytest.approx(zipf.optimal_loss(100, 5000, 1.0, 1.0)[0], rel=1e-14)


# ----------------------------------------------------------------------------- simulation
@pytest.mark.parametrize("eta,T,N,a,b", [(0.2, 40, 5, 1.0, 1.0), (0.1, 60, 30, 0.5, 1.5),
                                         (1 / 3, 50, 1, 2.0, 1.0), (0.05, 80, 10**8, 0.3, 1.0)])
def test_simulate_matches_exact_loss(eta, T, N, a, b):
    losses = zipf.simulate(eta, T, N, a, b, runs=20000, seed=3)
    se = losses.std(ddof=1) / math.sqrt(losses.size)
    assert abs(losses.mean() - zipf.expected_loss(eta, T, N, a, b)) < 4 * se


def test_simulate_deterministic_and_T0():
    x = zipf.simulate(0.1, 20, 1000, 1.0, 1.0, runs=50, seed=7)
    y = zipf.simulate(0.1, 20, 1000, 1.0, 1.0, runs=50, seed=7)
    np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(zipf.simulate(0.1, 0, 10, 1.0, 1.0, runs=3), [5.0, 5.0, 5.0])


# ----------------------------------------------------------------------------- asymptotics
def test_asymptotic_sum_constant():
    """sum_k p_k exp(-mu p_k) ~ D mu^(-a/(a+1)) (brute-force sum; the error is beyond all orders)."""
    for a in (0.5, 1.0, 2.0):
        A, _B = zipf.asymptotic_constants(a, 1.0)
        assert A == pytest.approx(9 / (2 * a * zeta_mp(a + 1)), rel=1e-14)
        g = a / (a + 1)
        D = math.gamma(g) / ((a + 1) * zeta_mp(a + 1) ** (1 / (a + 1)))
        mu = 1e4
        k = np.arange(1, 10**6 + 1, dtype=float)
        p = k ** -(a + 1) / zeta_mp(a + 1)
        head = math.fsum(p * np.exp(-mu * p))
        # beyond 1e6, mu p_k <= 1e-5: exp(-mu p_k) = 1 - O(1e-5), so the rest is the tail mass
        tail = float(mpmath.zeta(a + 1, 10**6 + 1) / mpmath.zeta(a + 1))
        assert (head + tail) / (D * mu ** (-g)) == pytest.approx(1.0, rel=1e-6)


def test_asymptotic_rate_is_the_stationary_point():
    """eta* of the leading-order loss eta/4 + (9/2) D (2 eta T)^(-g), checked by finite differences."""
    a, T = 1.3, 1e9
    g = a / (a + 1)
    D = math.gamma(g) / ((a + 1) * zeta_mp(a + 1) ** (1 / (a + 1)))

    def lead(eta):
        return eta / 4 + 4.5 * D * (2 * eta * T) ** (-g)

    e = zipf.asymptotic_optimal_rate(T, a)
    h = 1e-6 * e
    assert abs(lead(e + h) - lead(e - h)) / (2 * h) < 1e-8
    _A, B = zipf.asymptotic_constants(a, 1.0)
    assert lead(e) == pytest.approx(B * T ** (-a / (2 * a + 1)), rel=1e-12)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,fragment", [
    (lambda: zipf.expected_loss(0.1, 10, 10, 0.0, 1.0), "a must"),
    (lambda: zipf.expected_loss(0.1, 10, 10, -1.0, 1.0), "a must"),
    (lambda: zipf.expected_loss(0.1, 10, 10, 1.0, 0.5), "b must"),
    (lambda: zipf.expected_loss(0.1, 10, 0, 1.0, 1.0), "N "),
    (lambda: zipf.expected_loss(0.1, 10, 2.5, 1.0, 1.0), "N "),
    (lambda: zipf.expected_loss(0.0, 10, 10, 1.0, 1.0), "eta must lie in (0, 1/3]"),
    (lambda: zipf.expected_loss(0.34, 10, 10, 1.0, 1.0), "eta must lie in (0, 1/3]"),
    (lambda: zipf.expected_loss(0.1, 2.5, 10, 1.0, 1.0), "T must"),
    (lambda: zipf.expected_loss(0.1, -1, 10, 1.0, 1.0), "T must"),
    (lambda: zipf.optimal_loss(0, 10, 1.0, 1.0), "T must"),
    (lambda: zipf.expected_loss_curve([0.1, 0.5], 10, 1.0, 1.0), "eta must"),
    (lambda: zipf.expected_loss_curve([], 10, 1.0, 1.0), "etas must"),
    (lambda: zipf.expected_loss_curve([0.1, 0.1], 10, 1.0, 1.0, steps=[3]), "steps must"),
    (lambda: zipf.simulate(0.1, 10, 10, 1.0, 1.0, runs=0), "runs must"),
    (lambda: zipf.simulate(0.1, 1.5, 10, 1.0, 1.0, runs=2), "T must"),
    (lambda: zipf.feature_count(10, 0.9), "b must"),
    (lambda: zipf.feature_count(0, 1.0), "N "),
])
def test_bad_input_raises(call, fragment):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert fragment in str(info.value)


def test_asymptotic_optimal_excess_is_the_limit():
    """The leading-order scaling function matches the exact infimum at large N for c below, at and
    above the crossover c* = (2a+1)/b (relative error shrinking with N)."""
    for a, b in ((1.0, 1.0), (0.5, 1.0)):
        c_star = (2 * a + 1) / b
        for c in (0.5 * c_star, c_star, 2 * c_star):
            errors = []
            for N in (1e4, 1e10):
                T = float(round(N**c))
                exact = zipf.optimal_loss(T, N, a, b)[0] - 0.5
                errors.append(abs(exact / zipf.asymptotic_optimal_excess(N, T, a, b) - 1))
            assert errors[1] < 1e-2
            assert errors[1] <= errors[0] + 1e-6
