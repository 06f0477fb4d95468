"""Tests of scalinglaws.schedule_optimisation against independent computations.

- the forward pass: zipf's own curve, per-feature closed forms, and a brute-force loop in exact
  rational arithmetic (fractions) with the tail mass from mpmath;
- the adjoint gradient: float and mpmath (40-digit) finite differences, a random directional derivative;
- the coordinate minimiser and the optimiser: brute-force search on tiny problems, the certificate,
  the projected-gradient path, the backward-compatible wrapper;
- the Frank--Wolfe gap against enumeration of the constraint set's vertices; the projection against
  the variational inequality at every vertex;
- the lower bound: brute-force search for one feature, the closed form, random schedules, and its
  asymptote against scipy's Lambert W and quadrature;
- rejection of bad arguments with messages naming them, and the caps on requested work.
"""

import itertools
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalinglaws import schedule_optimisation as so
from scalinglaws import schedules as sch
from scalinglaws import work_limits, zipf
from scipy import integrate, optimize, special

rates = st.floats(1e-4, 1 / 3, allow_nan=False)


# ----------------------------------------------------------------------------- forward pass
@pytest.mark.parametrize("N, a, b", [(50, 1.0, 1.0), (3000, 0.5, 1.5), (5000, 1.0, 1.0)])
def test_forward_matches_zipf_curve(N, a, b):
    e = sch.wsd(400, 0.3, 300, 0.003, "geometric", warmup=20)
    want = zipf.expected_loss_curve(e, N, a, b)
    for exact in (False, True):
        got = so.loss_curve(e, N, a, b, exact_features=exact)
        np.testing.assert_allclose(got, want, rtol=1e-11)
    L, _ = so.final_loss_and_gradient(e, N, a, b)
    assert L == pytest.approx(want[-1], rel=1e-12)
    assert so.final_loss(e, N, a, b) == pytest.approx(want[-1], rel=1e-13)


def _exact_loss(etas, K, a):
    """The recursion in exact rationals (float inputs converted exactly); tail mass from mpmath."""
    with mpmath.workdps(40):
        z = mpmath.zeta(a + 1)
        p = [Fraction(float(mpmath.mpf(k) ** (-(a + 1)) / z)) for k in range(1, K + 1)]
        tau = float(mpmath.zeta(a + 1, K + 1) / z)
    m = [Fraction(9)] * K
    curve = []
    for eta in etas:
        e = Fraction(float(eta))
        s = e * (2 - 3 * e)
        m = [(1 - pk * s) * mk + pk * e * e for pk, mk in zip(p, m)]
        curve.append(0.5 + 0.5 * (float(sum(pk * mk for pk, mk in zip(p, m))) + 9 * tau))
    return np.array(curve)


@settings(max_examples=25, deadline=None)
@given(st.lists(rates, min_size=1, max_size=12), st.integers(1, 6), st.sampled_from([0.3, 1.0, 2.5]))
def test_loss_curve_against_exact_rationals(etas, N, a):
    got = so.loss_curve(etas, N, a, 1.0, exact_features=True)
    np.testing.assert_allclose(got, _exact_loss(etas, N, a), rtol=1e-13)
    assert so.final_loss(etas, N, a, 1.0, exact_features=True) == pytest.approx(got[-1], rel=1e-15)


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
    # piecewise-constant rate: after n steps at rate eta, m = m* + (m_start - m*) (1 - p s)^n, per feature
    T, switch, hi, lo = 200, 120, 0.3, 0.02
    e = sch.two_stage(T, hi, lo, switch)
    K = int(zipf.feature_count(N, b))
    p = zipf.feature_probabilities(K, a)

    def stage(m0, eta, n):
        mstar = eta / (2 - 3 * eta)
        return mstar + (m0 - mstar) * (1 - p * eta * (2 - 3 * eta)) ** n

    def loss(m):
        return 0.5 + 0.5 * (math.fsum(p * m) + 9 * zipf.tail_mass(K, a))
    curve = so.loss_curve(e, N, a, b, exact_features=True)
    for n in (1, 60, switch, switch + 1, T):
        m = stage(np.full(K, 9.0), hi, min(n, switch))
        if n > switch:
            m = stage(m, lo, n - switch)
        assert curve[n - 1] == pytest.approx(loss(m), rel=1e-12)
        assert so.final_loss(e[:n], N, a, b, exact_features=True) == pytest.approx(loss(m), rel=1e-12)


# ----------------------------------------------------------------------------- gradient
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


def _mp_loss(etas, p, w):
    m = [mpmath.mpf(9)] * len(p)
    for e in etas:
        s = e * (2 - 3 * e)
        m = [(1 - pk * s) * mk + pk * e * e for pk, mk in zip(p, m)]
    return mpmath.fsum(wk * mk for wk, mk in zip(w, m)) / 2


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.01, 0.32), min_size=1, max_size=25), st.integers(1, 8),
       st.sampled_from([0.5, 1.0, 3.0]))
def test_adjoint_gradient_against_mpmath_differences(etas, N, a):
    # central differences at 40 digits with h = 1e-15: truncation O(h^2), rounding 1e-25
    _, g = so.final_loss_and_gradient(etas, N, a, 1.0, exact_features=True)
    p, w, _ = so.feature_table(N, a, 1.0, exact_features=True)
    with mpmath.workdps(40):
        pm = [mpmath.mpf(float(x)) for x in p]
        wm = [mpmath.mpf(float(x)) for x in w]
        h = mpmath.mpf("1e-15")
        for t in range(len(etas)):
            ep = [mpmath.mpf(x) for x in etas]
            em = list(ep)
            ep[t] += h
            em[t] -= h
            fd = float((_mp_loss(ep, pm, wm) - _mp_loss(em, pm, wm)) / (2 * h))
            assert g[t] == pytest.approx(fd, rel=1e-10, abs=1e-17)


def test_gradient_independent_of_checkpointing():
    e = sch.two_stage(257, 0.3, 0.05, 100, warmup=10)
    ref = so.final_loss_and_gradient(e, 500, 0.7, 1.0, segment=257)
    for seg in (1, 5, 16, 100, 10**6):
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


# ----------------------------------------------------------------------------- optimiser
def test_coordinate_minimiser_is_exact():
    # one sweep over the last coordinate only (x0 fixed elsewhere by warmup = T-1): the result is the
    # minimiser of the quadratic through three loss evaluations
    N, a, b, T = 300, 1.0, 1.0, 40
    x0 = sch.cosine(T, 0.3, 0.01)
    res = so.minimise_final_loss(N, a, b, T, warmup=T - 1, x0=x0, relaxation=1.0, max_sweeps=1,
                                 monotone=False)
    f = [so.final_loss(np.r_[x0[:-1], v], N, a, b) for v in (0.05, 0.1, 0.15)]
    c2, c1, _ = np.polyfit([0.05, 0.1, 0.15], f, 2)
    assert res.etas[-1] == pytest.approx(-c1 / (2 * c2), rel=1e-7)
    np.testing.assert_array_equal(res.etas[:-1], x0[:-1])


@pytest.mark.parametrize("N, T", [(1, 2), (3, 2), (3, 3)])
def test_optimum_against_brute_force(N, T):
    # grid search on (0, 1/3]^T, refined by Nelder-Mead from the best grid point
    a, b = 1.0, 1.0
    res = so.minimise_final_loss(N, a, b, T, monotone=False)
    grid = np.linspace(0.01, 1 / 3, 33)
    best = min(itertools.product(grid, repeat=T), key=lambda x: so.final_loss(np.array(x), N, a, b))
    nm = optimize.minimize(lambda x: so.final_loss(np.clip(x, 1e-6, 1 / 3), N, a, b), best, method="Nelder-Mead",
                           options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 20000})
    assert res.converged and res.loss <= nm.fun + 1e-15
    np.testing.assert_allclose(res.etas, np.clip(nm.x, 1e-6, 1 / 3), atol=1e-6)


def test_optimal_schedule_certified_and_better_than_standard_schedules():
    N, a, b, T = 2000, 1.0, 1.0, 400
    res = so.minimise_final_loss(N, a, b, T)
    assert res.converged and res.relative_gap <= 1e-10 and res.monotone_binds is False
    assert np.all(np.diff(res.etas) <= 0) and res.etas.max() < 1 / 3 and res.etas.min() > 0
    # the stationarity condition: interior optimum, gradient zero
    _, g = so.final_loss_and_gradient(res.etas, N, a, b)
    assert np.abs(g).max() < 1e-12
    assert res.loss == pytest.approx(zipf.expected_loss_curve(res.etas, N, a, b)[-1], rel=1e-12)
    # the first rate is the per-feature best rate at m = 9, 9/28, whatever the feature (module docstring)
    assert res.etas[0] == pytest.approx(9 / 28, rel=1e-9)
    assert res.loss < zipf.optimal_loss(T, N, a, b)[0]
    assert res.loss < so.final_loss(sch.cosine(T, 1 / 3, 0.0), N, a, b)
    # the same optimum from a random start, and by the free (box) problem
    rng = np.random.default_rng(0)
    other = so.minimise_final_loss(N, a, b, T, x0=rng.uniform(0.01, 1 / 3, T), monotone=False)
    np.testing.assert_allclose(other.etas, res.etas, atol=1e-8)


def test_projected_gradient_path_reaches_the_same_optimum():
    # no sweeps: from a non-monotone start, the projected-gradient phase must do all the work
    N, a, b, T = 500, 1.0, 1.0, 120
    ref = so.minimise_final_loss(N, a, b, T)
    x0 = np.random.default_rng(1).uniform(0.01, 0.3, T)
    res = so.minimise_final_loss(N, a, b, T, x0=x0, max_sweeps=0, max_projected_steps=3000)
    assert res.monotone_binds and res.projected_steps > 0 and res.converged
    np.testing.assert_allclose(res.etas, ref.etas, atol=1e-6)
    assert res.loss == pytest.approx(ref.loss, rel=1e-12)


def test_projected_gradient_method_on_the_box():
    N, a, b, T = 300, 1.0, 1.0, 60
    ref = so.minimise_final_loss(N, a, b, T, monotone=False)
    res = so.minimise_final_loss(N, a, b, T, monotone=False, method="projected-gradient",
                                 max_projected_steps=5000)
    assert res.sweeps == 0 and res.converged
    np.testing.assert_allclose(res.etas, ref.etas, atol=1e-6)


def test_box_and_warmup_constraints():
    N, a, b, T, W, hi = 2000, 1.0, 1.0, 300, 30, 0.2
    res = so.minimise_final_loss(N, a, b, T, eta_max=hi, warmup=W)
    np.testing.assert_array_equal(res.etas[:W], sch.linear_warmup(W, hi))
    assert res.converged and res.etas[W:].max() == hi and np.all(np.diff(res.etas[W:]) <= 0)
    # at an active upper bound the gradient is negative (raising the rate would help); interior: zero
    _, g = so.final_loss_and_gradient(res.etas, N, a, b)
    at_cap = res.etas[W:] == hi
    assert np.all(g[W:][at_cap] < 0) and np.abs(g[W:][~at_cap]).max() < 1e-12


def test_optimal_schedule_wrapper():
    etas, loss, hist = so.optimal_schedule(500, 1.0, 1.0, 100)
    res = so.minimise_final_loss(500, 1.0, 1.0, 100)
    np.testing.assert_array_equal(etas, res.etas)
    assert loss == res.loss and hist[-1] == loss and hist[0] > loss


def test_loss_is_not_convex_in_the_schedule():
    # one visible feature, constant rate 0.2 for 100 steps: the Hessian (finite differences of the
    # adjoint gradient) has a negative eigenvalue, and the 50-digit second difference of the loss along
    # its eigenvector confirms the negative curvature. So the Frank-Wolfe gap is a first-order
    # certificate, not a global one (module docstring).
    x = np.full(100, 0.2)
    h = 1e-6
    H = np.empty((100, 100))
    for j in range(100):
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        H[:, j] = (so.final_loss_and_gradient(xp, 1, 1.0, 1.0)[1] - so.final_loss_and_gradient(xm, 1, 1.0, 1.0)[1]) / (2 * h)
    vals, vecs = np.linalg.eigh(0.5 * (H + H.T))
    assert vals[0] < 0
    v = vecs[:, 0]
    with mpmath.workdps(50):
        p = [mpmath.mpf(float(so.feature_table(1, 1.0, 1.0, True)[0][0]))]
        step = mpmath.mpf("1e-3")
        xs = [mpmath.mpf(0.2)] * 100
        vs = [mpmath.mpf(float(t)) for t in v]

        def f(c):
            return _mp_loss([xi + c * vi for xi, vi in zip(xs, vs)], p, p)
        curvature = (f(step) + f(-step) - 2 * f(0)) / step**2
    assert curvature < 0 and float(curvature) == pytest.approx(vals[0], rel=1e-3)


# ----------------------------------------------------------------------------- certificates, projection
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7), st.integers(0, 3), st.booleans(), st.randoms(use_true_random=False))
def test_frank_wolfe_gap_against_vertex_enumeration(T, head, monotone, rnd):
    head = min(head, T)
    lo, hi = 0.01, 0.3
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    x = rng.uniform(lo, hi, T)
    if monotone:
        x[head:] = np.sort(x[head:])[::-1]
    g = rng.normal(size=T)
    n = T - head
    if monotone:
        vertices = [np.r_[x[:head], [hi] * j + [lo] * (n - j)] for j in range(n + 1)]
    else:
        vertices = [np.r_[x[:head], v] for v in itertools.product([lo, hi], repeat=n)]
    want = max(0.0, max(float(g @ (x - y)) for y in vertices))
    assert so.frank_wolfe_gap(x, g, lo, hi, monotone=monotone, head=head) == pytest.approx(want, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=12), st.integers(0, 3))
def test_projection_is_euclidean_projection(vals, head):
    v = np.array(vals)
    head = min(head, v.size)
    lo, hi = 0.01, 0.5
    P = so.project_monotone(v, hi, lo, head=head)
    assert np.all(P >= lo) and np.all(P <= hi) and np.all(np.diff(P[head:]) <= 0)
    # the variational inequality <v - P, y - P> <= 0 at every vertex y of the (polytope) constraint set
    n = v.size - head
    for j in range(n + 1):
        for corner in itertools.product([lo, hi], repeat=head):
            y = np.r_[corner, [hi] * j + [lo] * (n - j)]
            assert np.dot(v - P, y - P) <= 1e-12


def test_projection_against_quadratic_programme():
    rng = np.random.default_rng(5)
    v = rng.normal(0.2, 0.2, 15)
    P = so.project_monotone(v, 0.4, 0.05)
    cons = [{"type": "ineq", "fun": lambda y: -np.diff(y)}]
    qp = optimize.minimize(lambda y: np.sum((y - v) ** 2), np.full(15, 0.2), jac=lambda y: 2 * (y - v),
                           bounds=[(0.05, 0.4)] * 15, constraints=cons, method="SLSQP",
                           options={"ftol": 1e-15, "maxiter": 1000})
    np.testing.assert_allclose(P, qp.x, atol=1e-7)


# ----------------------------------------------------------------------------- lower bound
def _best_single_feature(p, T):
    """min over (eta_1..eta_T) of m(T) for one feature, by Nelder-Mead from a grid (brute force)."""
    def m_T(x):
        m = 9.0
        for e in x:
            m = (1 - p * e * (2 - 3 * e)) * m + p * e * e
        return m
    grid = np.linspace(0.0, 0.6, 25)
    best = min(itertools.product(grid, repeat=T), key=m_T)
    return optimize.minimize(m_T, best, method="Nelder-Mead",
                             options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 20000}).fun


@pytest.mark.parametrize("p, T", [(1.0, 1), (0.6, 2), (0.3, 3), (0.05, 3)])
def test_per_feature_bound_is_the_best_schedule(p, T):
    # the greedy rate m/(3m+1) at every step is optimal for one feature (dynamic programming)
    got = so.per_feature_lower_bound(np.array([p]), T, closed_form_below=0.0)[0]
    assert got == pytest.approx(_best_single_feature(p, T), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(1e-7, 1.0), st.integers(0, 3000))
def test_closed_form_bound_is_below_the_iteration(p, T):
    iterated = so.per_feature_lower_bound(np.array([p]), T, closed_form_below=0.0)[0]
    closed = so.per_feature_lower_bound(np.array([p]), T, closed_form_below=1.0)[0]
    assert closed <= iterated * (1 + 1e-12)
    if p <= 1e-3:  # looser by a relative O(p) only
        assert closed >= iterated * (1 - 5 * p) - 1e-15


@settings(max_examples=20, deadline=None)
@given(st.lists(rates, min_size=1, max_size=60), st.sampled_from([(3, 1.0), (5000, 1.0), (10**6, 1.5)]),
       st.sampled_from([0.4, 1.0, 2.0]))
def test_lower_bound_is_below_every_schedule(etas, Nb, a):
    N, b = Nb
    T = len(etas)
    lb = so.final_loss_lower_bound(T, N, a, b)
    floor = 0.5 + 4.5 * zipf.tail_mass(zipf.feature_count(N, b), a)
    assert floor <= lb <= so.final_loss(etas, N, a, b) * (1 + 1e-12)


def test_lower_bound_is_tight_to_within_a_fifth_and_below_the_optimum():
    N, a, b, T = 10**6, 1.0, 1.0, 300
    res = so.minimise_final_loss(N, a, b, T)
    lb = so.final_loss_lower_bound(T, N, a, b)
    floor = res.loss - res.excess
    assert lb < res.loss and (res.loss - floor) / (lb - floor) < 1.2


def test_lower_bound_asymptote_against_scipy():
    # mu from scipy's Wright omega function (omega(z) = W(e^z) solves v + log v = z), integral by quad
    F9 = 1 / 9 - 3 * math.log(9)
    # the whole domain of a: the ends 1e-3 and 50 are where a quadrature in x fails (a singularity
    # x^-0.999 at 0, a tail x^-1.02 at infinity)
    for a in (1e-3, 0.5, 1.0, 2.0, 10.0, 50.0):
        def mu(x):
            return 1 / (3 * special.wrightomega((F9 + x) / 3 - math.log(3)).real)

        q = 1 / (a + 1)
        # in u = log x on [-40, 70], plus the two ends in closed form (mu ~ 9 near 0, ~ 1/x at infinity)
        edges = np.linspace(-40, 70, 23)
        I = sum(integrate.quad(lambda u, q=q: math.exp(u * (1 - q)) * mu(math.exp(u)), lo, hi,
                               epsrel=1e-13)[0] for lo, hi in itertools.pairwise(edges))
        I += 9 * math.exp(-40 * (1 - q)) / (1 - q) + math.exp(-70 * q) / q
        want = special.zeta(a + 1) ** (-q) / (2 * (a + 1)) * I
        assert so.lower_bound_asymptote(a) == pytest.approx(want, rel=1e-12)
        if a in (1e-3, 50.0):   # the most precise quadrature agrees too (and is fast)
            assert so.lower_bound_asymptote(a, dps=100) == pytest.approx(want, rel=1e-12)


def test_lower_bound_approaches_its_asymptote():
    a, b, N = 1.0, 1.0, 10**9
    K = zipf.feature_count(N, b)
    floor = 0.5 + 4.5 * zipf.tail_mass(K, a)
    c = so.lower_bound_asymptote(a)
    norm = [(so.final_loss_lower_bound(T, N, a, b) - floor) * T ** 0.5 / c for T in (10**3, 10**4, 10**5)]
    # measured -1.9e-3, -5.6e-4, -1.6e-4: the correction shrinks by more than half per decade of T
    assert abs(norm[-1] - 1) < 3e-4
    assert all(abs(later - 1) < 0.5 * abs(earlier - 1) for earlier, later in zip(norm, norm[1:]))


# ----------------------------------------------------------------------------- continuous model
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
    errs = []
    for scale in (1.0, 0.1):
        e2 = sch.cosine(400, 0.1 * scale, 0.001 * scale, warmup=20)
        exact = zipf.expected_loss_curve(e2, N, a, b)
        errs.append(np.max(np.abs(so.continuous_loss_curve(e2, N, a, b) / exact - 1)))
    assert errs[1] < 0.2 * errs[0]


def test_area_functions_against_direct_sums():
    N, a, b = 200, 1.0, 1.0
    p, w, tau = so.feature_table(N, a, b, exact_features=True)
    S = np.array([0.0, 0.5, 30.0, 1e4])
    want_g = [0.25 * math.fsum(w * (1 - np.exp(-2 * p * s))) for s in S]
    want_L = [0.5 + 0.5 * (math.fsum(w * (9 * np.exp(-2 * p * s) + 0.05 * (1 - np.exp(-2 * p * s)))) + 9 * tau)
              for s in S]
    np.testing.assert_allclose(so.drop_kernel(S, N, a, b, True), want_g, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(so.constant_area_loss(S, 0.1, N, a, b, True), want_L, rtol=1e-13)


# ----------------------------------------------------------------------------- extreme arguments
def _one_feature(etas, p):
    m = 9.0
    for x in etas:
        m = (1 - p * x * (2 - 3 * x)) * m + p * x * x
    return m


def test_extreme_but_valid_arguments():
    e = np.full(30, 0.2)
    # a huge: feature 1 carries all the mass (p_1 = 1), the 1-D recursion of Part I
    assert so.final_loss(e, 1000, 1e300, 1.0) == pytest.approx(0.5 + 0.5 * _one_feature(e, 1.0), rel=1e-14)
    # b huge: only feature 1 is visible, the rest costs 9 each
    p1 = 6 / math.pi**2
    want = 0.5 + 0.5 * (p1 * _one_feature(e, p1) + 9 * (1 - p1))
    assert so.final_loss(e, 1000, 1.0, 1e300) == pytest.approx(want, rel=1e-14)
    # a = 20: the first 2048 features alone agree with zipf's quadrature of all 1e12
    assert so.final_loss(e, 10**12, 20.0, 1.0) == pytest.approx(zipf.expected_loss_curve(e, 10**12, 20.0, 1.0)[-1],
                                                                rel=1e-14)
    # one feature: the optimum is the greedy schedule, so it meets the lower bound
    res = so.minimise_final_loss(1000, 1e300, 1.0, 30)
    assert res.loss == pytest.approx(so.final_loss_lower_bound(30, 1000, 1e300, 1.0), rel=1e-12)
    assert so.final_loss(e, 10**18, 1.0, 1.0) > 0.5
    # a tiny: the visible features carry a mass of order a log N, so the loss is that of no training, 5
    assert so.final_loss([0.1], 1000, 1e-300, 1.0) == 5.0
    # ... where nothing can be learned, every schedule is optimal: a zero gap over a zero excess
    res = so.minimise_final_loss(1000, 1e-300, 1.0, 30)
    assert res.loss == 5.0 and res.gap == 0.0 and res.relative_gap == 0.0 and res.converged


@pytest.mark.parametrize("call, pattern", [
    (lambda: so.final_loss([0.1], 10**19, 1.0, 1.0), "^N must"),
    (lambda: so.final_loss_lower_bound(10, 1000, 5e-324, 1.0), "^a = 5e-324"),
])
def test_refuses_what_it_cannot_evaluate(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ----------------------------------------------------------------------------- rejection
GOOD = {"etas": [0.1, 0.2], "N": 10, "a": 1.0, "b": 1.0}
BAD_VALUES = [float("nan"), float("inf"), "0.5", True, None, 1 + 2j]


@pytest.mark.parametrize("name", ["N", "a", "b"])
@pytest.mark.parametrize("bad", BAD_VALUES + [-1, 0])
@pytest.mark.parametrize("fn", [so.loss_curve, so.final_loss, so.final_loss_and_gradient, so.continuous_loss_curve])
def test_rejects_bad_model_arguments(fn, name, bad):
    if name == "b" and bad == 0:
        bad = 0.5
    args = dict(GOOD, **{name: bad})
    with pytest.raises(ValueError, match=rf"^{name} "):
        fn(args["etas"], args["N"], args["a"], args["b"])


@pytest.mark.parametrize("bad", [[], [0.1, float("nan")], [0.1, 0.5], [0.0], "0.1", [[0.1]], [True, False], None])
@pytest.mark.parametrize("fn", [so.loss_curve, so.final_loss, so.final_loss_and_gradient, so.continuous_loss_curve])
def test_rejects_bad_schedules(fn, bad):
    with pytest.raises(ValueError, match="etas"):
        fn(bad, 10, 1.0, 1.0)


@pytest.mark.parametrize("call, name", [
    (lambda: so.final_loss_and_gradient([0.1], 10, 1.0, 1.0, segment=0), "segment"),
    (lambda: so.final_loss([0.1], 10, 1.0, 1.0, exact_features=1), "exact_features"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, eta_max=0.5), "eta_max"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, eta_min=0.4), "eta_min"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, warmup=5), "warmup"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 0), "T"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, x0=[0.1] * 4), "x0"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, gap_tol=0.0), "gap_tol"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, gap_tol=float("inf")), "gap_tol"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, relaxation=2.0), "relaxation"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, max_sweeps=-1), "max_sweeps"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, monotone="yes"), "monotone"),
    (lambda: so.optimal_schedule(10, 1.0, 1.0, 5, iters=2.5), "iters"),
    (lambda: so.minimise_final_loss(10, 1.0, 1.0, 5, method="newton"), "method"),
    (lambda: so.frank_wolfe_gap([0.1, 0.2], [1.0, 1.0], 0.01, 0.3), "^etas must be non-increasing"),
    (lambda: so.frank_wolfe_gap([0.1, 0.5], [1.0, 1.0], 0.01, 0.3, monotone=False), r"^etas must lie in \[eta_min"),
    (lambda: so.frank_wolfe_gap([0.1, 0.05], [1.0], 0.01, 0.3), "grad"),
    (lambda: so.frank_wolfe_gap([0.1, 0.05], [1.0, 1.0], 0.4, 0.3), "eta_min"),
    (lambda: so.project_monotone([0.1, 0.2], 0.3, 0.01, head=3), "head"),
    (lambda: so.project_monotone([0.1, float("inf")], 0.3), "v"),
    (lambda: so.per_feature_lower_bound([1.5], 3), "p"),
    (lambda: so.per_feature_lower_bound([0.5], -1), "T"),
    (lambda: so.final_loss_lower_bound(10, 10, 1.0, 1.0, block_ratio=1.0), "block_ratio"),
    (lambda: so.lower_bound_asymptote(0.0), "a"),
    (lambda: so.lower_bound_asymptote(1.0, dps=10**6), "dps"),
    (lambda: so.constant_area_loss([1.0], 0.5, 10, 1.0, 1.0), "eta0"),
    (lambda: so.drop_kernel([-1.0], 10, 1.0, 1.0), "S"),
    (lambda: so.feature_table(10, 1.0, 1.0, exact_features="no"), "exact_features"),
])
def test_rejects_bad_arguments(call, name):
    # an argument's name must open the message ("eta_max must be ..."); other entries are fragments
    with pytest.raises(ValueError, match=rf"^{name} must" if name.isidentifier() else name):
        call()


@pytest.mark.parametrize("call", [
    lambda: so.final_loss(np.full(10**7, 0.1), 10**6, 1.0, 1.0),
    lambda: so.feature_table(10**12, 1.0, 1.0, exact_features=True),
    lambda: so.loss_curve([0.1], 10**12, 1.0, 1.0, exact_features=True),
    lambda: so.minimise_final_loss(10**6, 1.0, 1.0, 10**6),
    lambda: so.per_feature_lower_bound(np.full(10, 0.5), 10**12),
    lambda: so.final_loss_and_gradient(np.full(10**6, 0.1), 10**6, 1.0, 1.0, segment=10**6),
])
def test_refuses_requests_above_the_work_caps(call):
    with pytest.raises(ValueError, match="work_limits"):
        call()


def test_work_cap_can_be_lifted():
    # the cap counts the iterations asked for, not those needed
    with pytest.raises(ValueError, match="work_limits"):
        so.minimise_final_loss(10, 1.0, 1.0, 1000, max_sweeps=10**7)
    with work_limits(operations=float("inf")):
        assert so.minimise_final_loss(10, 1.0, 1.0, 1000, max_sweeps=10**7).converged
