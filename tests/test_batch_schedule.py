"""Tests for scalinglaws.batch_schedule against independent computations.

Independent references: the moment recursion written from its definition in exact rationals
(``fractions.Fraction``), central differences in mpmath for the costate gradient, enumeration of every
integer schedule, random feasible schedules for the AM–GM bound, and a Monte Carlo run of the real SGD
process.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import batch_schedule as bs
from scalinglaws import noise_scale as ns
from scalinglaws import work_limits


def _exact_trajectory(B, m0, k):
    """E[(w - 3)^2] after each step from the definition: E[(u - eps V)^2] with E V = u, Var V = (2u^2 + 1)/B,
    rate eps = k * argmin_eps of that expression, all in exact rationals."""
    m = Fraction(m0)
    k = Fraction(k)
    out = [m]
    for b in B:
        b = Fraction(b)
        # minimise (1 - eps)^2 m + eps^2 (2m + 1)/b over eps: a parabola, vertex at m / (m + (2m + 1)/b)
        eps = k * m / (m + (2 * m + 1) / b)
        m = (1 - eps) ** 2 * m + eps**2 * (2 * m + 1) / b
        out.append(m)
    return out


# ------------------------------------------------------------------ evaluating a schedule

@settings(max_examples=30, deadline=None)
@given(B=st.lists(st.integers(1, 10**6), min_size=1, max_size=5),
       m0=st.fractions(Fraction(1, 1000), Fraction(1000)),
       k=st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(1, 10), Fraction(7, 8)]))
def test_trajectory_matches_exact_rationals(B, m0, k):
    exact = _exact_trajectory(B, m0, k)
    got = bs.schedule_trajectory(B, float(m0), float(k))
    np.testing.assert_allclose(got, [float(v) for v in exact], rtol=1e-12)


def test_trajectory_extreme_but_valid_m0_stays_finite():
    for m0 in (1e-300, 1e300):
        m = bs.schedule_trajectory([1.0, 1e15, 3.0], m0)
        assert np.all(np.isfinite(m)) and np.all(m > 0) and np.all(np.diff(m) <= 0)
    # m0 = 1e300: the first step with B = 1 removes a third, as (2m+1)/(3m+1) -> 2/3
    assert bs.schedule_trajectory([1.0], 1e300)[1] == pytest.approx(1e300 * 2 / 3, rel=1e-12)


def test_trajectory_matches_monte_carlo_of_the_real_process():
    B = np.array([1, 3, 8, 20, 50, 120])
    m = bs.schedule_trajectory(B, 9.0, 0.7)
    rates = 0.7 * B * m[:-1] / ((B + 2.0) * m[:-1] + 1.0)
    runs = 40_000
    loss = ns.simulate_schedule_1d(rates, B, runs, seed=5)
    u2 = (2.0 * loss - 1.0)[1:]                     # step 0 is the deterministic start
    se = u2.std(axis=1, ddof=1) / math.sqrt(runs)
    assert np.all(np.abs(u2.mean(axis=1) - m[1:]) < 4.5 * se)


@settings(max_examples=25, deadline=None)
@given(B=st.lists(st.floats(1.0, 500.0), min_size=1, max_size=8), m0=st.floats(0.01, 100.0),
       k=st.floats(0.05, 1.0))
def test_costate_gradient_matches_mpmath_central_differences(B, m0, k):
    _, p, grad = bs.schedule_costate(B, m0, k)
    mpmath.mp.dps = 40
    f = 2 * mpmath.mpf(k) - mpmath.mpf(k) ** 2

    def final(Bs):
        m = mpmath.mpf(m0)
        for b in Bs:
            m = m * (1 - f * b * m / ((b + 2) * m + 1))
        return m

    h = mpmath.mpf("1e-15")
    for t in range(len(B)):
        up = [mpmath.mpf(b) + (h if i == t else 0) for i, b in enumerate(B)]
        dn = [mpmath.mpf(b) - (h if i == t else 0) for i, b in enumerate(B)]
        fd = (final(up) - final(dn)) / (2 * h)
        assert float(fd) == pytest.approx(grad[t], rel=1e-9, abs=1e-300)
    assert p[-1] == 1.0 and np.all((p > 0) & (p <= 1.0))


# ------------------------------------------------------------------ the optimum (k = 1)

@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 30), N_extra=st.integers(0, 10**5), m0=st.floats(1e-3, 1e3), seed=st.integers(0, 2**32 - 1))
def test_relaxed_optimum_beats_random_schedules_with_the_same_budget(T, N_extra, m0, seed):
    N = T + N_extra
    opt = bs.relaxed_optimum(T, N, m0)
    assert opt.batch_sizes.sum() == pytest.approx(N, rel=1e-10)
    # geometric precision growth, batches proportional to the noise scale 2 + 1/m_t
    np.testing.assert_allclose(opt.m[:-1] / opt.m[1:], opt.ratio, rtol=1e-9)
    np.testing.assert_allclose(opt.batch_sizes / (2.0 + 1.0 / opt.m[:-1]), opt.ratio - 1.0, rtol=1e-9)
    # the recursion run on the schedule reaches the claimed m_T; random schedules do no better
    if opt.feasible:
        assert bs.schedule_trajectory(opt.batch_sizes, m0)[-1] == pytest.approx(opt.m[-1], rel=1e-9)
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(T), size=200)
    for row in 1.0 + (N - T) * w:
        assert bs.schedule_trajectory(row, m0)[-1] >= opt.m[-1] * (1 - 1e-10)


def test_relaxed_optimum_reproduces_the_reported_instance():
    # T = 12 steps, 600 examples: m_T = 1.7386e-3, batches from 2.19 to 295
    opt = bs.relaxed_optimum(12, 600)
    assert opt.feasible
    assert opt.m[-1] == pytest.approx(1.73863e-3, rel=1e-5)
    assert opt.batch_sizes[0] == pytest.approx(2.19, abs=0.01)
    assert opt.batch_sizes[-1] == pytest.approx(295.2, abs=0.1)


@settings(max_examples=30, deadline=None)
@given(T=st.integers(1, 40), mT=st.floats(1e-6, 5.0), m0=st.floats(6.0, 100.0))
def test_min_examples_is_the_inverse_of_the_relaxed_optimum(T, mT, m0):
    N = bs.min_examples_relaxed(T, mT, m0)
    # spend N examples (real) optimally: the precision reached is exactly 1/mT
    x0, xT = 1.0 / m0, 1.0 / mT
    r = (xT / x0) ** (1.0 / T)
    assert x0 * (r**T - 1) + 2 * T * (r - 1) == pytest.approx(N, rel=1e-9)
    assert N >= xT - x0 + 2 * math.log(xT / x0) * (1 - 1e-12)     # the T -> infinity limit is a lower bound


@settings(max_examples=40, deadline=None)
@given(T=st.integers(1, 5), N_extra=st.integers(0, 35), m0=st.sampled_from([0.05, 1.0, 9.0, 400.0]))
def test_branch_and_bound_equals_brute_force(T, N_extra, m0):
    N = T + N_extra
    bb = bs.integer_optimum(T, N, m0)
    brute = bs.brute_force_optimum(T, N, m0)
    assert bb.m_final == pytest.approx(brute.m_final, rel=1e-12)
    assert int(bb.batch_sizes.sum()) == N and np.all(bb.batch_sizes >= 1)
    assert bs.schedule_trajectory(bb.batch_sizes, m0)[-1] == pytest.approx(bb.m_final, rel=1e-12)
    assert bb.bound <= bb.m_final * (1 + 1e-12)


def test_integer_optimum_of_the_reported_instance_is_within_the_bound():
    io = bs.integer_optimum(12, 600)
    assert int(io.batch_sizes.sum()) == 600
    assert io.bound <= io.m_final < io.bound * 1.001
    # no single move of one example between two steps improves it (a local check of the certificate)
    base = bs.schedule_trajectory(io.batch_sizes)[-1]
    for i in range(12):
        for j in range(12):
            if i != j and io.batch_sizes[i] > 1:
                B = io.batch_sizes.copy()
                B[i] -= 1
                B[j] += 1
                assert bs.schedule_trajectory(B)[-1] >= base * (1 - 1e-13)


def test_numerical_optimum_recovers_the_closed_form_at_k_1():
    num = bs.numerical_optimum(12, 600)
    opt = bs.relaxed_optimum(12, 600)
    np.testing.assert_allclose(num.batch_sizes, opt.batch_sizes, rtol=1e-4)
    assert num.m[-1] == pytest.approx(opt.m[-1], rel=1e-8)
    assert num.stationarity < 1e-5


def test_numerical_optimum_for_small_steps_is_stationary_and_beats_the_rules():
    T, N, k = 60, 3000, 0.1
    sq = bs.rule_for_budget("sqrt", T, N, rate_factor=k, integer=False)
    num = bs.numerical_optimum(T, N, rate_factor=k, start=sq.batch_sizes)
    assert num.stationarity < 1e-4
    assert num.batch_sizes.sum() == pytest.approx(N, rel=1e-12)
    assert num.m[-1] <= sq.m[-1] * (1 + 1e-12)
    assert num.m[-1] <= bs.schedule_trajectory(np.full(T, N / T), rate_factor=k)[-1]


# ------------------------------------------------------------------ the rules

def test_notes_rule_is_the_formula_applied_to_the_current_state():
    B, m = bs.notes_rule_schedule(6, 1e-3, integer=False)
    for t in range(6):
        dlmax, bn = m[t] / 2, 2 + 1 / m[t]
        assert B[t] == pytest.approx(max(1.0, math.sqrt(dlmax * bn / 1e-3) - bn), rel=1e-12)
    np.testing.assert_allclose(m, bs.schedule_trajectory(B), rtol=1e-13)


def test_sqrt_rule_is_the_formula_applied_to_the_current_state():
    B, m = bs.sqrt_noise_schedule(6, 3.0, integer=True)
    for t in range(6):
        assert B[t] == max(1.0, round(3.0 * math.sqrt(2 + 1 / m[t])))


@pytest.mark.parametrize("rule", ["notes", "sqrt"])
@pytest.mark.parametrize("integer", [True, False])
def test_rule_for_budget_spends_the_budget(rule, integer):
    res = bs.rule_for_budget(rule, 12, 600, integer=integer)
    assert res.batch_sizes.sum() == pytest.approx(600, rel=1e-12)
    assert np.all(res.batch_sizes >= 1)
    if integer:
        assert np.all(res.batch_sizes == np.round(res.batch_sizes))
    np.testing.assert_allclose(res.m, bs.schedule_trajectory(res.batch_sizes), rtol=1e-13)
    # no rule beats the certified optimum
    assert res.m[-1] >= bs.integer_optimum(12, 600).m_final * (1 - 1e-12)


def test_rule_for_budget_with_one_example_per_step():
    res = bs.rule_for_budget("notes", 5, 5)
    assert np.all(res.batch_sizes == 1) and res.leftover == 0


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize(("call", "name"), [
    (lambda: bs.schedule_trajectory([1.0, 0.5]), "batch_sizes"),
    (lambda: bs.schedule_trajectory([1.0, np.nan]), "batch_sizes"),
    (lambda: bs.schedule_trajectory(["1"]), "batch_sizes"),
    (lambda: bs.schedule_trajectory([]), "batch_sizes"),
    (lambda: bs.schedule_trajectory([2.0], m0=0.0), "m0"),
    (lambda: bs.schedule_trajectory([2.0], m0="9"), "m0"),
    (lambda: bs.schedule_trajectory([2.0], rate_factor=1.5), "rate_factor"),
    (lambda: bs.schedule_trajectory([2.0], rate_factor=True), "rate_factor"),
    (lambda: bs.relaxed_optimum(0, 10), "steps"),
    (lambda: bs.relaxed_optimum(12, 11), "examples"),
    (lambda: bs.relaxed_optimum(12.5, 600), "steps"),
    (lambda: bs.relaxed_optimum(12, math.inf), "examples"),
    (lambda: bs.min_examples_relaxed(12, 9.0), "m_target"),
    (lambda: bs.integer_optimum(12, 600, max_nodes=0), "max_nodes"),
    (lambda: bs.notes_rule_schedule(5, 0.0), "lam"),
    (lambda: bs.notes_rule_schedule(5, 1e-3, integer=1), "integer"),
    (lambda: bs.sqrt_noise_schedule(5, -1.0), "coef"),
    (lambda: bs.rule_for_budget("euler", 5, 50), "rule"),
    (lambda: bs.numerical_optimum(5, 50, start=[1.0, 2.0]), "start"),
])
def test_bad_input_is_refused_with_the_argument_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_requests_beyond_the_work_cap_are_refused_and_can_be_lifted():
    with pytest.raises(ValueError, match="work_limits"):
        bs.brute_force_optimum(12, 600)
    with pytest.raises(ValueError, match="work_limits"):
        bs.integer_optimum(200, 10**9)
    with work_limits(operations=math.inf):
        assert bs.brute_force_optimum(2, 5).nodes == 4
