"""Tests of scalinglaws.schedules against direct per-step formulas (written out here with loops)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import schedules as sch


def _warm(s, W, eta_max):
    return eta_max * (s + 1) / W


def test_constant_and_warmup_loop():
    T, W, e = 50, 7, 0.3
    got = sch.constant(T, e, warmup=W)
    want = [_warm(s, W, e) if s < W else e for s in range(T)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert got[W - 1] == e and got.min() > 0


def test_cosine_matches_textbook_formula():
    T, W, hi, lo = 200, 20, 0.25, 0.01
    got = sch.cosine(T, hi, lo, warmup=W)
    want = [_warm(s, W, hi) if s < W else
            lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * (s - W) / (T - W))) for s in range(T)]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert np.all(np.diff(got[W:]) < 0) and got[-1] > lo


def test_cosine_zero_floor_positive():
    assert sch.cosine(1000, 0.1, 0.0).min() > 0


@pytest.mark.parametrize("decay", ["geometric", "linear"])
def test_wsd_formula(decay):
    T, W, S, hi, lo = 120, 10, 80, 0.2, 0.02
    got = sch.wsd(T, hi, S, lo, decay=decay, warmup=W)
    D = T - S
    want = []
    for s in range(T):
        if s < W:
            want.append(_warm(s, W, hi))
        elif s < S:
            want.append(hi)
        else:
            u = (s - S) / D
            want.append(hi ** (1 - u) * lo ** u if decay == "geometric" else hi * (1 - u) + lo * u)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_wsd_geometric_constant_ratio():
    got = sch.wsd(100, 0.3, 60, 0.003)
    r = got[61:] / got[60:-1]
    np.testing.assert_allclose(r, (0.003 / 0.3) ** (1 / 40), rtol=1e-12)


def test_two_stage():
    got = sch.two_stage(30, 0.2, 0.05, 12, warmup=4)
    want = [_warm(s, 4, 0.2) if s < 4 else (0.2 if s < 12 else 0.05) for s in range(30)]
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_area_is_cumulative_sum():
    e = sch.cosine(40, 0.1, 0.01, warmup=5)
    a = sch.area(e)
    assert a[-1] == pytest.approx(math.fsum(e), rel=1e-14)
    assert a[0] == e[0]


@settings(max_examples=60, deadline=None)
@given(T=st.integers(1, 400), frac_w=st.floats(0, 0.99), eta=st.floats(1e-6, 1 / 3),
       frac_lo=st.floats(0.001, 1.0))
def test_properties(T, frac_w, eta, frac_lo):
    W = min(int(frac_w * T), T - 1)
    lo = eta * frac_lo
    scheds = [sch.constant(T, eta, W), sch.cosine(T, eta, lo, W),
              sch.wsd(T, eta, W, lo, "geometric", W), sch.wsd(T, eta, W, lo, "linear", W),
              sch.two_stage(T, eta, lo, W, W)]
    for e in scheds:
        assert e.shape == (T,)
        assert np.all(e > 0) and np.all(e <= eta * (1 + 1e-12))
        # warmup increasing, post-warmup non-increasing (all these schedules are monotone)
        if W:
            assert np.all(np.diff(e[:W]) > 0) and e[W - 1] == eta
        assert np.all(np.diff(e[W:]) <= 1e-15)


@pytest.mark.parametrize("call, name", [
    (lambda: sch.constant(0, 0.1), "T"),
    (lambda: sch.constant(10, 0.1, warmup=10), "warmup"),
    (lambda: sch.constant(10, -0.1), "eta_max"),
    (lambda: sch.constant(10, float("nan")), "eta_max"),
    (lambda: sch.cosine(10, 0.1, 0.2), "eta_min"),
    (lambda: sch.wsd(10, 0.1, 3, 0.0), "eta_min"),
    (lambda: sch.wsd(10, 0.1, 12, 0.01), "decay_start"),
    (lambda: sch.wsd(10, 0.1, 3, 0.01, decay="cosine"), "decay"),
    (lambda: sch.two_stage(10, 0.1, 0.01, 11), "switch"),
    (lambda: sch.two_stage(10, 0.1, 0.0, 5), "eta_low"),
    (lambda: sch.constant(2.5, 0.1), "T"),
])
def test_validation(call, name):
    with pytest.raises(ValueError, match=name):
        call()
