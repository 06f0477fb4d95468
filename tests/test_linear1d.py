"""Tests of scalinglaws.linear1d against computations that do not reuse its closed form."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scalinglaws
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scalinglaws import linear1d

# Property tests: a few dozen examples each, so that the module's tests stay within a few seconds.
FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
BATCH = st.one_of(st.sampled_from([1, 2, 3, 4, 16, 1000, 10**9, 10**15]), st.integers(1, 10**15))


def loss_by_rational_iteration(eta, T, B=1):
    """Iterate m_{t+1} = r m_t + eta^2/B exactly (Fractions): no closed form involved."""
    eta_q = Fraction(eta)
    r = 1 - 2 * eta_q + eta_q**2 * Fraction(B + 2, B)
    m = Fraction(9)
    for _ in range(T):
        m = r * m + eta_q**2 / B
    return (1 + m) / 2


def loss_mp(eta, T, B=1, dps=60):
    """The closed form in high-precision arithmetic, with the float eta taken exactly.

    r^T as exp(T log1p(-(1 - r))), 1 - r = eta (2B - eta (B+2)) / B formed exactly, so that rates far
    below 10^-dps and T up to 1e308 are handled.
    """
    with mpmath.workdps(dps):
        e = mpmath.mpf(eta)
        one_minus_r = e * (2 * B - e * (B + 2)) / B
        m_star = (e**2 / B) / one_minus_r
        r_T = mpmath.exp(mpmath.mpf(T) * mpmath.log1p(-one_minus_r))
        return (1 + m_star + (9 - m_star) * r_T) / 2


@pytest.mark.parametrize("B", [1, 2, 5, 64])
@pytest.mark.parametrize("T", [0, 1, 2, 3, 10, 57])
def test_expected_loss_matches_exact_iteration(B, T):
    for eta in np.linspace(0.01, linear1d.stable_rate_bound(B) * 0.999, 9):
        exact = loss_by_rational_iteration(float(eta), T, B)
        got = Fraction(linear1d.expected_loss(float(eta), T, B))
        assert abs(float(got / exact - 1)) < 1e-13


def rate_in_range(B, log10_frac, mirror):
    """A double rate in the stable range: a fraction 10^log10_frac of the bound, or its mirror image."""
    bound = 2 * B / (B + 2)
    eta = bound * 10.0**log10_frac
    if mirror:
        eta = bound - eta
    return eta if 0 < eta and Fraction(eta) * (B + 2) < 2 * B else bound / 2  # decided exactly


@settings(max_examples=100, deadline=None, derandomize=True)
@given(log10_frac=st.floats(min_value=-300, max_value=-1e-9), mirror=st.booleans(),
       log10_T=st.one_of(st.just(-1.0), st.floats(min_value=0, max_value=308)), B=BATCH)
def test_expected_loss_high_precision_whole_domain(log10_frac, mirror, log10_T, B):
    """Every rate of the stable range (down to 1e-300, up to the edge, above 1 for B >= 3), T from 0
    to 1e308, B up to 1e15: the double-precision value against 60-digit arithmetic."""
    eta = rate_in_range(B, log10_frac, mirror)
    T = 0.0 if log10_T < 0 else float(np.floor(10**log10_T))
    got = linear1d.expected_loss(eta, T, B)
    want = loss_mp(eta, T, B)
    assert np.isfinite(got)
    assert abs(got / float(want) - 1) < 2e-13


@FAST
@given(log10_frac=st.floats(min_value=-300, max_value=-1e-9), mirror=st.booleans(), B=BATCH)
def test_contraction_and_floor_exact(log10_frac, mirror, B):
    """r and m_* against exact rational arithmetic on the float eta."""
    eta = rate_in_range(B, log10_frac, mirror)
    e = Fraction(eta)
    r = 1 - 2 * e + e * e * Fraction(B + 2, B)
    m_star = e / (2 * B - e * (B + 2))
    assert abs(Fraction(linear1d.contraction_factor(eta, B)) / r - 1) < Fraction(1, 10**14)
    assert abs(Fraction(linear1d.stationary_second_moment(eta, B)) / m_star - 1) < Fraction(1, 10**14)


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


@FAST
@given(log10_frac=st.floats(min_value=-300, max_value=-1e-9), mirror=st.booleans(), B=BATCH,
       T=st.integers(0, 60))
def test_expected_weight_exact_rational(log10_frac, mirror, B, T):
    """E[w_T] = 3 (1 - (1 - eta)^T) in exact rationals, rates above 1 (oscillating mean) included."""
    eta = rate_in_range(B, log10_frac, mirror)
    exact = 3 * (1 - (1 - Fraction(eta)) ** T)
    got = linear1d.expected_weight(eta, T, B)
    assert np.isfinite(got)
    assert abs(Fraction(got) - exact) <= abs(exact) * Fraction(1, 10**13) + Fraction(1, 10**300)


@FAST
@given(eta=st.floats(min_value=1.0, max_value=1.999), log10_T=st.floats(0, 300))
def test_expected_weight_rates_above_one_large_T(eta, log10_T):
    """(1 - eta)^T for eta in [1, 2) and T up to 1e300, against mpmath (the parity of T decides the sign)."""
    B = 10**15
    T = float(np.floor(10**log10_T))
    with mpmath.workdps(40):
        want = 3 * (1 - (1 - mpmath.mpf(eta)) ** mpmath.mpf(T))
    got = linear1d.expected_weight(eta, T, B)
    assert abs(got - float(want)) <= 1e-14 * abs(float(want)) + 1e-300


def test_expected_weight_audit_case():
    assert linear1d.expected_weight(1.5, 5, batch_size=10) == 3.09375
    assert linear1d.expected_weight(1.0, 0, batch_size=3) == 0.0
    assert linear1d.expected_weight(1.0, 7, batch_size=3) == 3.0


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
        f = lambda u: loss_mp(float(mpmath.exp(u)), T, B, dps=40)
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




def second_order_rate(T):
    """eta*(T) = Lambda/(2T) + (Lambda^2/8 - 73 Lambda/72 + 1/72)/T^2 + O(Lambda^3/T^3), Lambda = log 36T
    (the chapter's expansion, derived with sympy there), in mpmath."""
    with mpmath.workdps(60):
        Tm = mpmath.mpf(T)
        lam = mpmath.log(36 * Tm)
        return lam / (2 * Tm) + (lam**2 / 8 - 73 * lam / 72 + mpmath.mpf(1) / 72) / Tm**2, lam


@FAST
@given(log10_T=st.floats(min_value=8, max_value=308))
def test_optimal_loss_large_T_against_the_expansion(log10_T):
    """For T >= 1e8 the tuned rate is the second-order expansion to relative O(Lambda^2/T^2) < 1e-12:
    the argmin that was wrong for T >= 1e18 (2.46e-21 instead of 3.63e-29 at T = 1e30)."""
    T = float(np.floor(10**log10_T))
    loss, eta = linear1d.optimal_loss(T)
    want, lam = second_order_rate(T)
    assert abs(eta / float(want) - 1) < 1e-12
    with mpmath.workdps(60):
        g2 = mpmath.mpf(1) / 2 + (1 + lam) / (8 * T) + (lam**2 / 8 - lam / 288) / mpmath.mpf(T) ** 2
    assert abs(loss / float(g2) - 1) < 1e-15


def test_optimal_loss_audit_case():
    loss, eta = linear1d.optimal_loss(1e30)
    want, _ = second_order_rate(1e30)     # the expansion: its error, lam^2/T^2, is far below 1e-12
    assert abs(eta / float(want) - 1) < 1e-12 and loss == 0.5


@settings(max_examples=10, deadline=None, derandomize=True)
@given(exponent=st.integers(min_value=7, max_value=400), dps=st.integers(30, 60))
def test_optimal_loss_mp_any_T(exponent, dps):
    """optimal_loss_mp for T = 10^7 .. 10^400 (beyond the doubles: started from the expansion),
    against the expansion, and the slope of the 60+-digit loss changes sign at the root."""
    T = 10**exponent
    loss, eta = linear1d.optimal_loss_mp(T, dps=dps)
    want, lam = second_order_rate(T)
    assert abs(eta / want - 1) < 10 * lam**2 / mpmath.mpf(T) ** 2 + mpmath.mpf(10) ** (-dps + 5)
    if dps > 2 * exponent + 10:      # enough digits to see the error term of the chapter, about 1/8
        with mpmath.workdps(dps + 10):
            g = mpmath.mpf(1) / 2 + (1 + lam) / (8 * T)
            # the next term of the expansion: (loss - g) T^2 / lam^2 = 1/8 - 1/(288 lam) + O(lam / T)
            assert abs((loss - g) * T**2 / lam**2 - (mpmath.mpf(1) / 8 - 1 / (288 * lam))) < 1e-4


def test_optimal_loss_mp_audit_case():
    _, eta = linear1d.optimal_loss_mp(10**18, 60)
    want, _ = second_order_rate(10**18)
    assert abs(float(eta) / float(want) - 1) < 1e-14


@FAST
@given(log10_T=st.floats(min_value=0, max_value=308))
def test_asymptotic_formulas_whole_domain(log10_T):
    T = 10.0**log10_T
    with mpmath.workdps(40):
        lam = mpmath.log(36 * mpmath.mpf(T))
        g = mpmath.mpf(1) / 2 + (1 + lam) / (8 * mpmath.mpf(T))
        rate = lam / (2 * mpmath.mpf(T))
    assert abs(linear1d.asymptotic_optimal_loss(T) / float(g) - 1) < 1e-15
    assert abs(linear1d.asymptotic_optimal_rate(T) / float(rate) - 1) < 1e-14


# ----------------------------------------------------------------------------- bad input
BAD_REALS = [np.nan, np.inf, -np.inf, "0.1", True, None, 1 + 1j, [[0.1], [0.2, 0.3]]]
GOOD = {"eta": 0.1, "T": 10, "batch_size": 1, "runs": 10, "seed": 0, "dps": 30}
CALLS = {
    "stable_rate_bound": (linear1d.stable_rate_bound, ["batch_size"]),
    "fastest_rate": (linear1d.fastest_rate, ["batch_size"]),
    "contraction_factor": (linear1d.contraction_factor, ["eta", "batch_size"]),
    "stationary_second_moment": (linear1d.stationary_second_moment, ["eta", "batch_size"]),
    "second_moment": (linear1d.second_moment, ["eta", "T", "batch_size"]),
    "expected_loss": (linear1d.expected_loss, ["eta", "T", "batch_size"]),
    "expected_weight": (linear1d.expected_weight, ["eta", "T", "batch_size"]),
    "optimal_loss": (linear1d.optimal_loss, ["T", "batch_size"]),
    "optimal_loss_mp": (linear1d.optimal_loss_mp, ["T", "dps"]),
    "asymptotic_optimal_loss": (linear1d.asymptotic_optimal_loss, ["T"]),
    "asymptotic_optimal_rate": (linear1d.asymptotic_optimal_rate, ["T"]),
    "simulate_weights": (linear1d.simulate_weights, ["eta", "T", "runs", "seed", "batch_size"]),
    "simulate": (linear1d.simulate, ["eta", "T", "runs", "seed", "batch_size"]),
}
OUT_OF_DOMAIN = {"eta": [0.0, -0.1, 0.6666666666666667, 0.7, 2.0], "T": [-1, 2.5, 10**400],
                 "batch_size": [0, 1.5, 10**15 + 1], "runs": [0, 2.5], "seed": [-1, 2**63, 0.5],
                 "dps": [19, 30.5]}
CASES = [(fname, arg, bad) for fname, (_, args) in CALLS.items() for arg in args
         for bad in BAD_REALS + OUT_OF_DOMAIN[arg]
         if not (fname.startswith("asymptotic") and arg == "T" and bad == 2.5)   # T is real there
         and not (fname in ("optimal_loss_mp", "simulate", "simulate_weights") and bad == 10**400)]
# (optimal_loss_mp takes any T; the simulators refuse T = 10**400 by its cost, tested below)


@pytest.mark.parametrize(("fname", "arg", "bad"), CASES, ids=[f"{f}-{a}-{b!r:.20}" for f, a, b in CASES])
def test_every_function_refuses_bad_input_by_name(fname, arg, bad):
    fn, args = CALLS[fname]
    kwargs = {name: GOOD[name] for name in args}
    kwargs[arg] = bad
    if fname.startswith("asymptotic") or fname == "optimal_loss":
        kwargs.setdefault("T", 10)
    with pytest.raises(ValueError, match=rf"^{arg} must be .*got"):
        fn(**kwargs)


def test_the_exact_stable_range():
    # the double nearest 2/3 is below it, so it is inside the stable range; the next one is not
    assert np.isfinite(linear1d.expected_loss(2 / 3, 10))
    with pytest.raises(ValueError, match=r"eta must be a rate in the stable range .*\(0, 0\.666667\)"):
        linear1d.expected_loss(np.nextafter(2 / 3, 1), 1)
    with pytest.raises(ValueError, match=r"eta must be rates .* got eta\[1\] = 0\.9"):
        linear1d.expected_loss([0.1, 0.9], 1)


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: linear1d.simulate(0.1, 10**30, 10), "T = 1e+30"),
    (lambda: linear1d.simulate(0.1, 0, 10**12), "memory"),
    (lambda: linear1d.simulate(0.1, 10**400, 10), "T = 1e+400"),
    (lambda: linear1d.optimal_loss_mp(10, dps=10**9), "dps = 1e+09"),
    (lambda: linear1d.optimal_loss_mp(10, dps=10**400), "dps = 1e+400"),
    (lambda: linear1d.optimal_loss(np.ones(10**6)), "elements"),
    (lambda: linear1d.expected_loss(np.full((10**6, 1), 0.1), np.ones((1, 10**6))), "elements"),
])
def test_work_is_capped_quickly(call, fragment):
    with pytest.raises(ValueError, match="scalinglaws.work_limits") as info:
        call()
    assert fragment in str(info.value)


def test_work_limits_lift_the_cap():
    with pytest.raises(ValueError, match="work_limits"):
        linear1d.simulate(0.1, 10**5, 10**5)
    # a small request refused under a lowered cap, then run once the cap is lifted above its cost
    with scalinglaws.work_limits(operations=10.0), pytest.raises(ValueError, match="work_limits"):
        linear1d.simulate(0.1, 3, 10**5)
    with scalinglaws.work_limits(operations=1e12):
        assert linear1d.simulate(0.1, 3, 10**5).shape == (10**5,)
