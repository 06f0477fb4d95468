"""Tests of scalinglaws.schedule_optimisation: the forward pass against zipf and against per-feature
closed forms; the adjoint gradient against finite differences; the projection and the optimiser."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import schedule_optimisation as so
from scalinglaws import schedules as sch
from scalinglaws import zipf


@pytest.mark.parametrize("N, a, b", [(50, 1.0, 1.0), (3000, 0.5, 1.5), (5000, 1.0, 1.0)])
def test_forward_matches_zipf_curve(N, a, b):
    e = sch.wsd(400, 0.3, 300, 0.003, "geometric", warmup=20)
    want = zipf.expected_loss_curve(e, N, a, b)
    for exact in (False, True):
        got = so.loss_curve(e, N, a, b, exact_features=exact)
        np.testing.assert_allclose(got, want, rtol=1e-11)
    L, _ = so.final_loss_and_gradient(e, N, a, b)
    assert L == pytest.approx(want[-1], rel=1e-12)


def test_constant_rate_closed_form_per_feature():
    # constant rate: m_k(T) = m* + (9 - m*) (1 - p_k s)^T with s = eta (2 - 3 eta), m* = eta / (2 - 3 eta)
    N, a, b, eta, T = 40, 1.0, 1.0, 0.2, 150
    K = int(zipf.feature_count(N, b))
    p = zipf.feature_probabilities(K, a)
    s = eta * (2 - 3 * eta)
    mstar = eta / (2 - 3 * eta)
    loss = 0.5 + 0.5 * (math.fsum(pk * (mstar + (9 - mstar) * (1 - pk * s) ** T) for pk in p)
                        + 9 * zipf.tail_mass(K, a))
    assert so.final_loss(np.full(T, eta), N, a, b, exact_features=True) == pytest.approx(loss, rel=1e-13)



@pytest.mark.parametrize("N, a, b", [(40, 1.0, 1.0), (300, 0.5, 1.5)])
def test_two_stage_closed_form_per_feature(N, a, b):
    # piecewise-constant rate: after n steps at rate eta, m = m* + (m_start - m*) (1 - p s)^n, per feature;
    # checks the time-varying recursion (loss_curve, final_loss, zipf's curve) with no loop over steps
    T, switch, hi, lo = 200, 120, 0.3, 0.02
    e = sch.two_stage(T, hi, lo, switch)
    K = int(zipf.feature_count(N, b))
    p = zipf.feature_probabilities(K, a)

    def stage(m0, eta, n):
        mstar = eta / (2 - 3 * eta)
        return mstar + (m0 - mstar) * (1 - p * eta * (2 - 3 * eta)) ** n

    def loss(m):
        return 0.5 + 0.5 * (math.fsum(p * m) + 9 * zipf.tail_mass(K, a))
    for n in (1, 60, switch, switch + 1, T):
        m = stage(np.full(K, 9.0), hi, min(n, switch))
        if n > switch:
            m = stage(m, lo, n - switch)
        want = loss(m)
        assert so.loss_curve(e, N, a, b, exact_features=True)[n - 1] == pytest.approx(want, rel=1e-12)
        assert so.final_loss(e[:n], N, a, b, exact_features=True) == pytest.approx(want, rel=1e-12)
        assert zipf.expected_loss_curve(e, N, a, b)[n - 1] == pytest.approx(want, rel=1e-12)

@pytest.mark.parametrize("exact", [False, True])
def test_adjoint_gradient_against_finite_differences(exact):
    N, a, b = 4000, 1.0, 1.0
    e = sch.cosine(300, 0.25, 0.005, warmup=15)
    _, g = so.final_loss_and_gradient(e, N, a, b, exact_features=exact)
    for t in [0, 7, 14, 15, 120, 298, 299]:
        h = 1e-5 * e[t]
        ep, em = e.copy(), e.copy()
        ep[t] += h
        em[t] -= h
        fd = (so.final_loss(ep, N, a, b, exact) - so.final_loss(em, N, a, b, exact)) / (2 * h)
        assert g[t] == pytest.approx(fd, rel=1e-6, abs=1e-12)


def test_gradient_independent_of_checkpointing():
    e = sch.two_stage(257, 0.3, 0.05, 100, warmup=10)
    ref = so.final_loss_and_gradient(e, 500, 0.7, 1.0, segment=257)
    for seg in (1, 5, 16, 100):
        L, g = so.final_loss_and_gradient(e, 500, 0.7, 1.0, segment=seg)
        assert L == ref[0]
        np.testing.assert_allclose(g, ref[1], rtol=1e-12, atol=1e-18)


def test_directional_derivative():
    # d/dh L(e + h v) at h = 0 equals grad . v (a random direction), by Richardson-extrapolated differences
    rng = np.random.default_rng(3)
    e = sch.cosine(200, 0.2, 0.01)
    v = rng.normal(size=e.size) * 1e-3
    _, g = so.final_loss_and_gradient(e, 1000, 1.0, 1.0)

    def d(h):
        return (so.final_loss(e + h * v, 1000, 1.0, 1.0) - so.final_loss(e - h * v, 1000, 1.0, 1.0)) / (2 * h)
    fd = (4 * d(0.5) - d(1.0)) / 3
    assert g @ v == pytest.approx(fd, rel=1e-7)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=40), st.integers(0, 3))
def test_projection_is_euclidean_projection(vals, head):
    v = np.array(vals)
    head = min(head, v.size - 1)
    P = so.project_monotone(v, 0.5, 0.01, head=head)
    assert np.all(P >= 0.01) and np.all(P <= 0.5)
    assert np.all(np.diff(P[head:]) <= 1e-15)
    np.testing.assert_allclose(so.project_monotone(P, 0.5, 0.01, head=head), P, atol=1e-15)
    # variational inequality <v - P, y - P> <= 0 for feasible y
    rng = np.random.default_rng(len(vals))
    for _ in range(20):
        y = np.concatenate([rng.uniform(0.01, 0.5, head), np.sort(rng.uniform(0.01, 0.5, v.size - head))[::-1]])
        assert np.dot(v - P, y - P) <= 1e-12


def test_optimal_schedule_beats_constant_and_cosine():
    N, a, b, T = 2000, 1.0, 1.0, 400
    etas, loss, hist = so.optimal_schedule(N, a, b, T, iters=60)
    assert np.all(np.diff(etas) <= 1e-15) and etas.max() <= 1 / 3 and etas.min() > 0
    assert np.all(np.diff(hist) <= 0)
    assert loss == pytest.approx(zipf.expected_loss_curve(etas, N, a, b)[-1], rel=1e-12)
    best_const = zipf.optimal_loss(T, N, a, b)[0]
    assert loss < best_const
    assert loss < zipf.expected_loss_curve(sch.cosine(T, 1 / 3, 0.0), N, a, b)[-1]


def test_validation():
    with pytest.raises(ValueError, match="etas"):
        so.final_loss_and_gradient([0.5, 0.1], 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="eta_max"):
        so.optimal_schedule(10, 1.0, 1.0, 5, eta_max=0.5)


def test_continuous_model_decomposition_and_small_rate_limit():
    # L(t) = L_const(S1; eta_0) - sum_k (eta_{k-1} - eta_k) g(S_k(t)), summed directly over change points
    N, a, b = 300, 1.0, 1.0
    e = sch.wsd(120, 0.05, 60, 0.005, "linear", warmup=10)
    curve = so.continuous_loss_curve(e, N, a, b)
    c = np.concatenate([[0.0], np.cumsum(e)])
    for n in (5, 30, 90, 120):
        ld = sum((e[k - 1] - e[k]) * so.drop_kernel(c[n] - c[k], N, a, b) for k in range(1, n))
        want = so.constant_area_loss(c[n], e[0], N, a, b) - ld
        assert curve[n - 1] == pytest.approx(float(want), rel=1e-12)
    # the approximation error of the exact loss is O(eta): it shrinks tenfold with the rates
    errs = []
    for scale in (1.0, 0.1):
        e2 = sch.cosine(400, 0.1 * scale, 0.001 * scale, warmup=20)
        exact = zipf.expected_loss_curve(e2, N, a, b)
        errs.append(np.max(np.abs(so.continuous_loss_curve(e2, N, a, b) / exact - 1)))
    assert errs[1] < 0.2 * errs[0]
