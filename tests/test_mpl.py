"""Tests of scalinglaws.mpl against brute-force loops, finite differences and synthetic recoveries,
and one test on published measurements (skipped when the data folder is absent)."""

import math
from pathlib import Path

import numpy as np
import pytest
from scalinglaws import mpl
from scalinglaws import schedules as sch

P_TRUE = {"L0": 0.8, "A": 0.5, "alpha": 0.45, "B": 3.0, "C": 2.0, "beta": 0.6, "gamma": 0.4}


def mpl_brute(lrs, steps, p, W):
    """The Multi-Power Law written as the paper's double sum, with Python loops."""
    out = []
    for n in steps:
        area = math.fsum(lrs[:n])
        ld = 0.0
        for k in range(max(W, 1), n):
            S = math.fsum(lrs[k:n])
            x = lrs[k] ** (-p["gamma"]) * S
            ld += (lrs[k - 1] - lrs[k]) * (1 - (p["C"] * x + 1) ** (-p["beta"]))
        out.append(p["L0"] + p["A"] * area ** (-p["alpha"]) - p["B"] * ld)
    return np.array(out)


def random_schedule(rng, T=180, W=15):
    post = np.sort(rng.uniform(0.01, 0.3, T - W))[::-1]
    return np.concatenate([0.3 * np.arange(1, W + 1) / W, post])


def test_matches_brute_force_double_sum():
    rng = np.random.default_rng(0)
    e = random_schedule(rng)
    steps = np.array([1, 10, 15, 16, 40, 99, 180])
    want = mpl_brute(e, steps, P_TRUE, W=15)
    for window in (None, 64):
        got = mpl.multi_power_law(e, steps, P_TRUE, window=window)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    # warmup detected from the peak (index 14) gives W = 15 too
    np.testing.assert_allclose(mpl.multi_power_law(e, steps, P_TRUE, warmup=15), want, rtol=1e-12)


@pytest.mark.parametrize("kind", ["cosine", "wsd_geo", "wsd_lin", "two_stage"])
def test_compressed_loss_drop_matches_dense(kind):
    T = 20000
    e = {"cosine": sch.cosine(T, 3e-4, 3e-5, warmup=500),
         "wsd_geo": sch.wsd(T, 3e-4, 15000, 3e-5, "geometric", warmup=500),
         "wsd_lin": sch.wsd(T, 3e-4, 15000, 3e-5, "linear", warmup=500),
         "two_stage": sch.two_stage(T, 3e-4, 3e-5, 9000, warmup=500)}[kind]
    steps = np.linspace(600, T, 60).astype(int)
    p = {"L0": 2.5, "A": 0.6, "alpha": 0.45, "B": 500.0, "C": 2.0, "beta": 0.5, "gamma": 0.5}
    dense = mpl.multi_power_law(e, steps, p, window=None)
    fast = mpl.multi_power_law(e, steps, p)
    ld = np.abs(dense - mpl.multi_power_law(e, steps, dict(p, B=1e-300), window=None))
    assert np.all(np.abs(fast - dense) <= 1e-7 * np.maximum(ld, 1e-12) + 1e-12)
    idx, _ = mpl.loss_drop_nodes(e, steps)
    assert idx.shape[1] < 0.05 * T  # the compression is real


def test_final_loss_gradient_finite_differences():
    rng = np.random.default_rng(1)
    e = random_schedule(rng, T=120, W=10)
    L, g = mpl.final_loss_and_gradient(e, P_TRUE, warmup=10)
    assert L == pytest.approx(mpl_brute(e, [120], P_TRUE, 10)[0], rel=1e-12)
    for j in [0, 9, 10, 11, 50, 119]:
        h = 1e-7
        ep, em = e.copy(), e.copy()
        ep[j] += h
        em[j] -= h
        fd = (mpl_brute(ep, [120], P_TRUE, 10)[0] - mpl_brute(em, [120], P_TRUE, 10)[0]) / (2 * h)
        assert g[j] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def _synthetic(p, T=3000, W=100):
    curves = {"constant": sch.constant(T, 0.2, W), "cosine": sch.cosine(T, 0.2, 0.002, W),
              "two_stage": sch.two_stage(T, 0.2, 0.02, 2000, W),
              "wsd": sch.wsd(T, 0.2, 2400, 0.002, "geometric", W),
              "wsd_lin": sch.wsd(T, 0.2, 2400, 0.002, "linear", W)}
    steps = np.arange(W + 10, T + 1, 20)
    return {k: (e, steps, mpl.multi_power_law(e, steps, p, window=None)) for k, e in curves.items()}


def test_fit_recovers_synthetic_law():
    data = _synthetic(P_TRUE)
    model = mpl.fit([data[k] for k in ("constant", "cosine", "two_stage")])
    for k in ("wsd", "wsd_lin"):
        e, s, y = data[k]
        assert mpl.worst_relative_error(model.predict(e, s), y) < 1e-7
    for name, value in P_TRUE.items():  # noise-free data: every parameter is recovered (~1e-7 relative)
        assert model.params[name] == pytest.approx(value, rel=1e-5)


def test_power_law_fit_recovers_and_is_rate_scale_invariant():
    T, W = 2000, 50
    steps = np.arange(60, T + 1, 10)
    for scale in (1.0, 1e-3):
        e1, e2 = sch.constant(T, 0.2 * scale, W), sch.cosine(T, 0.2 * scale, 0.0, W)
        truth = {"L0": 1.0, "A": 2.0 * scale ** 0.3, "alpha": 0.3}
        curves = [(e, steps, truth["L0"] + truth["A"] * np.cumsum(e)[steps - 1] ** -0.3) for e in (e1, e2)]
        m = mpl.fit_power_law(curves)
        for k, v in truth.items():
            assert m.params[k] == pytest.approx(v, rel=1e-4)


def s2_brute(lrs, n, W, lam):
    m, total = 0.0, 0.0
    for i in range(W, n):
        m = lam * m + (lrs[i - 1] - lrs[i])
        total += m
    return total


def test_momentum_law_s2_and_fit():
    T, W, lam = 1500, 30, 0.99
    steps = np.arange(40, T + 1, 10)
    truth = {"L0": 1.0, "A": 1.5, "alpha": 0.4, "C": 0.005}
    curves = []
    for e in (sch.constant(T, 0.1, W), sch.cosine(T, 0.1, 0.001, W), sch.two_stage(T, 0.1, 0.01, 900, W)):
        s2 = np.array([s2_brute(e, n, W, lam) for n in steps])
        y = truth["L0"] + truth["A"] * np.cumsum(e)[steps - 1] ** (-0.4) - truth["C"] * s2
        curves.append((e, steps, y))
    m = mpl.fit_momentum_law(curves, lam=lam)
    for k, v in truth.items():
        assert m.params[k] == pytest.approx(v, rel=1e-4)


def test_scores_against_direct_formulas():
    rng = np.random.default_rng(2)
    obs = rng.uniform(1, 3, 50)
    pred = obs + rng.normal(0, 0.05, 50)
    s = mpl.score(pred, obs)
    res = [(a - b) for a, b in zip(pred, obs)]
    mean = sum(obs) / len(obs)
    assert s["R2"] == pytest.approx(1 - sum(r * r for r in res) / sum((o - mean) ** 2 for o in obs), rel=1e-12)
    assert s["MAE"] == pytest.approx(sum(abs(r) for r in res) / 50, rel=1e-12)
    assert s["RMSE"] == pytest.approx(math.sqrt(sum(r * r for r in res) / 50), rel=1e-12)
    assert s["mean_rel"] == pytest.approx(sum(abs(r) / o for r, o in zip(res, obs)) / 50, rel=1e-12)
    assert s["worst_rel"] == pytest.approx(max(abs(r) / o for r, o in zip(res, obs)), rel=1e-12)
    assert mpl.r2(obs, obs) == 1.0


def test_huber():
    r = np.array([-1.0, -1e-3, 0.0, 5e-4, 2e-3])
    np.testing.assert_allclose(mpl.huber(r), [1e-3 * (1 - 5e-4), 5e-7, 0.0, 1.25e-7, 1e-3 * 1.5e-3])


def test_optimal_schedule_beats_standard_schedules():
    T, eta_max = 1000, 0.2
    lrs, loss = mpl.optimal_schedule(P_TRUE, T, eta_max)
    assert np.all(np.diff(lrs) <= 1e-15) and lrs.max() <= eta_max and lrs.min() > 0
    for e in (sch.constant(T, eta_max), sch.cosine(T, eta_max, 0.0),
              sch.wsd(T, eta_max, 800, 0.002, "linear"), sch.wsd(T, eta_max, 800, 0.002)):
        assert loss <= mpl.multi_power_law(e, [T], P_TRUE, window=None)[0] + 1e-12
    assert loss == pytest.approx(mpl_brute(lrs, [T], P_TRUE, 1)[0], rel=1e-10)


@pytest.mark.parametrize("call, name", [
    (lambda: mpl.fit([]), "curves"),
    (lambda: mpl.fit([([0.1, 0.1], [3], [1.0])]), "steps"),
    (lambda: mpl.fit([([0.1, -0.1], [1], [1.0])]), "lrs"),
    (lambda: mpl.fit([([0.1, 0.1], [1, 2], [1.0])]), "losses"),
    (lambda: mpl.fit([([0.1, 0.1], [1, 2], [1.0, 0.9])], delta=0), "delta"),
    (lambda: mpl.multi_power_law([0.1], [1], {"L0": 1}), "params"),
    (lambda: mpl.fit_momentum_law([([0.1, 0.1], [1, 2], [1.0, 0.9])], lam=1.0), "lam"),
    (lambda: mpl.score([1, 2], [1]), "pred"),
])
def test_validation(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ----------------------------------------------------------------------------- published curves
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "external" / "multipowerlaw-400M"
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]
TEST = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_18"]


def published_schedule(name):
    """Per-step rates of the published runs, written from the README beside the data."""
    W, hi, lo = 2160, 3e-4, 3e-5
    T = 16000 if name.startswith("wsdcon") else int(name.split("_")[-1])
    s = np.arange(T, dtype=float)
    e = np.empty(T)
    e[:W] = hi * np.linspace(0.0, 1.0, W)
    post = s >= W
    u = np.clip((s - 20000) / 4000, 0, 1)
    if name.startswith("constant"):
        e[post] = hi
    elif name.startswith("cosine"):
        e[post] = lo + 0.5 * (hi - lo) * (1 + np.cos(np.pi * (s[post] - W) / (T - W)))
    elif name.startswith("wsdcon"):
        e[post] = np.where(s[post] < 8000, hi, int(name.split("_")[1]) * 1e-5)
    elif name.startswith("wsdld"):
        e[post] = (hi * (1 - u) + lo * u)[post]
    else:
        e[post] = (hi ** (1 - u) * lo ** u)[post]
    return e


def load_published(name):
    rows = np.loadtxt(DATA / f"{name}.csv", delimiter=",", skiprows=1)
    e = published_schedule(name)
    step = rows[:, 0].astype(int)
    keep = step < e.size  # the final row at step == total (if present) is dropped, as in the study
    np.testing.assert_allclose(rows[keep, 1], e[step[keep]], rtol=1e-9)  # lr column = rate of that step
    # the loss logged at step s is measured after the update of step s: s + 1 updates
    return e, step[keep] + 1, rows[keep, 2]


needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"published 400M curves not found at {DATA} "
                                "(the ../shared folder is absent on this machine)")


@pytest.fixture(scope="module")
def published_fit():
    curves = {n: load_published(n) for n in TRAIN + TEST}
    model = mpl.fit([curves[n] for n in TRAIN])
    scores = [mpl.score(model.predict(*curves[n][:2]), curves[n][2]) for n in TEST]
    mean = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
    return curves, model, mean


@needs_data
def test_published_400M_curves(published_fit):
    curves, _, mean = published_fit
    # Published (Luo et al. 2025, this model size, six test curves): R2 0.9978, MAE 0.00484,
    # RMSE 0.00730, mean relative 0.00168, worst relative 0.00995.  The optimum of the authors'
    # objective on the three training curves (reached from every start of the grid) generalises
    # slightly worse on average (R2 ~0.996, mean relative ~0.0023) but better in the worst case:
    assert mean["R2"] >= 0.995
    assert mean["mean_rel"] <= 0.0025
    assert mean["worst_rel"] <= 0.00995
    # and far better than a plain power law in the rate area:
    power = mpl.fit_power_law([curves[n] for n in TRAIN])
    r2_power = np.mean([mpl.r2(power.predict(*curves[n][:2]), curves[n][2]) for n in TEST])
    assert mean["R2"] > r2_power + 0.05


@needs_data
@pytest.mark.xfail(strict=True, reason=(
    "not reached by a faithful fit: the unique best optimum of the authors' stated objective (Huber, "
    "delta=1e-3, on log-loss residuals of the 3 training curves; the same optimum from all 108 grid "
    "starts and 60 random starts, other local optima score worse) gives mean R2 0.9961 and mean "
    "relative error 0.00226 on the 6 test curves (cosine_72000 alone R2 0.983), vs published 0.9978 "
    "/ 0.00168.  Tried, each moving R2 by < 0.0003: loss after s or s+1 updates, delta 1e-4..1, "
    "dropping 1-8 early training points, LD sum from W = 2159/2160/2161; pooled instead of per-curve "
    "averages is worse (R2 0.9948); even S_W = W*eta_max (twice the README warmup area, "
    "unjustified) only gives 0.9970 / 0.00213, and eta_{k-1}^-gamma instead of the paper's eta_k^-gamma "
    "(fits the training curves worse) 0.9967 / 0.00212.  Test scores at the published level need parameters "
    "whose training objective is ~1.5-2x the optimum (L0 ~2.54-2.55 instead of 2.52), i.e. not the optimum "
    "of that objective; Adam on log-parameters from the best grid start approaches the optimum from "
    "the worse side (R2 0.982-0.995 along the way).  The authors' exact Adam settings are unknown."))
def test_published_400M_curves_match_published_averages(published_fit):
    _, _, mean = published_fit
    assert mean["R2"] >= 0.9978 and mean["mean_rel"] <= 0.00168
