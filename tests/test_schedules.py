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


def _direct(kind, T, W, hi, lo, extra):
    """Each schedule written out step by step with math (the textbook formulas, loops, no numpy)."""
    out = []
    for s in range(T):
        if s < W:
            out.append(_warm(s, W, hi))
            continue
        u = (s - W) / (T - W)
        if kind == "constant":
            out.append(hi)
        elif kind == "cosine":
            out.append(lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * u)))
        elif kind == "polynomial":
            out.append(lo + (hi - lo) * (1 - u) ** extra)
        elif kind == "two_stage":
            out.append(hi if s < extra else lo)
        else:  # wsd, extra = (decay_start, decay)
            start, decay = extra
            if s < start:
                out.append(hi)
            else:
                v = (s - start) / (T - start)
                out.append(hi ** (1 - v) * lo ** v if decay == "geometric" else hi * (1 - v) + lo * v)
    return out


@settings(max_examples=80, deadline=None)
@given(T=st.integers(1, 300), frac_w=st.floats(0, 0.99), eta=st.floats(1e-6, 10.0),
       frac_lo=st.floats(0.001, 1.0), frac_s=st.floats(0, 1), q=st.floats(0.1, 8.0))
def test_schedules_against_direct_formulas(T, frac_w, eta, frac_lo, frac_s, q):
    W = min(int(frac_w * T), T - 1)
    lo = eta * frac_lo
    start = min(W + int(frac_s * (T - W)), T - 1)
    switch = W + int(frac_s * (T - W))
    cases = [("constant", sch.constant(T, eta, W), None),
             ("cosine", sch.cosine(T, eta, lo, W), None),
             ("polynomial", sch.polynomial_decay(T, eta, q, lo, W), q),
             ("two_stage", sch.two_stage(T, eta, lo, switch, W), switch),
             ("wsd", sch.wsd(T, eta, start, lo, "geometric", W), (start, "geometric")),
             ("wsd", sch.wsd(T, eta, start, lo, "linear", W), (start, "linear"))]
    for kind, got, extra in cases:
        np.testing.assert_allclose(got, _direct(kind, T, W, eta, lo, extra), rtol=1e-12)


def test_polynomial_decay_formula_and_linear_case():
    T, W, hi, lo = 50, 5, 0.3, 0.01
    got = sch.polynomial_decay(T, hi, 1.0, lo, warmup=W)
    np.testing.assert_allclose(got, sch.wsd(T, hi, W, lo, "linear", warmup=W), rtol=1e-14)
    cubic = sch.polynomial_decay(T, hi, 3.0)
    assert cubic[-1] == pytest.approx(hi / T**3, rel=1e-14) and np.all(np.diff(cubic) < 0)


@settings(max_examples=60, deadline=None)
@given(T=st.integers(1, 400), frac_w=st.floats(0, 0.99), eta=st.floats(1e-6, 1 / 3),
       frac_lo=st.floats(0.001, 1.0))
def test_properties(T, frac_w, eta, frac_lo):
    W = min(int(frac_w * T), T - 1)
    lo = eta * frac_lo
    scheds = [sch.constant(T, eta, W), sch.cosine(T, eta, lo, W),
              sch.wsd(T, eta, W, lo, "geometric", W), sch.wsd(T, eta, W, lo, "linear", W),
              sch.two_stage(T, eta, lo, W, W), sch.polynomial_decay(T, eta, 2.0, 0.0, W)]
    for e in scheds:
        assert e.shape == (T,)
        assert np.all(e > 0) and np.all(e <= eta * (1 + 1e-12))
        # warmup increasing, post-warmup non-increasing (all these schedules are monotone)
        if W:
            assert np.all(np.diff(e[:W]) > 0) and e[W - 1] == eta
        assert np.all(np.diff(e[W:]) <= 1e-15)


def test_extreme_but_valid_values():
    assert np.all(np.isfinite(sch.cosine(10, 1e308, 0.0, warmup=3)))
    assert sch.wsd(10, 1e-300, 2, 1e-305)[-1] > 0
    assert sch.constant(1e3, 0.1).size == 1000                      # integral float accepted as a count
    np.testing.assert_array_equal(sch.area([1e308, 1e308 * 0.5]), [1e308, 1.5e308])


@pytest.mark.parametrize("call", [
    lambda: sch.cosine(10**6, 5e-320, 0.0),                 # last rate 5e-320 * 2.5e-12 underflows
    lambda: sch.polynomial_decay(10**3, 0.1, 200.0),        # (1/1000)^200 underflows
    lambda: sch.area([1e308, 1e308]),
])
def test_not_representable(call):
    with pytest.raises(ValueError, match="not representable"):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda: sch.constant(0, 0.1), "T"),
    (lambda: sch.constant(10, 0.1, warmup=10), "warmup"),
    (lambda: sch.constant(10, -0.1), "eta_max"),
    (lambda: sch.constant(10, float("nan")), "eta_max"),
    (lambda: sch.constant(10, float("inf")), "eta_max"),
    (lambda: sch.constant(10, "0.1"), "eta_max"),
    (lambda: sch.constant(10, True), "eta_max"),
    (lambda: sch.constant(10, None), "eta_max"),
    (lambda: sch.constant(True, 0.1), "T"),
    (lambda: sch.constant("10", 0.1), "T"),
    (lambda: sch.cosine(10, 0.1, 0.2), "eta_min"),
    (lambda: sch.cosine(10, 0.1, -0.01), "eta_min"),
    (lambda: sch.wsd(10, 0.1, 3, 0.0), "eta_min"),
    (lambda: sch.wsd(10, 0.1, 12, 0.01), "decay_start"),
    (lambda: sch.wsd(10, 0.1, 3, 0.01, warmup=5), "decay_start"),
    (lambda: sch.wsd(10, 0.1, 3, 0.01, decay="cosine"), "decay"),
    (lambda: sch.wsd(10, 0.1, 3, 0.01, decay=None), "decay"),
    (lambda: sch.two_stage(10, 0.1, 0.01, 11), "switch"),
    (lambda: sch.two_stage(10, 0.1, 0.0, 5), "eta_low"),
    (lambda: sch.polynomial_decay(10, 0.1, 0.0), "power"),
    (lambda: sch.polynomial_decay(10, 0.1, float("inf")), "power"),
    (lambda: sch.polynomial_decay(10, 0.1, 2.0, eta_min=0.2), "eta_min"),
    (lambda: sch.linear_warmup(-1, 0.1), "warmup"),
    (lambda: sch.linear_warmup(3, 0.0), "eta_max"),
    (lambda: sch.constant(2.5, 0.1), "T"),
    (lambda: sch.area([[0.1]]), "etas"),
    (lambda: sch.area([0.1, float("nan")]), "etas"),
    (lambda: sch.area("0.1"), "etas"),
    (lambda: sch.area([0.1, -0.2]), "etas"),
])
def test_validation(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call()


@pytest.mark.parametrize("call", [
    lambda: sch.constant(10**12, 0.1),
    lambda: sch.cosine(1e15, 0.1),
    lambda: sch.linear_warmup(10**12, 0.1),
    lambda: sch.polynomial_decay(10**30, 0.1, 2.0),
])
def test_refuses_huge_schedules(call):
    with pytest.raises(ValueError, match="work_limits"):
        call()
