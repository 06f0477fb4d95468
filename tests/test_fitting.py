"""Tests of scalinglaws.fitting against independent computations.

- exact synthetic data generated from the law: the fit recovers all five parameters;
- outliers: the Huber fit stays close to the truth where least squares (a huge delta) does not;
- the analytic gradient against central finite differences; the objective against scipy.special.huber
  summed over a direct evaluation of the law;
- the screened grid (L-BFGS-B from the best grid points) against starting from every grid point;
- the compute-optimal allocation against a brute-force one-dimensional minimisation;
- the bootstrap: reproducible for a seed, zero spread on exact data, and a spread comparable with the
  spread over independent noise replicates;
- input validation.
"""

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scalinglaws import fitting
from scalinglaws.fitting import (
    HOFFMANN_GRID,
    allocation_exponents,
    chinchilla_loss,
    compute_optimal_allocation,
    fit_chinchilla,
    huber,
    isoflop_minimum,
    objective_and_gradient,
)
from scipy.optimize import minimize_scalar
from scipy.special import huber as scipy_huber

CHINCHILLA_LIKE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
ZIPF_LIKE = {"E": 0.5, "A": 2.3, "B": 6.0, "alpha": 0.5, "beta": 0.33}


def design(n_side=6, logN=(6, 9), logD=(8, 11)):
    N, D = np.meshgrid(np.logspace(*logN, n_side), np.logspace(*logD, n_side))
    return N.ravel(), D.ravel()


def direct_law(N, D, p):
    """The law written out independently of the module."""
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def assert_params_close(fit, truth, rtol):
    for name in ("E", "A", "B", "alpha", "beta"):
        assert fit[name] == pytest.approx(truth[name], rel=rtol), name


@pytest.mark.parametrize("truth, logN, logD", [
    (CHINCHILLA_LIKE, (6, 9), (8, 11)),
    (ZIPF_LIKE, (1, 5), (1, 6)),
])
def test_recovers_exact_parameters(truth, logN, logD):
    N, D = design(6, logN, logD)
    fit = fit_chinchilla(N, D, direct_law(N, D, truth))
    assert_params_close(fit, truth, rtol=1e-6)
    assert set(fit) == {"E", "A", "B", "alpha", "beta"}
    assert np.max(np.abs(fit.residuals)) < 1e-8


@settings(max_examples=8, deadline=None, derandomize=True)
@given(E=st.floats(0.2, 3.0), logA=st.floats(-1.0, 6.0), logB=st.floats(-1.0, 6.0),
       alpha=st.floats(0.15, 0.9), beta=st.floats(0.15, 0.9))
def test_recovers_random_parameters(E, logA, logB, alpha, beta):
    # Both power-law terms must be visible above E on the design for the parameters to be identified.
    truth = {"E": E, "A": float(np.exp(logA)), "B": float(np.exp(logB)), "alpha": alpha, "beta": beta}
    N, D = design(6, (1, 4), (1, 4))
    fit = fit_chinchilla(N, D, direct_law(N, D, truth))
    assert_params_close(fit, truth, rtol=1e-4)


def test_robust_to_outliers():
    truth = CHINCHILLA_LIKE
    N, D = design(7)
    loss = direct_law(N, D, truth)
    corrupted = loss.copy()
    corrupted[[3, 17, 30]] *= [1.5, 0.7, 2.0]  # three gross outliers out of 49 points
    robust = fit_chinchilla(N, D, corrupted)
    least_squares = fit_chinchilla(N, D, corrupted, delta=10.0)  # Huber = r^2/2 everywhere
    for name in ("alpha", "beta"):
        robust_error = abs(robust[name] - truth[name])
        assert robust_error < 0.01 * truth[name], name
        assert robust_error < 0.2 * abs(least_squares[name] - truth[name]), name


@pytest.mark.parametrize("theta", [
    [0.5, 6.0, 6.0, 0.34, 0.28],   # near the truth: residuals in the quadratic zone
    [1.0, 5.0, 8.0, 0.5, 0.5],     # far: residuals in the linear zone
    [-0.7, 0.8, 1.8, 0.5, 0.33],
])
def test_gradient_matches_finite_differences(theta):
    N, D = design(5)
    rng = np.random.default_rng(3)
    loss = direct_law(N, D, CHINCHILLA_LIKE) * np.exp(2e-3 * rng.standard_normal(N.size))
    theta = np.array(theta)
    _, grad = objective_and_gradient(theta, N, D, loss)
    h = 1e-7
    fd = np.empty(5)
    for i in range(5):
        step = np.zeros(5)
        step[i] = h
        fd[i] = (objective_and_gradient(theta + step, N, D, loss)[0]
                 - objective_and_gradient(theta - step, N, D, loss)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9 * np.max(np.abs(fd)))


def test_objective_matches_direct_huber_sum():
    N, D = design(5)
    rng = np.random.default_rng(4)
    loss = direct_law(N, D, CHINCHILLA_LIKE) * np.exp(3e-3 * rng.standard_normal(N.size))
    theta = np.array([0.6, 6.1, 5.9, 0.35, 0.27])
    params = {"E": np.exp(theta[0]), "A": np.exp(theta[1]), "B": np.exp(theta[2]),
              "alpha": theta[3], "beta": theta[4]}
    expected = scipy_huber(1e-3, np.log(direct_law(N, D, params)) - np.log(loss)).sum()
    value, _ = objective_and_gradient(theta, N, D, loss)
    assert value == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(huber([-1.0, 1e-4, 2e-3], 1e-3), scipy_huber(1e-3, [-1.0, 1e-4, 2e-3]))


def test_screened_grid_matches_full_grid():
    N, D = design(5)
    rng = np.random.default_rng(5)
    loss = direct_law(N, D, CHINCHILLA_LIKE) * np.exp(5e-3 * rng.standard_normal(N.size))
    grid = HOFFMANN_GRID[::50]  # 90 starts keep the literal procedure quick enough for a test
    full = fit_chinchilla(N, D, loss, grid=grid, n_starts=None)
    screened = fit_chinchilla(N, D, loss, grid=grid)
    assert full.n_local_minima == len(grid)
    assert screened.objective <= full.objective * (1 + 1e-6) + 1e-15
    for name in ("alpha", "beta", "E"):
        assert screened[name] == pytest.approx(full[name], rel=1e-3)


@pytest.mark.parametrize("k", [1.0, 6.0])
def test_compute_optimal_allocation_brute_force(k):
    p = CHINCHILLA_LIKE
    for C in (1e18, 1e21, 1e24):
        budget = C / k
        res = minimize_scalar(lambda u, budget=budget: direct_law(np.exp(u), budget / np.exp(u), p),
                              bounds=(np.log(1e3), np.log(budget / 1e3)), method="bounded",
                              options={"xatol": 1e-10})
        N_opt, D_opt, L_opt = compute_optimal_allocation(C, p, flops_per_parameter_token=k)
        assert N_opt == pytest.approx(np.exp(res.x), rel=1e-4)
        assert k * N_opt * D_opt == pytest.approx(C, rel=1e-12)
        assert L_opt == pytest.approx(res.fun, rel=1e-10)


def test_allocation_exponents_are_the_slopes():
    p = CHINCHILLA_LIKE
    a, b, frontier = allocation_exponents(p["alpha"], p["beta"])
    C = np.array([1e20, 1e24])
    N_opt, D_opt, L_opt = compute_optimal_allocation(C, p)
    slope = lambda y: np.diff(np.log(y))[0] / np.diff(np.log(C))[0]
    assert slope(N_opt) == pytest.approx(a, rel=1e-12)
    assert slope(D_opt) == pytest.approx(b, rel=1e-12)
    assert -slope(L_opt - p["E"]) == pytest.approx(frontier, rel=1e-9)
    assert a + b == pytest.approx(1.0)


def test_bootstrap_exact_data_has_no_spread_and_is_seeded():
    N, D = design(5, (1, 5), (1, 6))
    loss = direct_law(N, D, ZIPF_LIKE)
    fit = fit_chinchilla(N, D, loss, bootstrap=5, seed=1)
    for name in ("alpha", "beta"):
        assert fit.stderr[name] < 1e-6
        lo, hi = fit.interval(name, 0.9)
        assert lo - 1e-6 <= ZIPF_LIKE[name] <= hi + 1e-6
    rng = np.random.default_rng(0)
    noisy = loss * np.exp(1e-2 * rng.standard_normal(loss.size))
    a = fit_chinchilla(N, D, noisy, bootstrap=4, seed=7, n_starts=2)
    b = fit_chinchilla(N, D, noisy, bootstrap=4, seed=7, n_starts=2)
    np.testing.assert_array_equal(a.bootstrap["alpha"], b.bootstrap["alpha"])


def test_bootstrap_spread_matches_noise_replicates():
    """The bootstrap standard error of alpha is comparable (within a factor 3) with the standard
    deviation of alpha over independent replicates of the noise."""
    N, D = design(6, (1, 4), (1, 5))
    clean = direct_law(N, D, ZIPF_LIKE)
    rng = np.random.default_rng(11)
    sigma = 2e-2
    replicates = [fit_chinchilla(N, D, clean * np.exp(sigma * rng.standard_normal(N.size)), n_starts=2)["alpha"]
                  for _ in range(12)]
    spread = np.std(replicates, ddof=1)
    fit = fit_chinchilla(N, D, clean * np.exp(sigma * rng.standard_normal(N.size)), n_starts=2,
                         bootstrap=24, seed=2, bootstrap_n_starts=0)
    assert spread / 3 < fit.stderr["alpha"] < 3 * spread


def test_chinchilla_loss_values():
    assert chinchilla_loss(1.0, 1.0, {"E": 1, "A": 2, "B": 3, "alpha": .5, "beta": .5}) == 6.0
    N, D = design(3)
    np.testing.assert_allclose(chinchilla_loss(N, D, CHINCHILLA_LIKE), direct_law(N, D, CHINCHILLA_LIKE),
                               rtol=1e-14)


def test_single_threaded_blas_restores_thread_count():
    lib = fitting._scipy_openblas()
    if lib is None:
        pytest.skip("scipy's OpenBLAS not found")
    before = lib.scipy_openblas_get_num_threads()
    with fitting._single_threaded_blas():
        assert lib.scipy_openblas_get_num_threads() == 1
    assert lib.scipy_openblas_get_num_threads() == before


def test_isoflop_minimum_exact_parabola():
    u = np.linspace(0.0, 10.0, 21)
    loss = np.exp(0.3 + 0.05 * (u - 4.37) ** 2)
    N_opt, L_opt = isoflop_minimum(np.exp(u), loss)
    assert np.log(N_opt) == pytest.approx(4.37, rel=1e-10)
    assert L_opt == pytest.approx(np.exp(0.3), rel=1e-10)


def test_isoflop_minimum_on_the_law_matches_closed_form():
    p = CHINCHILLA_LIKE
    C = 1e21
    N_opt, _, L_opt = compute_optimal_allocation(C, p)
    N = N_opt * np.logspace(-0.2, 0.2, 41) * 1.013  # grid not centred on the optimum
    est_N, est_L = isoflop_minimum(N, direct_law(N, C / N, p))
    assert est_N == pytest.approx(N_opt, rel=1e-4)
    assert est_L == pytest.approx(L_opt, rel=1e-7)




# ----------------------------------------------------------------------------- the whole domain
FAST = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
MAGNITUDE = st.floats(min_value=-300, max_value=300)


@FAST
@given(log_N=MAGNITUDE, log_D=MAGNITUDE, log_A=MAGNITUDE, log_B=MAGNITUDE, E=st.floats(0, 1e300),
       alpha=st.floats(-3, 3), beta=st.floats(-3, 3))
def test_chinchilla_loss_whole_domain(log_N, log_D, log_A, log_B, E, alpha, beta):
    """Against 50-digit arithmetic: finite and right wherever the true loss is a double, a ValueError
    saying it is not representable where it is not (A N^-alpha overflowed to inf before)."""
    N, D, A, B = 10.0**log_N, 10.0**log_D, 10.0**log_A, 10.0**log_B
    params = {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta}
    with mpmath.workdps(50):
        want = mpmath.mpf(E) + mpmath.mpf(A) * mpmath.mpf(N) ** -alpha + mpmath.mpf(B) * mpmath.mpf(D) ** -beta
    if want > 1.7e308:
        with pytest.raises(ValueError, match="not representable"):
            chinchilla_loss(N, D, params)
    elif want < 1e300:
        assert chinchilla_loss(N, D, params) == pytest.approx(float(want), rel=1e-12, abs=1e-300)


@FAST
@given(log_alpha=MAGNITUDE, log_beta=MAGNITUDE)
def test_allocation_exponents_exact(log_alpha, log_beta):
    """Against exact rationals, for exponents from 1e-300 to 1e300 (alpha + beta overflowed before)."""
    from fractions import Fraction
    alpha, beta = 10.0**log_alpha, 10.0**log_beta
    x, y = Fraction(alpha), Fraction(beta)
    want = (y / (x + y), x / (x + y), x * y / (x + y))
    if min(want) < Fraction(2.3e-308):
        with pytest.raises(ValueError, match="not representable"):
            allocation_exponents(alpha, beta)
        return
    for got, exact in zip(allocation_exponents(alpha, beta), want):
        assert abs(Fraction(got) - exact) <= exact * Fraction(1, 10**15) + Fraction(1, 10**300)


@FAST
@given(log_C=MAGNITUDE, log_A=st.floats(-50, 50), log_B=st.floats(-50, 50), alpha=st.floats(0.01, 5),
       beta=st.floats(0.01, 5), k=st.floats(1e-3, 1e3))
def test_compute_optimal_allocation_whole_domain(log_C, log_A, log_B, alpha, beta, k):
    """The closed form against 50-digit arithmetic (in log space: no spurious overflow)."""
    C, A, B = 10.0**log_C, 10.0**log_A, 10.0**log_B
    params = {"E": 1.0, "A": A, "B": B, "alpha": alpha, "beta": beta}
    with mpmath.workdps(50):
        al, be = mpmath.mpf(alpha), mpmath.mpf(beta)
        G = (al * mpmath.mpf(A) / (be * mpmath.mpf(B))) ** (1 / (al + be))
        N = G * (mpmath.mpf(C) / mpmath.mpf(k)) ** (be / (al + be))
        D = mpmath.mpf(C) / mpmath.mpf(k) / N
        L = 1 + mpmath.mpf(A) * N**-al + mpmath.mpf(B) * D**-be
    if max(N, D, 1 / N, 1 / D, L) > 1e307:
        with pytest.raises(ValueError, match="not representable"):
            compute_optimal_allocation(C, params, flops_per_parameter_token=k)
        return
    got = compute_optimal_allocation(C, params, flops_per_parameter_token=k)
    for value, exact in zip(got, (N, D, L)):
        assert value == pytest.approx(float(exact), rel=1e-11)


@FAST
@given(r=st.floats(-1e300, 1e300), delta=st.floats(1e-300, 1e300))
def test_huber_whole_domain(r, delta):
    want = scipy_huber(delta, r)
    if np.isinf(want):
        with pytest.raises(ValueError, match="not representable"):
            huber(r, delta)
    else:
        assert huber(r, delta) == pytest.approx(float(want), rel=1e-15, abs=0)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(centre=st.floats(-300, 300), width=st.floats(1e-8, 5), log_L0=st.floats(-300, 300))
def test_isoflop_minimum_conditioning(centre, width, log_L0):
    """Exact parabolas in log N around any centre, with any spacing (down to 1e-8 in log N, where the
    uncentred normal equations lose every digit): the vertex is recovered."""
    u = centre + width * np.linspace(-1, 1, 9)
    u_star = centre + 0.3 * width
    loss = np.exp(log_L0 + 0.2 * ((u - u_star) / width) ** 2)
    N_star, L_star = isoflop_minimum(np.exp(u), loss)
    assert np.log(N_star) == pytest.approx(u_star, abs=1e-7 * width + 1e-14 * abs(u_star))
    assert np.log(L_star) == pytest.approx(log_L0, abs=1e-7)


def test_objective_is_finite_on_the_whole_bounded_domain():
    N, D = design(3)
    loss = direct_law(N, D, CHINCHILLA_LIKE)
    for theta in ([1e100, -1e100, 1e100, -1e100, 1e100], [-1e100] * 5, [1e100] * 5):
        value, grad = objective_and_gradient(theta, N, D, loss)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
    value, grad = objective_and_gradient([0.5, 6.0, 6.0, 0.3, 0.3], [1e-300, 1e300, 1.0], [1e300, 1e-300, 1.0],
                                         [1e-300, 1e300, 5e-324])
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_fit_parameters_beyond_the_doubles_are_refused_not_inf():
    fit = fitting.ChinchillaFit(np.array([800.0, 1.0, 1.0, 0.3, 0.3]), 0.0, np.zeros(5), 1, {})
    assert fit["A"] == pytest.approx(np.e)
    with pytest.raises(ValueError, match=r"^E = exp\(e\) is not representable"):
        fit["E"]
    assert "e=800" in repr(fit)


# ----------------------------------------------------------------------------- bad input
BAD = [np.nan, np.inf, -np.inf, "0.1", True, None, 1 + 1j, [[1.0], [1.0, 2.0]]]  # the last one ragged
N5, D5 = design(3)
L5 = direct_law(N5, D5, CHINCHILLA_LIKE)


@pytest.mark.parametrize(("call", "name"), [
    *[(lambda bad=bad: chinchilla_loss(bad, 1.0, CHINCHILLA_LIKE), "N") for bad in BAD + [0.0, -1.0]],
    *[(lambda bad=bad: chinchilla_loss(1.0, bad, CHINCHILLA_LIKE), "D") for bad in BAD + [0.0, [1.0, -1.0]]],
    *[(lambda bad=bad: chinchilla_loss(1.0, 1.0, {**CHINCHILLA_LIKE, "A": bad}), "params['A']")
      for bad in BAD + [-1.0]],
    (lambda: chinchilla_loss(1.0, 1.0, {"E": 1.0}), "params"),
    (lambda: chinchilla_loss(1.0, 1.0, [1, 2, 3, 4, 5]), "params"),
    *[(lambda bad=bad: huber(bad), "r") for bad in BAD + [[1.0, np.nan]]],
    *[(lambda bad=bad: huber(0.1, bad), "delta") for bad in BAD + [0.0, -1.0]],
    *[(lambda bad=bad: allocation_exponents(bad, 0.3), "alpha") for bad in BAD + [0.0, -0.1]],
    *[(lambda bad=bad: allocation_exponents(0.3, bad), "beta") for bad in BAD + [0.0]],
    *[(lambda bad=bad: compute_optimal_allocation(bad, CHINCHILLA_LIKE), "C") for bad in BAD + [0.0]],
    (lambda: compute_optimal_allocation(1e20, {**CHINCHILLA_LIKE, "alpha": 0.0}), "params['alpha']"),
    *[(lambda bad=bad: compute_optimal_allocation(1e20, CHINCHILLA_LIKE, bad), "flops_per_parameter_token")
      for bad in BAD + [0.0]],
    *[(lambda bad=bad: objective_and_gradient(bad, N5, D5, L5), "theta")
      for bad in BAD + [[1.0, 2.0], [0, 0, 0, 0, 1e101]]],
    *[(lambda bad=bad: fit_chinchilla(bad, D5, L5), "N") for bad in BAD + [[[1.0, 2.0]], N5[:4]]],
    (lambda: fit_chinchilla(N5, D5[:8], L5), "N, D and loss"),
    (lambda: fit_chinchilla(N5[:4], D5[:4], L5[:4]), "N, D and loss"),
    (lambda: fit_chinchilla(np.full(9, 1e6), D5, L5), "N"),
    (lambda: fit_chinchilla(N5, D5, np.where(np.arange(9) == 2, 0.0, L5)), "loss"),
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, delta=bad), "delta") for bad in BAD + [0.0]],
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, grid=bad), "grid") for bad in [np.zeros((3, 4)), "x", [[np.nan] * 5]]],
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, n_starts=bad), "n_starts") for bad in [0, 1.5, "2", True]],
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, bootstrap=bad), "bootstrap") for bad in [1, -2, 2.5, None]],
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, seed=bad), "seed") for bad in [-1, 1.5, 2**63, None]],
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, bootstrap_n_starts=bad), "bootstrap_n_starts") for bad in [-1, 0.5]],
    *[(lambda bad=bad: fit_chinchilla(N5, D5, L5, maxiter=bad), "maxiter") for bad in [0, 2.5, np.inf]],
    *[(lambda bad=bad: isoflop_minimum(bad, np.ones(5)), "N") for bad in BAD + [[1.0, 2.0, 2.0, 3.0, 4.0]]],
    *[(lambda bad=bad: isoflop_minimum(np.arange(1.0, 6.0), bad), "loss") for bad in BAD + [[1.0] * 5]],
    (lambda: isoflop_minimum(np.arange(1.0, 6.0), np.ones(3)), "N and loss"),
    *[(lambda bad=bad: isoflop_minimum(np.arange(1.0, 6.0), [3.0, 2.0, 1.0, 2.0, 3.0], n_points=bad), "n_points")
      for bad in [4, 1, 7, 2.5, None]],
])
def test_every_function_refuses_bad_input_by_name(call, name):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(name) and "got" in message, message


def test_interval_validation():
    fit = fit_chinchilla(N5, D5, L5, n_starts=1)
    with pytest.raises(ValueError, match="needs a bootstrap"):
        fit.interval("alpha")
    N, D = design(5, (1, 5), (1, 6))
    fit = fit_chinchilla(N, D, direct_law(N, D, ZIPF_LIKE), bootstrap=2, n_starts=1, bootstrap_n_starts=0)
    with pytest.raises(ValueError, match="^name must be one of .*got 'gamma'"):
        fit.interval("gamma")
    for bad in (0.0, 1.0, np.nan, "0.9"):
        with pytest.raises(ValueError, match="^level must be"):
            fit.interval("alpha", bad)


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: fit_chinchilla(N5, D5, L5, bootstrap=10**7), "bootstrap = 10000000"),
    (lambda: fit_chinchilla(np.geomspace(1, 1e9, 10**5), np.geomspace(1, 1e9, 10**5), np.ones(10**5)), "memory"),
    (lambda: chinchilla_loss(np.ones((10**6, 1)), np.ones((1, 10**6)), CHINCHILLA_LIKE), "elements"),
])
def test_work_is_capped_quickly(call, fragment):
    with pytest.raises(ValueError, match="scalinglaws.work_limits") as info:
        call()
    assert fragment in str(info.value)


def test_isoflop_minimum_validation():
    N = np.logspace(0, 3, 10)
    with pytest.raises(ValueError, match="^loss must bracket its minimum"):
        isoflop_minimum(N, 1.0 + N)
    with pytest.raises(ValueError, match="^n_points must be an odd integer"):
        isoflop_minimum(N, 1.0 + (np.log(N) - 3) ** 2, n_points=4)
    with pytest.raises(ValueError, match="^N must be strictly increasing"):
        isoflop_minimum(N[::-1], 1.0 + (np.log(N) - 3) ** 2)
    with pytest.raises(ValueError, match="^N and loss must have the same length"):
        isoflop_minimum(N, np.ones(3))
    with pytest.raises(ValueError, match="^loss must have a convex profile"):
        isoflop_minimum(np.arange(1.0, 8.0), [3.0, 1.0, 2.0, 0.99, 2.0, 1.0, 3.0])
