"""Valid example calls of every public function of ``scalinglaws``, with the domain of each argument.

``ENTRIES["module.function"]`` is a list of :class:`fuzz_spec.Example`: a factory of keyword
arguments for one valid call, the domain of every parameter *given the other arguments of that call*
(see :mod:`fuzz_spec`), and a cheap oracle that says when a result is obviously wrong (a loss below
its floor, a probability outside [0, 1], a gradient with NaN beside a finite value, a fit that does
not recover the parameters its data were made from...). ``tools/fuzz_public_api.py`` perturbs one
argument at a time from these calls; ``tests/test_public_api.py`` checks the fast core of them.

When a module gains a public function, add an entry here: the test fails until every public
function, and every parameter of it, has one. Domains follow the functions' docstrings and the
shared conventions of README.md (NaN always refused; inf refused unless documented; "0.5", True and
None refused wherever a number is expected).
"""

from __future__ import annotations

import importlib
import math

import mpmath
import numpy as np
from fuzz_spec import IA, RA, Choice, Custom, Example, Flag, I, Mapping, Obj, R, Seed

__all__ = ["ENTRIES", "lib"]


def lib(module: str):
    """``scalinglaws.<module>``, imported when first needed (in the worker, from PYTHONPATH)."""
    return importlib.import_module(f"scalinglaws.{module}")


def _arr(x):
    return np.asarray(x, dtype=float)


def _all(x, pred) -> bool:
    a = _arr(x)
    return bool(np.all(pred(a)))


def _rel(a, b, tol):
    a, b = float(a), float(b)
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def _first_bad(cond: bool, text: str):
    return None if cond else text


ENTRIES: dict[str, list[Example]] = {}


def entry(name: str, *examples: Example) -> None:
    ENTRIES.setdefault(name, []).extend(examples)


# ============================================================================== linear1d
def _stable(B):
    return 2.0 * B / (B + 2.0)


def _lin_bounds(kw):
    B = kw.get("batch_size", 1)
    return B


def _chk_moment(out, kw):
    B = kw.get("batch_size", 1)
    eta = _arr(kw["eta"])
    m_star = eta / (2 * B - eta * (B + 2))
    top = np.maximum(9.0, m_star) * (1 + 1e-12)
    m = _arr(out)
    if np.any(m <= 0) or np.any(m > top):
        return f"second moment outside (0, max(9, m*)]: {out!r}"
    return None


def _chk_lin_loss(out, kw):
    B = kw.get("batch_size", 1)
    eta = _arr(kw["eta"])
    m_star = eta / (2 * B - eta * (B + 2))
    top = 0.5 * (1 + np.maximum(9.0, m_star)) * (1 + 1e-12)
    L = _arr(out)
    if np.any(L < 0.5) or np.any(L > top):
        return f"loss outside [1/2, (1 + max(9, m*))/2]: {out!r}"
    return None


def _chk_weight(out, kw):
    w = _arr(out)
    if np.any(w < -1e-12) or np.any(w > 6 + 1e-12):
        return f"E[w_T] outside [0, 6]: {out!r}"
    eta, T = kw["eta"], kw["T"]
    if np.ndim(eta) == 0 and np.ndim(T) == 0 and 0 <= float(T) <= 10**4:
        exact = 3.0 * (1.0 - (1.0 - float(eta)) ** int(T))
        if abs(float(out) - exact) > 1e-9 * max(1.0, abs(exact)):
            return f"E[w_T] = {float(out)!r}, direct 3(1 - (1 - eta)^T) = {exact!r}"
    return None


def _chk_lin_optimal(out, kw):
    m = lib("linear1d")
    B = kw.get("batch_size", 1)
    loss, eta = out
    if np.ndim(loss):
        return None
    T = float(kw["T"])
    if not (0 < eta <= B / (B + 2.0) * (1 + 1e-12)):
        return f"argmin {eta!r} outside (0, B/(B+2)]"
    if loss < 0.5:
        return f"loss {loss!r} below the floor 1/2"
    if T <= 1e15:
        here = m.expected_loss(eta, T, B)
        if not _rel(here, loss, 1e-12):
            return f"returned loss {loss!r} differs from expected_loss at the returned eta {here!r}"
        for f in (1 - 1e-3, 1 + 1e-3):
            e2 = min(eta * f, B / (B + 2.0))
            if m.expected_loss(e2, T, B) < loss * (1 - 1e-14):
                return f"expected_loss(eta*{f}) = {m.expected_loss(e2, T, B)!r} < returned minimum {loss!r}"
    if B == 1 and T >= 1e4:
        ratio = eta / (math.log(36 * T) / (2 * T))
        if not 0.5 < ratio < 2:
            return f"argmin {eta!r} is {ratio:.3g} x the asymptotic rate log(36T)/(2T)"
    return None


def _chk_lin_mp(out, kw):
    loss, eta = float(out[0]), float(out[1])
    T = int(kw["T"])
    if loss < 0.5 or not 0 < eta <= 1 / 3:
        return f"(loss, eta) = ({loss!r}, {eta!r}) outside [1/2, inf) x (0, 1/3]"
    if T <= 10**12:
        ref = lib("linear1d").optimal_loss(T)[0]
        if not _rel(ref, loss, 1e-11):
            return f"loss {loss!r} differs from optimal_loss {ref!r}"
    return None


def _lin_eta_arg(B=1, array=True):
    hi = _stable(B)
    return (RA if array else R)(0, hi, low_open=True, high_open=True)


for _B, _eta in ((1, 0.2), (10, 1.5)):
    entry("linear1d.contraction_factor", Example(
        lambda _B=_B, _eta=_eta: dict(eta=_eta, batch_size=_B),
        {"eta": _lin_eta_arg(_B), "batch_size": I(1, size=True)},
        check=lambda out, kw: _first_bad(_all(out, lambda r: (r > 0) & (r <= 1)), f"r outside (0, 1]: {out!r}")))
    entry("linear1d.stationary_second_moment", Example(
        lambda _B=_B, _eta=_eta: dict(eta=_eta, batch_size=_B),
        {"eta": _lin_eta_arg(_B), "batch_size": I(1, size=True)},
        check=lambda out, kw: _first_bad(_all(out, lambda r: r > 0), f"m* not positive: {out!r}")))
    entry("linear1d.second_moment", Example(
        lambda _B=_B, _eta=_eta: dict(eta=_eta, T=100 if _B == 1 else 5, batch_size=_B),
        {"eta": _lin_eta_arg(_B), "T": IA(0, size=True), "batch_size": I(1, size=True)},
        check=_chk_moment))
    entry("linear1d.expected_loss", Example(
        lambda _B=_B, _eta=_eta: dict(eta=_eta, T=100 if _B == 1 else 5, batch_size=_B),
        {"eta": _lin_eta_arg(_B), "T": IA(0, size=True), "batch_size": I(1, size=True)},
        check=_chk_lin_loss))
    entry("linear1d.expected_weight", Example(
        lambda _B=_B, _eta=_eta: dict(eta=_eta, T=100 if _B == 1 else 5, batch_size=_B),
        {"eta": _lin_eta_arg(_B), "T": IA(0, size=True), "batch_size": I(1, size=True)},
        check=_chk_weight))

entry("linear1d.stable_rate_bound", Example(
    lambda: dict(batch_size=1), {"batch_size": I(1, size=True)},
    check=lambda out, kw: _first_bad(0 < out <= 2, f"bound outside (0, 2]: {out!r}")))
entry("linear1d.fastest_rate", Example(
    lambda: dict(batch_size=3), {"batch_size": I(1, size=True)},
    check=lambda out, kw: _first_bad(0 < out <= 1, f"rate outside (0, 1]: {out!r}")))
entry("linear1d.optimal_loss", Example(
    lambda: dict(T=1000, batch_size=1), {"T": IA(1, size=True), "batch_size": I(1, size=True)},
    check=_chk_lin_optimal))
entry("linear1d.optimal_loss_mp", Example(
    lambda: dict(T=1000, dps=30), {"T": I(1, size=True), "dps": I(20, size=True)}, check=_chk_lin_mp))
entry("linear1d.asymptotic_optimal_loss", Example(
    lambda: dict(T=1e4), {"T": RA(0, low_open=True, scale=True)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0.5), f"asymptotic loss below the floor 1/2: {out!r}")))
entry("linear1d.asymptotic_optimal_rate", Example(
    lambda: dict(T=1e4), {"T": RA(0, low_open=True, scale=True)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v > 0), f"rate not positive: {out!r}")))
for _f in ("simulate_weights", "simulate"):
    entry(f"linear1d.{_f}", Example(
        lambda: dict(eta=0.1, T=50, runs=100, seed=0, batch_size=1),
        {"eta": R(0, 2 / 3, low_open=True, high_open=True), "T": I(0, size=True), "runs": I(1, size=True),
         "seed": Seed(), "batch_size": I(1, size=True)},
        check=(None if _f == "simulate_weights" else
               lambda out, kw: _first_bad(_all(out, lambda v: v >= 0.5), "a run's loss below 1/2"))))


# ============================================================================== zipf
_A = R(0, low_open=True)
_Bexp = R(1)


def _chk_count(out, kw):
    N, b = kw["N"], float(kw["b"])
    if np.ndim(out):
        return _first_bad(_all(out, lambda v: v >= 1), f"count below 1: {out!r}")
    K = int(out)
    if K < 1:
        return f"count {K} < 1"
    if float(N) < 1e300:
        lhs = b * math.log(K)
        target = math.log(float(N) + 1)
        if lhs > target + 1e-9 or b * math.log(K + 1) < target - 1e-9:
            return f"K = {K} does not satisfy K^b <= N + 1 < (K+1)^b"
    return None


def _chk_probs(out, kw):
    p = _arr(out)  # (rare features may underflow to 0: their true probability is below 1e-308)
    if np.any(p < 0) or p[0] <= 0 or np.any(p > 1) or p.sum() > 1 + 1e-12:
        return f"probabilities outside [0, 1], p_1 = 0, or summing above 1 (sum {p.sum()!r})"
    return None


def _chk_zipf_loss(out, kw):
    return _first_bad(_all(out, lambda v: (v >= 0.5) & (v <= 5 * (1 + 1e-12))), f"loss outside [1/2, 5]: {out!r}")


def _chk_zipf_optimal(out, kw):
    loss, eta = out
    if np.ndim(loss):
        return None
    if not (0.5 <= loss <= 5) or not 0 < eta <= 1 / 3:
        return f"(loss, eta) = ({loss!r}, {eta!r}) outside [1/2, 5] x (0, 1/3]"
    z = lib("zipf")
    cap = z.expected_loss(1 / 3, kw["T"], kw["N"], kw["a"], kw["b"])
    if loss > cap * (1 + 1e-12):
        return f"returned minimum {loss!r} above the loss at eta = 1/3 ({cap!r})"
    return None


def _chk_exponents(out, kw):
    a, b = float(kw["a"]), float(kw["b"])
    alpha, beta = out
    if not (_rel(alpha, a / b, 1e-12) and _rel(beta, 1 / (2 + 1 / a), 1e-12)) or beta <= 0 or alpha <= 0:
        return f"(alpha, beta) = {out!r}, expected ({a / b!r}, {1 / (2 + 1 / a)!r})"
    return None


entry("zipf.feature_count",
      Example(lambda: dict(N=1000, b=1.5), {"N": IA(1, size=True), "b": _Bexp}, check=_chk_count),
      Example(lambda: dict(N=[10, 99, 100], b=2.0), {"N": IA(1), "b": _Bexp}, check=_chk_count))
entry("zipf.feature_probabilities", Example(
    lambda: dict(K=100, a=1.0), {"K": I(1, size=True), "a": _A}, check=_chk_probs))
entry("zipf.tail_mass", Example(
    lambda: dict(K=100, a=1.0), {"K": IA(0, size=True), "a": _A},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v >= 0) & (v <= 1)), f"tail mass outside [0, 1]: {out!r}")))
entry("zipf.feature_table", Example(
    lambda: dict(N=10**4, a=1.0, b=1.0), {"N": I(1, size=True), "a": _A, "b": _Bexp},
    check=lambda out, kw: _first_bad(0 <= out[2] <= 1 and _all(out[0], lambda p: (p >= 0) & (p <= 1)),
                                     "nodes outside [0, 1] or tail mass outside [0, 1]")))
entry("zipf.expected_loss", Example(
    lambda: dict(eta=0.1, T=1000, N=1000, a=1.0, b=1.0),
    {"eta": RA(0, 1 / 3, low_open=True), "T": IA(0, size=True), "N": IA(1, size=True), "a": _A, "b": _Bexp},
    check=_chk_zipf_loss))
entry("zipf.optimal_loss", Example(
    lambda: dict(T=1000, N=1000, a=1.0, b=1.0),
    {"T": IA(1, size=True), "N": IA(1, size=True), "a": _A, "b": _Bexp}, check=_chk_zipf_optimal))
entry("zipf.optimal_excess", Example(
    lambda: dict(T=1000, N=1000, a=1.0, b=1.0),
    {"T": IA(1, size=True), "N": IA(1, size=True), "a": _A, "b": _Bexp},
    check=lambda out, kw: _first_bad(
        np.ndim(out[0]) > 0 or float(np.asarray(kw["N"], dtype=float).max()) > 1e15 or _rel(
            out[0] + 0.5, lib("zipf").optimal_loss(kw["T"], kw["N"], kw["a"], kw["b"])[0], 1e-12),
        f"excess {out[0]!r} + 1/2 differs from optimal_loss")))
entry("zipf.expected_loss_curve",
      Example(lambda: dict(etas=np.full(50, 0.1), N=1000, a=1.0, b=1.0, steps=None),
              {"etas": RA(0, 1 / 3, low_open=True, ndim=1, scalar_ok=False, min_size=1), "N": I(1, size=True), "a": _A,
               "b": _Bexp, "steps": Custom(bad=("abc", 2.5, [0], [51]), probe=(True,))},
              check=_chk_zipf_loss),
      Example(lambda: dict(etas=np.full(50, 0.1), N=1000, a=1.0, b=1.0, steps=[1, 10, 50]),
              {"etas": RA(0, 1 / 3, low_open=True, ndim=1, scalar_ok=False, min_size=1), "N": I(1), "a": _A,
               "b": _Bexp, "steps": IA(1, 50, ndim=1, none=True)},
              check=_chk_zipf_loss))
entry("zipf.simulate", Example(
    lambda: dict(eta=0.1, T=100, N=1000, a=1.0, b=1.0, runs=50, seed=0),
    {"eta": R(0, 1 / 3, low_open=True), "T": I(0, size=True), "N": I(1, size=True), "a": _A, "b": _Bexp,
     "runs": I(1, size=True), "seed": Seed()},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0.5 - 1e-12), "a run's loss below 1/2")))
entry("zipf.asymptotic_exponents", Example(
    lambda: dict(a=1.0, b=2.0), {"a": _A, "b": _Bexp}, check=_chk_exponents))
entry("zipf.asymptotic_constants", Example(
    lambda: dict(a=1.0, b=1.0), {"a": _A, "b": _Bexp},
    check=lambda out, kw: _first_bad(out[0] > 0 and out[1] > 0, f"constants not positive: {out!r}")))
entry("zipf.asymptotic_optimal_rate", Example(
    lambda: dict(T=1e6, a=1.0), {"T": RA(0, low_open=True, scale=True), "a": _A},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v > 0), f"rate not positive: {out!r}")))
entry("zipf.asymptotic_optimal_excess", Example(
    lambda: dict(N=1e6, T=1e6, a=1.0, b=1.0), {"N": RA(1), "T": RA(1), "a": _A, "b": _Bexp},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v > 0), f"excess not positive: {out!r}")))


# ============================================================================== fitting
_CHIN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
_CHIN_KEYS = {"E": R(0), "A": R(0), "B": R(0), "alpha": R(), "beta": R()}
_CHIN_POS = {"E": R(0), "A": R(0, low_open=True), "B": R(0, low_open=True),
             "alpha": R(0, low_open=True), "beta": R(0, low_open=True)}


def _chin_data(n_side=3, noise=0.0):
    N, D = np.meshgrid(np.logspace(7, 9, n_side), np.logspace(9, 11, n_side))
    N, D = N.ravel(), D.ravel()
    L = _CHIN["E"] + _CHIN["A"] * N ** -_CHIN["alpha"] + _CHIN["B"] * D ** -_CHIN["beta"]
    if noise:
        L = L * np.exp(noise * np.random.default_rng(1).standard_normal(L.size))
    return N, D, L


def _chk_huber(out, kw):
    from scipy.special import huber as sp_huber
    r, d = _arr(kw["r"]), float(kw.get("delta", 1e-3))
    ref = sp_huber(d, r)
    h = _arr(out)
    if np.any(h < 0):
        return f"Huber loss negative: {out!r}"
    if not np.allclose(h, ref, rtol=1e-12, atol=0):
        return f"differs from scipy.special.huber: {out!r} vs {ref!r}"
    return None


def _chk_alloc(out, kw):
    N, D, L = (np.asarray(o, dtype=float) for o in out)
    C, k = _arr(kw["C"]), float(kw.get("flops_per_parameter_token", 1.0))
    if not np.allclose(k * N * D, C, rtol=1e-9):
        return "k N* D* differs from C"
    if np.any(L < float(kw["params"]["E"]) * (1 - 1e-12)):
        return "L* below E"
    return None


def _chk_isoflop(out, kw):
    # the data are a parabola in log N with vertex (1e9, e), possibly scaled: the vertex scales with them
    N, L = _arr(kw["N"]), _arr(kw["loss"])
    if N.shape != (9,) or L.shape != (9,) or int(kw.get("n_points", 5)) != 5:
        return None
    fN, fL = N[0] / 1e8, L[4] / math.e
    if not (_rel(out[0], 1e9 * fN, 1e-6) and _rel(out[1], math.e * fL, 1e-9)):
        return f"vertex {out!r}, expected ({1e9 * fN:.6g}, {math.e * fL:.6g})"
    return None


def _chk_fit_chin(out, kw):
    for k in ("E", "A", "B"):
        if not out[k] >= 0:
            return f"{k} = {out[k]!r} is negative"
    return None


entry("fitting.chinchilla_loss", Example(
    lambda: dict(N=1e9, D=2e10, params=dict(_CHIN)),
    {"N": RA(0, low_open=True, scale=True), "D": RA(0, low_open=True, scale=True), "params": Mapping(_CHIN_KEYS)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= float(kw["params"]["E"]) * (1 - 1e-12)),
                                     f"loss {out!r} below E")))
entry("fitting.huber", Example(
    lambda: dict(r=[0.01, -0.0005, 2.0], delta=1e-3), {"r": RA(), "delta": R(0, low_open=True)}, check=_chk_huber))
entry("fitting.objective_and_gradient", Example(
    lambda: dict(theta=[0.5, 6.0, 6.0, 0.34, 0.28], N=_chin_data()[0], D=_chin_data()[1], loss=_chin_data()[2],
                 delta=1e-3),
    {"theta": RA(ndim=1, scalar_ok=False, min_size=1, bad=([0.5, 6.0, 6.0, 0.34],)),
     "N": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, scale=True, bad=(lambda b: b[:-1],)),
     "D": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, scale=True, bad=(lambda b: b[:-1],)),
     "loss": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "delta": R(0, low_open=True)},
    check=lambda out, kw: _first_bad(out[0] >= 0, f"objective negative: {out[0]!r}")))
entry("fitting.allocation_exponents", Example(
    lambda: dict(alpha=0.34, beta=0.28), {"alpha": RA(0, low_open=True), "beta": RA(0, low_open=True)},
    check=lambda out, kw: _first_bad(np.allclose(_arr(out[0]) + _arr(out[1]), 1, rtol=1e-12)
                                     and _all(out[2], lambda v: v > 0), f"a + b != 1 or frontier <= 0: {out!r}")))
entry("fitting.compute_optimal_allocation", Example(
    lambda: dict(C=1e21, params=dict(_CHIN), flops_per_parameter_token=6.0),
    {"C": RA(0, low_open=True, scale=True), "params": Mapping(_CHIN_POS),
     "flops_per_parameter_token": R(0, low_open=True)}, check=_chk_alloc))
entry("fitting.fit_chinchilla", Example(
    lambda: dict(N=_chin_data(3, 1e-3)[0], D=_chin_data(3, 1e-3)[1], loss=_chin_data(3, 1e-3)[2], delta=1e-3,
                 grid=None, n_starts=2, bootstrap=0, seed=0, bootstrap_n_starts=1, maxiter=200),
    {"N": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:4],)),
     "D": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "loss": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1),
     "delta": R(0, low_open=True),
     "grid": Custom(bad=("abc", np.zeros((3, 4)), np.full((2, 5), np.nan), np.zeros((0, 5)))),
     "n_starts": I(1, none=True), "bootstrap": I(0, size=True, bad=(1,)), "seed": Seed(),
     "bootstrap_n_starts": I(0, none=True), "maxiter": I(1, size=True)},
    check=_chk_fit_chin, cost="slow"))
entry("fitting.isoflop_minimum", Example(
    lambda: dict(N=np.logspace(8, 10, 9), loss=np.exp(0.05 * (np.log(np.logspace(8, 10, 9)) - math.log(1e9)) ** 2 + 1.0),
                 n_points=5),
    {"N": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, scale=True),
     "loss": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, scale=True), "n_points": I(3, bad=(4,))},
    check=lambda out, kw: _chk_isoflop(out, kw)))


# ============================================================================== noise_scale
_G = [1.0, -0.5]
_H = [[2.0, 0.3], [0.3, 1.0]]
_S = [[1.0, 0.2], [0.2, 0.5]]
_SYM_BAD = ([[2.0, 0.3], [0.0, 1.0]],)


def _scales():
    G, H, S = (np.array(x) for x in (_G, _H, _S))
    gHg = G @ H @ G
    return dict(eps_max=G @ G / gHg, dl=(G @ G) ** 2 / (2 * gHg), Bn=np.trace(H @ S) / gHg, Bs=np.trace(S) / (G @ G))


def _chk_noise_scales(out, kw):
    if np.ndim(kw["G"]) == 0 or np.shape(kw["G"]) != (2,):
        ok = out.eps_max > 0 and out.delta_loss_max > 0 and out.B_noise >= 0 and out.B_simple >= 0
        return _first_bad(ok, f"a scale is negative (or eps_max, DeltaL_max not positive): {out!r}")
    s = _scales()
    G, H, S = (_arr(kw[k]) for k in ("G", "H", "Sigma"))
    gHg = G @ H @ G
    ref = dict(eps_max=G @ G / gHg, delta_loss_max=(G @ G) ** 2 / (2 * gHg), B_noise=np.trace(H @ S) / gHg,
               B_simple=np.trace(S) / (G @ G))
    del s
    for k, v in ref.items():
        if not _rel(getattr(out, k), v, 1e-12):
            return f"{k} = {getattr(out, k)!r}, direct formula {v!r}"
    return None


def _GHS(**extra):
    def make():
        return dict(**extra, G=list(_G), H=[list(r) for r in _H], Sigma=[list(r) for r in _S])
    return make


_GHS_ARGS = {"G": RA(ndim=1, min_size=1, bad=([0.0, 0.0], [1.0])),
             "H": RA(ndim=2, bad=_SYM_BAD + ([[1.0, 0.0], [0.0, -1.0]], [[1.0]])),
             "Sigma": RA(ndim=2, bad=([[1.0, 0.2], [0.0, 0.5]], [[-1.0, 0.0], [0.0, 0.5]]))}


def _chk_improvement(out, kw):
    G, H = _arr(kw["G"]), _arr(kw["H"])
    dl = (G @ G) ** 2 / (2 * (G @ H @ G)) if G.ndim == 1 and G.size == 2 else np.inf
    return _first_bad(_all(out, lambda v: v <= dl * (1 + 1e-12)), f"improvement above DeltaL_max = {dl!r}: {out!r}")


entry("noise_scale.noise_scales",
      Example(_GHS(), dict(_GHS_ARGS), check=_chk_noise_scales),
      Example(lambda: dict(G=-1.0, H=1.0, Sigma=3.0),
              {"G": RA(bad=(0.0,)), "H": RA(0, low_open=True, scale=True), "Sigma": RA(0, scale=True)},
              check=_chk_noise_scales))
_BATCH = RA(1, inf=True)  # batch sizes >= 1, inf for the noiseless limit (noise branch docstrings)
entry("noise_scale.expected_improvement", Example(
    _GHS(eps=0.1, B=8.0), {"eps": RA(), "B": _BATCH, **_GHS_ARGS}, check=_chk_improvement))
entry("noise_scale.optimal_rate", Example(
    _GHS(B=8.0), {"B": _BATCH, **_GHS_ARGS},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v > 0) & (v <= _scales()["eps_max"] * (1 + 1e-12))),
                                     f"rate outside (0, eps_max]: {out!r}")))
entry("noise_scale.optimal_improvement", Example(
    _GHS(B=8.0), {"B": _BATCH, **_GHS_ARGS},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v > 0) & (v <= _scales()["dl"] * (1 + 1e-12))),
                                     f"improvement outside (0, DeltaL_max]: {out!r}")))
_U, _COV = [1.0, -2.0], [[1.0, 0.2], [0.2, 2.0]]
_REG_ARGS = {"u": RA(-1e150, 1e150, ndim=1, min_size=1, bad=([1.0],)),
             "cov": RA(-1e150, 1e150, ndim=2, bad=([[1.0, 0.2], [0.0, 2.0]], [[1.0, 0.0], [0.0, -2.0]], [[1.0]])),
             "noise_var": R(0, 1e150)}


def _chk_regression(out, kw):
    G, H, S = (np.atleast_2d(_arr(o)) for o in out)
    if not np.allclose(S, S.T) or np.min(np.linalg.eigvalsh(S)) < -1e-12 * np.max(np.abs(S)):
        return "Sigma not symmetric positive semi-definite"
    return None


entry("noise_scale.regression_moments", Example(
    lambda: dict(u=list(_U), cov=[list(r) for r in _COV], noise_var=1.0), dict(_REG_ARGS), check=_chk_regression))
entry("noise_scale.sample_batch_gradients", Example(
    lambda: dict(u=list(_U), cov=[list(r) for r in _COV], noise_var=1.0, batch_size=4, reps=10,
                 rng=np.random.default_rng(0)),
    {**_REG_ARGS, "batch_size": I(1, size=True), "reps": I(1, size=True),
     "rng": Obj(bad=(lambda b: np.random.RandomState(0),))}))
entry("noise_scale.two_batch_estimate", Example(
    lambda: dict(grad_small=[[1.0, 0.5], [0.8, 0.4]], grad_big=[[0.9, 0.45], [0.95, 0.5]], B_small=4, B_big=64),
    {"grad_small": RA(bad=([[1.0, 0.5, 0.1]],)), "grad_big": RA(bad=([[1.0]],)),
     "B_small": IA(1, 10**15, bad=(64,)), "B_big": IA(1, 10**15, bad=(2,))}))
entry("noise_scale.two_batch_variance",
      Example(lambda: dict(G=list(_G), Sigma=[list(r) for r in _S], B_small=4, B_big=64, third=0.0, fourth=None),
              {"G": RA(ndim=1, min_size=1, bad=([1.0],)), "Sigma": _GHS_ARGS["Sigma"], "B_small": IA(1, 10**15, bad=(64,)),
               "B_big": IA(1, 10**15, bad=(2,)), "third": R(), "fourth": R(2.25, none=True)},
              check=lambda out, kw: _first_bad(all(_all(o, lambda v: v >= 0) for o in out), f"negative variance: {out!r}")),
      Example(lambda: dict(G=list(_G), Sigma=[list(r) for r in _S], B_small=4, B_big=64, third=0.1, fourth=10.0),
              {"G": RA(ndim=1, min_size=1, bad=([1.0],)), "Sigma": _GHS_ARGS["Sigma"], "B_small": IA(1, 10**15),
               "B_big": IA(1, 10**15), "third": R(), "fourth": R(2.25, none=True)},
              check=lambda out, kw: _first_bad(all(_all(o, lambda v: v >= 0) for o in out), f"negative variance: {out!r}")))
entry("noise_scale.noise_scale_1d", Example(
    lambda: dict(m=0.5), {"m": RA(1e-300, 1e300)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 2), f"B_noise below 2: {out!r}")))
entry("noise_scale.noise_scale_from_loss", Example(
    lambda: dict(loss=1.0), {"loss": RA(0.5, 1e300, low_open=True)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 2), f"B_noise below 2: {out!r}")))
entry("noise_scale.greedy_rate_1d", Example(
    lambda: dict(m=1.0, B=4.0), {"m": RA(1e-300, 1e300), "B": _BATCH},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v > 0) & (v <= 1)), f"rate outside (0, 1]: {out!r}")))
entry("noise_scale.second_moment_step", Example(
    lambda: dict(m=1.0, eps=0.1, B=4.0), {"m": RA(0, 1e300), "eps": RA(), "B": _BATCH},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0), f"second moment negative: {out!r}")))


def _chk_greedy(out, kw):
    m, eps, B = (_arr(o) for o in out)
    if np.any(m < 0) or np.any(np.diff(m) > 0):
        return "m_t negative or increasing"
    if np.any(eps <= 0) or np.any(eps > 1):
        return "a rate outside (0, 1]"
    return None


entry("noise_scale.greedy_trajectory",
      Example(lambda: dict(T=50, batch_size=4.0, batch_coef=None, m0=9.0, integer=False, rate_factor=1.0),
              {"T": I(0, 10**7), "batch_size": R(1, 1e15, none=True),
               "batch_coef": Custom(bad=(-1.0, math.nan, "1", True), probe=(1.0,)),
               "m0": R(1e-300, 1e300), "integer": Flag(), "rate_factor": R(0, 1, low_open=True)},
              check=_chk_greedy),
      Example(lambda: dict(T=50, batch_size=None, batch_coef=1.0, m0=9.0, integer=True, rate_factor=0.5),
              {"T": I(0, 10**7), "batch_size": Custom(bad=(-1.0, math.nan, "1", True), probe=(2.0,)),
               "batch_coef": R(0, 1e15, low_open=True, none=True), "m0": R(1e-300, 1e300), "integer": Flag(),
               "rate_factor": R(0, 1, low_open=True)},
              check=_chk_greedy))


def _chk_steps(out, kw):
    S, E = (_arr(o) for o in out)
    if np.any(S < 1) or np.any(S != np.floor(S)):
        return f"S not a positive integer: {out!r}"
    if kw.get("batch_size") is not None and not np.allclose(E, _arr(kw["batch_size"]) * S, rtol=1e-9):
        return "E != B S for a constant batch"
    return None


entry("noise_scale.steps_to_target",
      Example(lambda: dict(m_target=0.5, batch_size=[1.0, 4.0, 16.0], batch_coef=None, m0=9.0, max_steps=10**7,
                           rate_factor=1.0, integer=False),
              {"m_target": R(1e-300, 9, high_open=True), "batch_size": RA(1, 1e15, none=True),
               "batch_coef": Custom(bad=(-1.0, math.nan, "1")), "m0": R(0.5, 1e300, low_open=True),
               "max_steps": I(1, size=True), "rate_factor": R(0, 1, low_open=True), "integer": Flag()},
              check=_chk_steps))
entry("noise_scale.steps_to_target_constant_rate", Example(
    lambda: dict(m_target=0.5, batch_size=[1, 4], m0=9.0, grid=400),
    {"m_target": R(1e-300, 9, high_open=True), "batch_size": IA(1, 10**15),
     "m0": R(0.5, 1e300, low_open=True), "grid": I(10, 10**6)},
    check=lambda out, kw: _first_bad(_all(out[0], lambda v: v >= 1)
                                     and np.allclose(_arr(out[1]), _arr(kw["batch_size"]) * _arr(out[0]))
                                     and _all(out[2], lambda v: v > 0), f"S < 1, E != B S or eta <= 0: {out!r}")))


def _chk_continuum(out, kw):
    mt, m0 = float(kw["m_target"]), float(kw.get("m0", 9.0))
    S, E = out
    # in 50 digits: log(m0 / mt) in doubles loses every digit when mt is within an ulp or two of m0
    with mpmath.workdps(50):
        S_mp = mpmath.log(mpmath.mpf(m0) / mpmath.mpf(mt))
        S_ref, E_ref = float(S_mp), float(2 * S_mp + 1 / mpmath.mpf(mt) - 1 / mpmath.mpf(m0))
    if not (_rel(S, S_ref, 1e-12) and _rel(E, E_ref, 1e-12)):
        return f"(S_min, E_min) = {out!r}, direct ({S_ref!r}, {E_ref!r})"
    return None


_MT = {"m_target": R(1e-300, 9, high_open=True), "m0": R(0.5, 1e300, low_open=True)}
entry("noise_scale.continuum_steps_examples", Example(
    lambda: dict(m_target=0.5, m0=9.0), dict(_MT), check=_chk_continuum))
entry("noise_scale.continuum_sqrt_integral", Example(
    lambda: dict(m_target=0.5, m0=9.0), dict(_MT),
    check=lambda out, kw: _first_bad(out > 0, f"integral not positive: {out!r}")))
entry("noise_scale.continuum_gamma", Example(
    lambda: dict(m_target=0.5, m0=9.0), dict(_MT),
    check=lambda out, kw: _first_bad(0 < out <= 1 + 1e-12, f"gamma outside (0, 1] (Cauchy-Schwarz): {out!r}")))
entry("noise_scale.simulate_schedule_1d", Example(
    lambda: dict(rates=np.full(20, 0.2), batch_sizes=np.full(20, 2), runs=50, seed=0, m0=9.0),
    {"rates": RA(0, 1, low_open=True, high_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "batch_sizes": IA(1, 10**15, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)), "runs": I(1, size=True),
     "seed": Seed(), "m0": R(0, low_open=True)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0.5), "a loss below the noise floor 1/2")))


# ============================================================================== surge
_MU = [1.0, 0.5, 0.25]
_SIG = [10.0, 10.0, 10.0]
_HS = [[2.0, 0.5, 0.2], [0.5, 1.0, 0.1], [0.2, 0.1, 0.5]]
_SURGE_ARGS = {"mu": RA(ndim=1, scalar_ok=False, min_size=1, bad=([1.0, 0.5],)),
               "sigma": RA(0, low_open=True, bad=([1.0, 1.0],)),
               "H": RA(ndim=2, bad=([[2.0, 0.5, 0.2], [0.0, 1.0, 0.1], [0.2, 0.1, 0.5]],
                                     [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0]]))}


def _surge_kw(**extra):
    def make():
        return dict(mu=list(_MU), sigma=list(_SIG), H=[list(r) for r in _HS], **extra)
    return make


def _chk_sigmoid(out, kw):
    z, s = _arr(kw["z"]), _arr(out)
    if np.any(np.abs(s) > 1) or np.any(np.sign(s) != np.sign(z)):
        return f"outside [-1, 1] or of the wrong sign: {out!r}"
    big = np.abs(z) >= 1e3
    if np.any(np.abs(s[big] if s.ndim else (s if big else 1.0)) < 0.99):
        return f"sigmoid_erf({kw['z']!r}) = {out!r}, should be close to sign(z)"
    return None


def _chk_surge_rate(out, kw):
    return _first_bad(_all(out, lambda v: v > 0), f"optimal rate not positive: {out!r}")


def _chk_decrease(out, kw):
    s = lib("surge")
    best = s.optimal_decrease(kw["mu"], kw["sigma"], kw["H"], kw["batch_size"], kw.get("erf_form", "exact"))
    return _first_bad(_all(_arr(out) - _arr(best) * (1 + 1e-12) - 1e-300, lambda v: v <= 0),
                      f"decrease {out!r} above the optimal decrease {best!r}")


entry("surge.sigmoid_erf", Example(lambda: dict(z=0.5), {"z": RA(scale=True)}, check=_chk_sigmoid),
      Example(lambda: dict(z=[-3.0, 0.0, 2.0]), {"z": RA(scale=True)}, check=_chk_sigmoid))
entry("surge.sign_descent_expected_update", Example(
    lambda: dict(mu=list(_MU), sigma=list(_SIG), batch_size=4.0),
    {"mu": _SURGE_ARGS["mu"], "sigma": _SURGE_ARGS["sigma"], "batch_size": RA(1)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: np.abs(v) <= 1), f"E[sign] outside [-1, 1]: {out!r}")))
entry("surge.optimal_rate", Example(
    _surge_kw(batch_size=4.0, erf_form="exact"),
    {**_SURGE_ARGS, "batch_size": RA(1), "erf_form": Choice("exact", "sigmoid", "linear")}, check=_chk_surge_rate))
entry("surge.expected_decrease", Example(
    _surge_kw(batch_size=4.0, rate=0.05, erf_form="exact"),
    {**_SURGE_ARGS, "batch_size": RA(1), "rate": RA(), "erf_form": Choice("exact", "sigmoid", "linear")},
    check=_chk_decrease))
entry("surge.optimal_decrease", Example(
    _surge_kw(batch_size=4.0, erf_form="exact"),
    {**_SURGE_ARGS, "batch_size": RA(1), "erf_form": Choice("exact", "sigmoid", "linear")},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0), f"optimal decrease negative: {out!r}")))
entry("surge.approximate_optimal_rate", Example(
    lambda: dict(batch_size=4.0, B_noise=10.0, eps_max=0.1),
    {"batch_size": RA(1, scale=True), "B_noise": RA(0, low_open=True, scale=True),
     "eps_max": RA(0, low_open=True, scale=True)},
    check=lambda out, kw: _first_bad(_all(_arr(out) / _arr(kw["eps_max"]), lambda v: (v > 0) & (v <= 1 + 1e-12)),
                                     f"rate outside (0, eps_max]: {out!r}")))


def _chk_surge_params(out, kw):
    mu, sig, H = _arr(kw["mu"]), _arr(kw["sigma"]) * np.ones(len(kw["mu"])), _arr(kw["H"])
    r = mu / sig
    a = math.sqrt(2 / math.pi) * float(mu @ r)
    c = float(np.trace(H))
    off = H - np.diag(np.diag(H))
    d = 2 / math.pi * float(r @ off @ r)
    if d > 0 and np.all(np.isfinite([a, c, d])) and a > 0:
        Bn, em = c / d, a / (2 * math.sqrt(c * d))
        if not (_rel(out.B_noise, Bn, 1e-9) and _rel(out.eps_max, em, 1e-9)):
            return f"(B_noise, eps_max) = ({out.B_noise!r}, {out.eps_max!r}), direct ({Bn!r}, {em!r})"
    return None


entry("surge.surge_parameters", Example(
    _surge_kw(),
    {**_SURGE_ARGS, "mu": RA(ndim=1, scalar_ok=False, min_size=1, bad=([1.0, 0.5],),
                             extreme=([1e155] * 3,))},  # the issue's 'no peak' case
    check=_chk_surge_params))
entry("surge.one_step_monte_carlo", Example(
    lambda: dict(theta=[1.0, 0.5, 0.25], H=[list(r) for r in _HS], sigma=1.0, batch_size=4,
                 rates=np.logspace(-3, 0, 8), samples=200, seed=0, chunk=20000),
    {"theta": RA(ndim=1, scalar_ok=False, min_size=1, bad=([1.0, 0.5],)), "H": _SURGE_ARGS["H"], "sigma": RA(0, low_open=True),
     "batch_size": R(1), "rates": RA(ndim=1, min_size=1), "samples": I(2, size=True), "seed": Seed(),
     "chunk": I(1, size=True)}))
entry("surge.simulate_noisy_quadratic", Example(
    lambda: dict(H=[list(r) for r in _HS], sigma=1.0, theta0=[1.0, 1.0, 1.0], rates=[0.01, 0.05], batch_size=4,
                 steps=20, runs=10, seed=0, optimizer="sign", record_every=1, common_noise=True, beta1=0.9,
                 beta2=0.999, adam_eps=1e-8),
    {"H": _SURGE_ARGS["H"], "sigma": RA(0, low_open=True), "theta0": RA(ndim=1, scalar_ok=False, min_size=1, bad=([1.0],)),
     "rates": RA(0, low_open=True, ndim=1), "batch_size": R(1), "steps": I(0, size=True), "runs": I(1, size=True),
     "seed": Seed(), "optimizer": Choice("sign", "sgd", "adam"), "record_every": I(1, size=True), "common_noise": Flag(),
     "beta1": R(0, 1, high_open=True), "beta2": R(0, 1, high_open=True), "adam_eps": R(0)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0), "a quadratic loss below 0")))
entry("surge.steps_to_target", Example(
    lambda: dict(losses=[1.0, 0.5, 0.25, 0.1], target=0.3),
    {"losses": RA(0, low_open=True, inf=True, scalar_ok=False, min_size=1), "target": RA(0, low_open=True)},
    nonfinite_ok=True, note="inf when the target is never reached (documented)",
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v >= 0) & ((v <= 3) | np.isinf(v))),
                                     f"crossing outside [0, 3] (or inf): {out!r}")))
entry("surge.refine_grid_minimum", Example(
    lambda: dict(rates=np.logspace(-3, 0, 7), values=[5.0, 3.0, 2.0, 1.5, 2.0, 4.0, 8.0]),
    {"rates": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, scale=True),
     "values": RA(scalar_ok=False, min_size=1, inf=True, bad=([1.0, 2.0],))},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v >= np.min(kw["rates"]) * (1 - 1e-12))
                                          & (v <= np.max(kw["rates"]) * (1 + 1e-12))), f"minimiser outside the grid: {out!r}")))
_BS = np.array([1.0, 2, 4, 8, 16, 32, 64, 128])


def _surge_curve(Bn=10.0, em=0.1):
    return 2 * em * np.sqrt(_BS * Bn) / (_BS + Bn)


entry("surge.fit_surge_curve", Example(
    lambda: dict(batch_sizes=_BS.copy(), rates=_surge_curve()),
    {"batch_sizes": RA(1, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:2],)),
     "rates": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],))},
    check=lambda out, kw: (_first_bad(_rel(out[0], 10.0, 1e-6) and _rel(out[1], 0.1, 1e-6),
                                      f"fit {out!r} does not recover (10, 0.1)")
                           if np.allclose(kw["rates"], _surge_curve()) and np.allclose(kw["batch_sizes"], _BS)
                           else _first_bad(out[0] > 0 and out[1] > 0, f"fit {out!r} not positive"))))
entry("surge.fit_steps_examples", Example(
    lambda: dict(steps=100 * (1 + 10 / _BS), examples=_BS * 100 * (1 + 10 / _BS)),
    {"steps": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:1],)),
     "examples": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],))},
    check=lambda out, kw: _first_bad(out[0] > 0 and out[1] > 0, f"(B_noise, S_min) = {out!r}: not both positive")))


# ============================================================================== schedules
def _chk_sched(out, kw, lo=0.0):
    e = _arr(out)
    T = kw.get("T", kw.get("warmup"))
    if e.shape != (int(T),):
        return f"length {e.shape} != ({T},)"
    if np.any(e <= 0) or np.any(e > float(kw["eta_max"]) * (1 + 1e-12)):
        return "a rate outside (0, eta_max]"
    return None


entry("schedules.linear_warmup", Example(
    lambda: dict(warmup=4, eta_max=0.2), {"warmup": I(0, size=True), "eta_max": R(0, low_open=True)}, check=_chk_sched))
entry("schedules.constant", Example(
    lambda: dict(T=10, eta_max=0.1, warmup=2),
    {"T": I(2, size=True), "eta_max": R(0, low_open=True), "warmup": I(0, 9)}, check=_chk_sched))
entry("schedules.cosine", Example(
    lambda: dict(T=10, eta_max=0.1, eta_min=0.01, warmup=2),
    {"T": I(3, size=True), "eta_max": R(0.01), "eta_min": R(0, 0.1), "warmup": I(0, 9)},
    check=_chk_sched))
entry("schedules.wsd", Example(
    lambda: dict(T=10, eta_max=0.1, decay_start=6, eta_min=0.01, decay="geometric", warmup=2),
    {"T": I(7, size=True), "eta_max": R(0.01), "decay_start": I(2, 9),
     "eta_min": R(0, 0.1, low_open=True), "decay": Choice("geometric", "linear"), "warmup": I(0, 6)},
    check=_chk_sched))
entry("schedules.polynomial_decay", Example(
    lambda: dict(T=10, eta_max=0.1, power=2.0, eta_min=0.01, warmup=2),
    {"T": I(3, size=True), "eta_max": R(0.01), "power": R(0, low_open=True), "eta_min": R(0, 0.1), "warmup": I(0, 9)},
    check=lambda out, kw: _chk_sched(out, kw) or _first_bad(
        _all(_arr(out)[int(kw["warmup"]):], lambda v: v >= float(kw["eta_min"]) * (1 - 1e-12)), "a rate below eta_min")))
entry("schedules.two_stage", Example(
    lambda: dict(T=10, eta_max=0.1, eta_low=0.01, switch=6, warmup=2),
    {"T": I(6, size=True), "eta_max": R(0, low_open=True), "eta_low": R(0, low_open=True, probe=(1.0,)),
     "switch": I(2, 10), "warmup": I(0, 6)},
    check=lambda out, kw: _first_bad(len(out) == int(kw["T"]) and _all(out, lambda v: v > 0), "wrong length or a rate <= 0")))
entry("schedules.area", Example(
    lambda: dict(etas=[0.1, 0.2, 0.3]), {"etas": RA(0, ndim=1, scalar_ok=False, scale=True)},
    check=lambda out, kw: _first_bad(_rel(_arr(out)[-1], np.sum(kw["etas"]), 1e-12) and np.all(np.diff(out) >= 0),
                                     f"area {out!r} not the cumulative sum")))


# ============================================================================== schedule_optimisation
_ETAS = RA(0, 1 / 3, low_open=True, ndim=1, scalar_ok=False, min_size=1)
_N18 = I(1, 10**18)   # schedule_optimisation counts features exactly up to N = 10^18 (documented)
_NAB = {"N": _N18, "a": _A, "b": _Bexp, "exact_features": Flag()}


def _so_kw(**extra):
    def make():
        return dict(etas=np.full(30, 0.2), N=1000, a=1.0, b=1.0, exact_features=False, **extra)
    return make


def _chk_so_grad(out, kw):
    loss, grad = out
    ref = lib("schedule_optimisation").final_loss(kw["etas"], kw["N"], kw["a"], kw["b"], kw.get("exact_features", False))
    if not _rel(loss, ref, 1e-12):
        return f"loss {loss!r} != final_loss {ref!r}"
    return None


def _chk_so_opt(out, kw):
    etas, loss, history = out
    so = lib("schedule_optimisation")
    e = _arr(etas)
    lo, hi = float(kw.get("eta_min", 1e-6)), float(kw.get("eta_max", 1 / 3))
    W = int(kw.get("warmup", 0))
    if np.any(e[W:] < lo * (1 - 1e-12)) or np.any(e[W:] > hi * (1 + 1e-12)):
        return "a rate outside [eta_min, eta_max]"
    if kw.get("monotone", True) and np.any(np.diff(e[W:]) > 1e-15):
        return "schedule not non-increasing"
    if W == 0:
        const = so.final_loss(np.full(e.size, hi), kw["N"], kw["a"], kw["b"], kw.get("exact_features", False))
        if loss > const * (1 + 1e-12):
            return f"'optimal' loss {loss!r} above the constant eta_max schedule's {const!r}"
    return None


entry("schedule_optimisation.feature_table",
      Example(lambda: dict(N=1000, a=1.0, b=1.0, exact_features=False), dict(_NAB),
              check=lambda out, kw: _first_bad(0 <= out[2] <= 1, "tail mass outside [0, 1]")),
      Example(lambda: dict(N=1000, a=1.0, b=1.0, exact_features=True), dict(_NAB),
              check=lambda out, kw: _first_bad(0 <= out[2] <= 1, "tail mass outside [0, 1]")))
entry("schedule_optimisation.loss_curve",
      Example(_so_kw(), {"etas": _ETAS, **_NAB}, check=_chk_zipf_loss))
entry("schedule_optimisation.final_loss",
      Example(_so_kw(), {"etas": _ETAS, **_NAB}, check=_chk_zipf_loss))
entry("schedule_optimisation.final_loss_and_gradient",
      Example(_so_kw(segment=None), {"etas": _ETAS, **_NAB, "segment": I(1, none=True, size=True)}, check=_chk_so_grad))
entry("schedule_optimisation.continuous_loss_curve",
      Example(_so_kw(), {"etas": _ETAS, **_NAB}, check=_chk_zipf_loss))
entry("schedule_optimisation.constant_area_loss", Example(
    lambda: dict(S=[0.0, 1.0, 10.0], eta0=0.1, N=1000, a=1.0, b=1.0, exact_features=False),
    {"S": RA(0, scale=True), "eta0": R(0, 1 / 3, low_open=True), **_NAB}, check=_chk_zipf_loss))
entry("schedule_optimisation.drop_kernel", Example(
    lambda: dict(S=[0.0, 1.0, 10.0], N=1000, a=1.0, b=1.0, exact_features=False), {"S": RA(0, scale=True), **_NAB},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v >= 0) & (v <= 0.25)), f"kernel outside [0, 1/4]: {out!r}")))
entry("schedule_optimisation.project_monotone", Example(
    lambda: dict(v=[0.3, 0.1, 0.2, 0.05], eta_max=0.25, eta_min=1e-6, head=0),
    {"v": RA(ndim=1, scalar_ok=False, min_size=1), "eta_max": R(1e-6), "eta_min": R(None, 0.25),
     "head": I(0, 4)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v >= float(kw["eta_min"])) & (v <= float(kw["eta_max"])))
                                     and np.all(np.diff(_arr(out)[int(kw["head"]):]) <= 0), "not in the box or not monotone")))
entry("schedule_optimisation.optimal_schedule", Example(
    lambda: dict(N=1000, a=1.0, b=1.0, T=30, eta_max=1 / 3, x0=None, iters=10, eta_min=1e-6, monotone=True, warmup=0,
                 exact_features=False, tol=1e-12),
    {"N": _N18, "a": _A, "b": _Bexp, "T": I(1, size=True), "eta_max": R(1e-6, 1 / 3, low_open=True),
     "x0": Custom(bad=("abc", np.full(29, 0.1), np.full(30, np.nan), np.full(30, -0.1)), extreme=(np.full(30, 0.1),)),
     "iters": I(0, size=True), "eta_min": R(0, 1 / 3, low_open=True), "monotone": Flag(), "warmup": I(0, 29),
     "exact_features": Flag(), "tol": R(0, 1, low_open=True, high_open=True)},
    check=_chk_so_opt, cost="slow"))


# ============================================================================== mpl
_MPL = {"L0": 0.8, "A": 0.5, "alpha": 0.45, "B": 3.0, "C": 2.0, "beta": 0.6, "gamma": 0.4}
_MPL_KEYS = {"L0": R(), **{k: R(0, low_open=True) for k in ("A", "alpha", "B", "C", "beta", "gamma")}}


def _mpl_lrs(T=200, W=10, peak=0.3, kind="cosine"):
    warm = peak * np.arange(1, W + 1) / W
    s = np.arange(T - W)
    if kind == "cosine":
        body = 0.01 * peak + 0.5 * (peak - 0.01 * peak) * (1 + np.cos(np.pi * s / (T - W)))
    else:
        body = np.full(T - W, peak)
    return np.concatenate([warm, body])


def _mpl_curves(logged=False):
    """Two curves of the law with _MPL; ``logged``: steps as logged indices s = n - 1 (the authors' code)."""
    m = lib("mpl")
    out = []
    for kind in ("constant", "cosine"):
        lrs = _mpl_lrs(kind=kind)
        steps = np.arange(10, 201, 10)
        out.append((lrs, steps - 1 if logged else steps, m.multi_power_law(lrs, steps, _MPL)))
    return out


_CURVES = Custom(bad=([], None, "abc", lambda b: [(b[0][0], b[0][1])],
                      lambda b: [(b[0][0], b[0][1], np.full(len(b[0][1]), np.nan))],
                      lambda b: [(b[0][0], b[0][1], -b[0][2])],
                      lambda b: [(b[0][0], b[0][1] * 100, b[0][2])],
                      lambda b: [(np.full(200, np.nan), b[0][1], b[0][2])]))


def _chk_mpl_fit(out, kw):
    # a parameter outside the law's domain must be reported in `degenerate` (documented: the AdamW
    # methods "authors" and "cv-stop" are unconstrained, as in the authors' code); the others stay inside
    p = out.params
    for k, v in p.items():
        if k == "L0" or v > 0:
            continue
        if kw.get("method") in ("authors", "cv-stop") and any(d.startswith(f"{k} =") for d in out.degenerate):
            continue
        return f"fitted {k} = {v!r} not positive and not reported in degenerate {out.degenerate!r}"
    return None


def _chk_scores(name):
    def check(out, kw):
        v = float(out)
        if name == "r2" and v > 1 + 1e-12:
            return f"R2 = {v!r} > 1"
        if name != "r2" and v < 0:
            return f"{name} = {v!r} < 0"
        return None
    return check


entry("mpl.loss_drop_nodes", Example(
    lambda: dict(lrs=_mpl_lrs(), steps=[50, 100, 200], warmup=None, window=64, ratio=0.25, base=16, order=4,
                 smooth_tol=1e-7, convention="updates"),
    {"lrs": RA(0, ndim=1, scalar_ok=False, min_size=1), "steps": IA(1, 200, ndim=1), "warmup": I(0, 200, none=True),
     "window": I(64, none=True, size=True), "ratio": R(0, 1, low_open=True), "base": I(1, size=True),
     "order": I(1, 8), "smooth_tol": R(0), "convention": Choice("updates", "logged")},
    check=lambda out, kw: _first_bad(_all(out[0], lambda i: (i >= 0) & (i < len(kw["lrs"]))), "a node index outside 0..T-1")))
entry("mpl.huber", Example(
    lambda: dict(r=[0.01, -0.0005, 2.0], delta=1e-3), {"r": RA(), "delta": R(0, low_open=True)}, check=_chk_huber))
for _name, _extra in (("fit", dict(method="optimum", convention="updates", n_starts=1, maxiter=50, quadrature=None,
                                   validation="curves")),
                      ("fit_power_law", dict(convention="updates", n_starts=1, maxiter=50)),
                      ("fit_momentum_law", dict(lam=0.999, convention="updates", n_starts=1, maxiter=50))):
    _args = {"curves": _CURVES, "warmup": I(0, 200, none=True), "delta": R(0, low_open=True),
             "n_starts": I(1, 108, none=_name == "fit"), "maxiter": I(1, size=True, none=_name == "fit"),
             "convention": Choice("updates", "logged", none=_name == "fit")}
    if _name == "fit":
        _args["quadrature"] = Custom(bad=("x", {"bogus": 1}, {"window": -1}), probe=({"window": None},),
                                     aliases=("window", "ratio", "base", "order", "smooth_tol", "bogus"))
        _args["method"] = Choice("optimum", "authors", "cv-stop", "cv-ridge")
        _args["validation"] = Choice("curves", "forward")
    if _name == "fit_momentum_law":
        _args["lam"] = R(0, 1, high_open=True)
    entry(f"mpl.{_name}", Example(
        lambda _extra=_extra: dict(curves=_mpl_curves(), warmup=None, delta=1e-3, **_extra), _args,
        check=_chk_mpl_fit, cost="slow"))
entry("mpl.fit", Example(
    lambda: dict(curves=_mpl_curves(logged=True), method="authors", convention=None, warmup=None, delta=1e-3, n_starts=None,
                 maxiter=30, quadrature=None, validation="curves"),
    {"curves": _CURVES, "method": Choice("optimum", "authors", "cv-stop", "cv-ridge"),
     "convention": Choice("updates", "logged", none=True), "validation": Choice("curves", "forward"),
     "warmup": Custom(bad=(5, "x")), "delta": R(0, low_open=True), "n_starts": Custom(bad=(3, "x")),
     "maxiter": I(1, size=True, none=True), "quadrature": Custom(bad=("x",))},
    check=_chk_mpl_fit, cost="slow", note="the authors' procedure (logged steps; warmup and n_starts do not apply)"))
entry("mpl.fit_convex_bound", Example(
    lambda: dict(curves=_mpl_curves(), convention="updates", delta=1e-3, maxiter=200),
    {"curves": _CURVES, "convention": Choice("updates", "logged"), "delta": R(0, low_open=True),
     "maxiter": I(1, size=True)},
    check=lambda out, kw: _first_bad(out.params["D"] >= 0 and out.params["G"] >= 0, f"D or G negative: {out.params!r}"),
    cost="slow"))
entry("mpl.convex_bound", Example(
    lambda: dict(lrs=_mpl_lrs(), steps=np.arange(10, 201, 10), params={"L0": 0.8, "D": 1.0, "G": 0.5},
                 convention="updates"),
    {"lrs": RA(0, ndim=1, scalar_ok=False, min_size=1), "steps": IA(1, 200, ndim=1, min_size=1),
     "params": Mapping({"L0": R(), "D": R(0), "G": R(0)}), "convention": Choice("updates", "logged")},
    check=lambda out, kw: _first_bad(_all(_arr(out) - float(kw["params"]["L0"]), lambda v: v >= -1e-12 * max(1.0, abs(float(kw["params"]["L0"])))),
                                     "bound below L0 (Omega_n < 0)")))


def _study_csv(name="cosine_24000"):
    """A CSV of Luo et al.'s runs: the fuzzed tree's copy if it has one, else a synthetic one."""
    import os
    import tempfile
    from pathlib import Path
    root = Path(lib("mpl").__file__).resolve().parents[2]
    real = root / "data" / "multipowerlaw-400M" / f"{name}.csv"
    if real.exists():
        return str(real)
    lrs = lib("mpl").study_schedule(name)
    steps = np.arange(0, lrs.size, 100)
    loss = 3.0 + 2.0 / np.sqrt(1 + np.cumsum(lrs)[steps] / 3e-4 / 100)
    folder = tempfile.mkdtemp(prefix="fuzz_mpl_")
    path = os.path.join(folder, f"{name}.csv")
    with open(path, "w") as f:
        f.write("step,lr,loss\n")
        f.writelines(f"{s_},{lrs[s_]!r},{l_!r}\n" for s_, l_ in zip(steps, loss))
    return path


entry("mpl.study_schedule", Example(
    lambda: dict(name="cosine_24000"),
    {"name": Choice("constant_24000", "constant_72000", "cosine_24000", "cosine_72000", "wsd_20000_24000",
                    "wsdld_20000_24000", "wsdcon_3", "wsdcon_9", "wsdcon_18")},
    check=lambda out, kw: _first_bad(_all(out, lambda v: (v >= 0) & (v <= 3e-4 * (1 + 1e-12))), "a rate outside [0, 3e-4]")))
entry("mpl.load_study_curve", Example(
    lambda: dict(path=_study_csv()),
    {"path": Custom(bad=("/nonexistent/cosine_24000.csv", None, 3, "/etc/hostname"))},
    check=lambda out, kw: _first_bad(len(out) == 3 and _all(out[2], lambda v: v > 0), "not (lrs, steps, positive losses)")))


def _chk_mpl_value(out, kw):
    # LD >= 0 when the schedule does not rise after the warmup, so L <= L0 + A (S1 + SW)^-alpha
    p = kw["params"]
    lrs, steps = _arr(kw["lrs"]), np.asarray(kw["steps"], dtype=int)
    W = int(np.argmax(lrs)) + 1 if kw.get("warmup") is None else max(int(kw["warmup"]), 1)
    if np.any(np.diff(lrs[W - 1:]) > 0):
        return None
    area = np.cumsum(lrs)[steps - 1]
    top = float(p["L0"]) + float(p["A"]) * area ** -float(p["alpha"])
    return _first_bad(np.all(_arr(out) <= top + 1e-9 * np.abs(top) + 1e-12), "prediction above L0 + A S^-alpha (LD < 0)")


def _chk_mpl_grad(out, kw):
    loss, grad = out
    g = _arr(grad)
    if np.isfinite(loss) and not np.all(np.isfinite(g)):
        return "gradient has non-finite entries beside a finite loss"
    return None


def _chk_mpl_opt(out, kw):
    lrs, loss = out
    e = _arr(lrs)
    W = int(kw.get("warmup", 0))
    if np.any(e <= 0) or np.any(e > float(kw["eta_max"]) * (1 + 1e-12)) or np.any(np.diff(e[W:]) > 1e-15):
        return "schedule outside (0, eta_max] or not non-increasing"
    if W == 0:
        const = lib("mpl").final_loss_and_gradient(np.full(e.size, float(kw["eta_max"])), kw["params"])[0]
        if loss > const + 1e-9 * abs(const):
            return f"'optimal' loss {loss!r} above the constant schedule's {const!r}"
    return None


entry("mpl.multi_power_law", Example(
    lambda: dict(lrs=_mpl_lrs(), steps=np.arange(10, 201, 10), params=dict(_MPL), warmup=None, window=64,
                 convention="updates"),
    {"lrs": RA(0, ndim=1, scalar_ok=False, min_size=1), "steps": IA(1, 200, ndim=1), "params": Mapping(_MPL_KEYS),
     "warmup": I(0, 200, none=True), "window": I(64, none=True, size=True), "convention": Choice("updates", "logged")},
    check=_chk_mpl_value))
entry("mpl.final_loss_and_gradient", Example(
    lambda: dict(lrs=_mpl_lrs(), params=dict(_MPL), warmup=None),
    {"lrs": RA(0, ndim=1, scalar_ok=False, min_size=1), "params": Mapping(_MPL_KEYS), "warmup": I(0, 200, none=True)},
    check=_chk_mpl_grad))
entry("mpl.optimal_schedule", Example(
    lambda: dict(params=dict(_MPL), T=100, eta_max=0.3, warmup=0, eta_min=None, maxiter=50),
    {"params": Mapping(_MPL_KEYS), "T": I(1, size=True), "eta_max": R(0, low_open=True), "warmup": I(0, 99),
     "eta_min": R(0, 0.3, low_open=True, none=True), "maxiter": I(1, size=True)},
    check=_chk_mpl_opt, cost="slow"))
_PRED, _OBS = [1.0, 2.1, 2.9, 4.2], [1.1, 2.0, 3.0, 4.0]
for _name in ("r2", "mae", "rmse", "mean_relative_error", "worst_relative_error", "score"):
    _rel_err = _name in ("mean_relative_error", "worst_relative_error", "score")
    _obs = RA(0, low_open=True, scalar_ok=False, min_size=1, bad=([1.0, 2.0],)) if _rel_err else \
        RA(scalar_ok=False, min_size=1, bad=([1.0, 2.0],) + (([2.0, 2.0, 2.0, 2.0],) if _name == "r2" else ()))
    entry(f"mpl.{_name}", Example(
        lambda: dict(pred=list(_PRED), obs=list(_OBS)),
        {"pred": RA(scalar_ok=False, min_size=1, bad=([1.0],)), "obs": _obs},
        check=None if _name == "score" else _chk_scores(_name)))


# ============================================================================== learning_law
def _problem(T=20):
    return lib("learning_law").make_problem(dim=8, n_train=32, n_desired=16, eta=0.1, T=T, seed=0)


def _uniform(T=20):
    return np.full((T, 32), 1.0 / 32)


_PROBLEM = Obj(bad=(lambda b: lib("learning_law").Trajectory(np.zeros((2, 8)), np.zeros((1, 32)), np.zeros(2),
                                                               np.zeros((2, 8))),))
_GAMMA = RA(0, ndim=2, scalar_ok=False, min_size=1, bad=(lambda b: 2 * b, lambda b: b[:-1], lambda b: b[:, :-1]))


def _chk_objectives(out, kw):
    J = _arr(out.objectives)
    return _first_bad(np.all(np.diff(J) <= 1e-12 * np.abs(J[:-1])), "objective increased between iterations")


entry("learning_law.code_version", Example(   # on the ll branch; ignored where the function does not exist
    dict, {},
    check=lambda out, kw: _first_bad(isinstance(out, str) and len(out) == 64
                                     and all(ch in "0123456789abcdef" for ch in out),
                                     f"not a SHA-256 hex digest: {out!r}")))
entry("learning_law.make_problem", Example(
    lambda: dict(dim=8, n_train=32, n_desired=16, eta=0.1, T=20, seed=0, train_variance=3.0, desired_shift=0.5),
    {"dim": I(1, size=True), "n_train": I(1, size=True), "n_desired": I(1, size=True), "eta": R(0, low_open=True),
     "T": I(1, size=True), "seed": Seed(), "train_variance": R(0, low_open=True), "desired_shift": R()}))
entry("learning_law.logistic_loss", Example(
    lambda: dict(margin=[-2.0, 0.0, 3.0], y=[0.0, 1.0, 1.0]), {"margin": RA(), "y": RA(0, 1)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0), f"logistic loss negative: {out!r}")))
entry("learning_law.uniform_policy", Example(
    lambda: dict(T=20, n_train=32), {"T": I(1, size=True), "n_train": I(1, size=True)},
    check=lambda out, kw: _first_bad(np.allclose(np.sum(out, axis=1), 1), "rows do not sum to 1")))
entry("learning_law.project_to_simplex", Example(
    lambda: dict(v=[[0.5, 0.2, -0.1], [1.0, 2.0, 3.0]]), {"v": RA(scale=True, min_size=1)},
    check=lambda out, kw: _first_bad(np.all(_arr(out) >= 0) and np.allclose(np.sum(out, axis=-1), 1, rtol=1e-12),
                                     "a row not on the simplex")))
for _name in ("train", "objective", "objective_and_gradient"):
    entry(f"learning_law.{_name}", Example(
        lambda: dict(problem=_problem(), gamma=_uniform()), {"problem": _PROBLEM, "gamma": _GAMMA},
        check=(lambda out, kw: _first_bad(out > 0, f"J = {out!r} not positive")) if _name == "objective" else None))
entry("learning_law.gradient_descent", Example(lambda: dict(problem=_problem()), {"problem": _PROBLEM}))
entry("learning_law.weighted_hvp", Example(
    lambda: dict(problem=_problem(), theta=np.full(8, 0.1), weights=np.full(32, 1 / 32), v=np.ones(8)),
    {"problem": _PROBLEM, "theta": RA(ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "weights": RA(ndim=1, bad=(lambda b: b[:-1],)),
     "v": RA(ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],))}))
entry("learning_law.contributions", Example(
    lambda: dict(problem=_problem(), traj=lib("learning_law").train(_problem(), _uniform())),
    {"problem": _PROBLEM, "traj": Obj(bad=(lambda b: _problem(),))}))
entry("learning_law.active_sim", Example(
    lambda: dict(values=np.random.default_rng(0).standard_normal((5, 6)) + 1.0, gamma=np.full((5, 6), 1 / 6),
                 min_active=2),
    {"values": RA(ndim=2, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)), "gamma": RA(0, ndim=2, scalar_ok=False, min_size=1),
     "min_active": I(2, size=True)}, nonfinite_ok=True, note="steps with fewer than min_active active examples are NaN"))
entry("learning_law.sim_statistic", Example(
    lambda: dict(problem=_problem(), gamma=_uniform(), traj=None, min_active=2),
    {"problem": _PROBLEM, "gamma": _GAMMA, "traj": Obj(none=True, bad=(lambda b: _problem(),)),
     "min_active": I(2, size=True)}, nonfinite_ok=True,
    note="SIM is NaN at t = 0 (theta_0 = 0 makes every contribution equal); documented"))
entry("learning_law.costate_sim", Example(
    lambda: dict(problem=_problem(), gamma=_uniform(),
                 grad=lib("learning_law").objective_and_gradient(_problem(), _uniform())[1], min_active=2),
    {"problem": _PROBLEM, "gamma": _GAMMA, "grad": RA(ndim=2, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "min_active": I(2, size=True)}, nonfinite_ok=True, note="steps with fewer than min_active active examples are NaN"))
entry("learning_law.compression_ratio", Example(
    lambda: dict(J=10.0, T=20, n_classes=2),
    {"J": RA(0, low_open=True, scale=True), "T": I(1, size=True), "n_classes": I(2, size=True)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v > 0), f"CR not positive: {out!r}")))
def _fw_gap_ll(gamma, grad):
    g, G = _arr(gamma), _arr(grad)
    return float(np.sum(np.sum(g * G, axis=1) - G.min(axis=1)))


entry("learning_law.frank_wolfe_gap", Example(
    lambda: dict(gamma=np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]), grad=np.array([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]]),
                 per_step=False),
    {"gamma": RA(0, ndim=2, scalar_ok=False), "grad": RA(ndim=2, scalar_ok=False, bad=(lambda b: b[:, :-1],)),
     "per_step": Flag()},
    check=lambda out, kw: _first_bad(
        np.all(_arr(out) >= 0) and (kw.get("per_step") or _rel(out, _fw_gap_ll(kw["gamma"], kw["grad"]), 1e-12)),
        f"gap {out!r} negative or not sum_t (gamma_t . g_t - min g_t)")))
entry("learning_law.optimize_policy", Example(
    lambda: dict(problem=_problem(), tol=1e-3, max_iterations=2, gamma0=None, method="blended", step=None, growth=1.5,
                 record_sim=True, time_limit=None),
    {"problem": _PROBLEM, "tol": R(0, 1, low_open=True), "max_iterations": I(0, size=True),
     "method": Choice("blended", "projected"), "time_limit": R(0, low_open=True, inf=True, none=True),
     "gamma0": Custom(bad=("abc", lambda b: 2 * _uniform(), lambda b: _uniform()[:-1], lambda b: np.full((20, 32), np.nan)),
                      extreme=(lambda b: _uniform(),)),
     "step": R(0, low_open=True, none=True), "growth": R(1), "record_sim": Flag()},
    check=_chk_objectives, cost="slow"))
entry("learning_law.power_law_loss", Example(
    lambda: dict(t=[1.0, 10.0, 100.0], L0=0.5, B=2.0, beta=0.5),
    {"t": RA(0, low_open=True, scale=True), "L0": R(0), "B": R(0, low_open=True), "beta": R(0, low_open=True)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= float(kw["L0"])), "L(t) below L0")))


def _chk_fit_curve(out, kw):
    L0, B, beta = out
    if L0 < 0 or B <= 0 or not 0.01 <= beta <= 10:
        return f"fit {out!r} outside its documented bounds"
    t = _arr(kw["t"])
    if np.allclose(t, np.arange(1.0, 50.0)) and np.allclose(kw["L"], 0.5 + (2.0 / t) ** 0.5) and kw.get("L0_max") is None:
        if not (_rel(L0, 0.5, 1e-4) and _rel(beta, 0.5, 1e-4)):
            return f"fit {out!r} does not recover (0.5, 2, 0.5)"
    return None


entry("learning_law.fit_loss_curve", Example(
    lambda: dict(t=np.arange(1.0, 50.0), L=0.5 + (2.0 / np.arange(1.0, 50.0)) ** 0.5, L0_max=None),
    {"t": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:3],)),
     "L": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "L0_max": R(0, none=True)},
    check=_chk_fit_curve, cost="slow"))
entry("learning_law.acceleration_ratio", Example(
    lambda: dict(fit_conventional=(0.5, 2.0, 0.5), fit_optimal=(0.5, 1.0, 0.6), T=100.0),
    {"fit_conventional": Custom(bad=("abc", None, (0.5, 2.0), (math.nan, 2.0, 0.5), (0.5, -2.0, 0.5), (0.5, 2.0, 0.0))),
     "fit_optimal": Custom(bad=("abc", None, (0.5, 1.0), (0.5, 1.0, math.nan), (0.5, 1.0, -0.6))),
     "T": R(0, low_open=True)}, nonfinite_ok=True,
    note="inf when the target is at or below the near-optimal law's floor (documented)",
    check=lambda out, kw: _first_bad(out > 0, f"acceleration not positive: {out!r}")))
_LC = 0.5 + 1.0 / np.arange(1.0, 22.0)
entry("learning_law.empirical_acceleration", Example(
    lambda: dict(loss_conventional=_LC.copy(), loss_optimal=0.5 + 1.0 / np.arange(1.0, 22.0) ** 1.5),
    {"loss_conventional": RA(0, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "loss_optimal": RA(0, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:1],))}, nonfinite_ok=True,
    note="inf if the target is reached at t = 0, NaN if never (documented)",
    check=lambda out, kw: _first_bad(out > 0, f"acceleration not positive: {out!r}")))


# ============================================================================== prose, figures (the lead's)
def _is_text(out, kw):
    return _first_bad(isinstance(out, str) and out != "" and "nan" not in out.lower(), f"not a sensible string: {out!r}")


entry("prose.power_of_ten", Example(lambda: dict(exponent=-3), {"exponent": I(None)}, check=_is_text))
entry("prose.number", Example(
    lambda: dict(x=0.00224, digits=3, sci_below=1e-3, sci_above=1e5),
    {"x": R(inf=True), "digits": I(1, 17), "sci_below": R(0, low_open=True), "sci_above": R(0, low_open=True, inf=True)},
    check=_is_text))
entry("prose.pair", Example(
    lambda: dict(values=(1.0, 0.5), digits=3),
    {"values": Custom(bad=("ab", None, (math.nan, 1.0), ("a", 1.0)), extreme=((1e300, -1e-300),)), "digits": I(1, 17)},
    check=_is_text))
entry("figures.use_book_style", Example(lambda: dict(), {}))
entry("figures.column_figure", Example(
    lambda: dict(nrows=1, ncols=2, row_height=None),
    {"nrows": I(1, 6), "ncols": I(1, 2), "row_height": R(0, 6, low_open=True, none=True)}))


# ============================================================================== batch_schedule (noise)
_M0 = R(1e-300, 1e300)
_K = R(0, 1, low_open=True)


def _uniform_mT(T, N, m0=9.0, k=1.0):
    """m_T of the uniform schedule B_t = N/T, by the recursion written out here."""
    f, m = 2 * k - k * k, float(m0)
    for _ in range(int(T)):
        B = N / T
        m = m * (1 - f * B / (B + 2 + 1 / m))
    return m


def _chk_traj(out, kw):
    m = _arr(out)
    if not _rel(m[0], float(kw.get("m0", 9.0)), 1e-15) or np.any(m <= 0) or np.any(np.diff(m) > 0):
        return "m_t does not start at m0, is not positive or increases"
    return None


def _chk_budget_sum(B, N, what="batches"):
    return None if _rel(np.sum(B), N, 1e-9) else f"{what} sum to {np.sum(B)!r}, not the budget {N}"


def _chk_relaxed(out, kw):
    T, N = int(kw["steps"]), int(kw["examples"])
    if out.feasible and _chk_budget_sum(out.batch_sizes, N):
        return _chk_budget_sum(out.batch_sizes, N)
    if T <= 10**5 and out.m[-1] > _uniform_mT(T, N, kw.get("m0", 9.0)) * (1 + 1e-9):
        return f"'optimal' m_T = {out.m[-1]!r} above the uniform schedule's {_uniform_mT(T, N, kw.get('m0', 9.0))!r}"
    return None


def _chk_integer_opt(out, kw):
    T, N = int(kw["steps"]), int(kw["examples"])
    B = _arr(out.batch_sizes)
    if np.any(B < 1) or np.any(B != np.round(B)) or B.size != T:
        return "batches not T integers >= 1"
    if _chk_budget_sum(B, N):
        return _chk_budget_sum(B, N)
    if out.m_final < out.bound * (1 - 1e-12):
        return f"m_final {out.m_final!r} below the relaxation's lower bound {out.bound!r}"
    if N % T == 0 and out.m_final > _uniform_mT(T, N, kw.get("m0", 9.0)) * (1 + 1e-12):
        return "'optimal' integer schedule worse than the uniform one"
    return None


def _chk_brute(out, kw):
    bad = _chk_integer_opt(out, kw)
    if bad:
        return bad
    if int(kw["steps"]) <= 6 and int(kw["examples"]) <= 40:
        ref = lib("batch_schedule").integer_optimum(kw["steps"], kw["examples"], kw.get("m0", 9.0)).m_final
        if not _rel(ref, out.m_final, 1e-11):
            return f"brute force m_T {out.m_final!r} != branch and bound {ref!r}"
    return None


def _chk_numerical(out, kw):
    T, N = int(kw["steps"]), int(kw["examples"])
    if _chk_budget_sum(out.batch_sizes, N):
        return _chk_budget_sum(out.batch_sizes, N)
    ref = _uniform_mT(T, N, kw.get("m0", 9.0), float(kw.get("rate_factor", 1.0)))
    if out.m[-1] > ref * (1 + 1e-9):
        return f"'optimal' m_T {out.m[-1]!r} above the uniform schedule's {ref!r}"
    return None


def _chk_rule(out, kw):
    B, m = (_arr(o) for o in out)
    if np.any(B < 1) or np.any(m <= 0) or np.any(np.diff(m) > 0):
        return "a batch below 1, or m_t not positive and non-increasing"
    return None


entry("batch_schedule.schedule_trajectory", Example(
    lambda: dict(batch_sizes=[1.0, 2.0, 4.0, 8.0], m0=9.0, rate_factor=1.0),
    {"batch_sizes": RA(1, 1e15, ndim=1, scalar_ok=False, min_size=1), "m0": _M0, "rate_factor": _K},
    check=_chk_traj))
entry("batch_schedule.schedule_costate", Example(
    lambda: dict(batch_sizes=[1.0, 2.0, 4.0, 8.0], m0=9.0, rate_factor=0.5),
    {"batch_sizes": RA(1, 1e15, ndim=1, scalar_ok=False, min_size=1), "m0": _M0, "rate_factor": _K}))
entry("batch_schedule.relaxed_optimum", Example(
    lambda: dict(steps=10, examples=100, m0=9.0),
    {"steps": I(1, 10**7), "examples": I(10, 10**15), "m0": _M0}, check=_chk_relaxed))
entry("batch_schedule.min_examples_relaxed", Example(
    lambda: dict(steps=10, m_target=0.5, m0=9.0),
    {"steps": I(1, 10**7), "m_target": R(1e-300, 9.0, high_open=True), "m0": R(0.5, 1e300, low_open=True)},
    check=lambda out, kw: _first_bad(out > 0, f"N_min = {out!r} not positive")))
entry("batch_schedule.integer_optimum", Example(
    lambda: dict(steps=5, examples=30, m0=9.0, max_nodes=10**5),
    {"steps": I(1, 30), "examples": I(5, 10**9), "m0": _M0, "max_nodes": I(1, size=True)},
    check=_chk_integer_opt, cost="slow"))
entry("batch_schedule.brute_force_optimum", Example(
    lambda: dict(steps=4, examples=12, m0=9.0),
    {"steps": I(1, 12), "examples": I(4, 10**9), "m0": _M0}, check=_chk_brute))
entry("batch_schedule.numerical_optimum", Example(
    lambda: dict(steps=8, examples=64, m0=9.0, rate_factor=0.5, start=None),
    {"steps": I(1, 64), "examples": I(8, 10**15), "m0": _M0, "rate_factor": _K,
     "start": Custom(bad=("abc", [1.0, 2.0], np.full(8, np.nan), np.full(8, 0.5)), extreme=(np.full(8, 8.0),))},
    check=_chk_numerical, cost="slow"))
entry("batch_schedule.notes_rule_schedule", Example(
    lambda: dict(steps=20, lam=0.01, m0=9.0, rate_factor=1.0, integer=True),
    {"steps": I(1, 10**7), "lam": R(0, low_open=True), "m0": _M0, "rate_factor": _K, "integer": Flag()},
    check=_chk_rule))
entry("batch_schedule.sqrt_noise_schedule", Example(
    lambda: dict(steps=20, coef=2.0, m0=9.0, rate_factor=1.0, integer=True),
    {"steps": I(1, 10**7), "coef": R(0, low_open=True), "m0": _M0, "rate_factor": _K, "integer": Flag()},
    check=_chk_rule))
entry("batch_schedule.rule_for_budget", Example(
    lambda: dict(rule="sqrt", steps=20, examples=200, m0=9.0, rate_factor=1.0, integer=True),
    {"rule": Choice("notes", "sqrt"), "steps": I(1, 200), "examples": I(20, 10**15), "m0": _M0,
     "rate_factor": _K, "integer": Flag()},
    check=lambda out, kw: _chk_budget_sum(out.batch_sizes, int(kw["examples"])), cost="slow"))


# ============================================================================== critical_batch (noise)
_CURV = RA(1e-150, 1e150, ndim=1, scalar_ok=False, min_size=1)
_C3, _M3 = [1.0, 0.1, 0.01], [1.0, 1.0, 1.0]


def _cb_kw(**extra):
    def make():
        return dict(curvatures=list(_C3), initial_moments=list(_M3), noise_var=1.0, **extra)
    return make


_CB_ARGS = {"curvatures": _CURV,
            "initial_moments": RA(0, 1e150, ndim=1, scalar_ok=False, min_size=1, bad=([1.0, 1.0],)),
            "noise_var": R(0, 1e150)}


def _chk_reg_scales(out, kw):
    c, M, s2 = _arr(kw["curvatures"]), _arr(kw["moments"]), float(kw.get("noise_var", 1.0))
    if c.shape != M.shape or np.max(c) > 1e50 or np.max(M) > 1e50:
        return None
    a2, a3, a1 = (c**2 * M).sum(), (c**3 * M).sum(), (c * M).sum()
    ref = dict(eps_max=a2 / a3, delta_loss_max=a2 * a2 / (2 * a3), B_noise=(a3 + (a1 + s2) * (c**2).sum()) / a3,
               B_simple=(a2 + (a1 + s2) * c.sum()) / a2)
    for k, v in ref.items():
        if np.isfinite(v) and not _rel(getattr(out, k), v, 1e-9):
            return f"{k} = {getattr(out, k)!r}, direct formula {v!r}"
    return None


entry("critical_batch.regression_scales", Example(
    lambda: dict(curvatures=list(_C3), moments=list(_M3), noise_var=1.0),
    {"curvatures": _CURV, "moments": RA(0, 1e150, ndim=1, scalar_ok=False, min_size=1, bad=([0.0, 0.0, 0.0], [1.0])),
     "noise_var": R(0, 1e150)}, check=_chk_reg_scales))
entry("critical_batch.regression_trajectory", Example(
    _cb_kw(batch_size=4.0, steps=50, rate_factor=1.0),
    {**_CB_ARGS, "batch_size": R(1, inf=True), "steps": I(0, 10**7), "rate_factor": _K},
    check=lambda out, kw: _first_bad(_all(out[0], lambda v: v >= 0) and _all(out[1], lambda v: v >= 0),
                                     "a negative excess loss or rate")))
entry("critical_batch.steps_to_targets", Example(
    # max_steps is paid for up front (the worst case); the fuzz's cap of 3e9 operations admits 50000 steps
    # of three runs, and these targets take fewer than 100
    _cb_kw(batch_sizes=[1.0, 4.0, 16.0], excess_targets=[0.1, 0.05], rate_factor=1.0, max_steps=20000),
    {**_CB_ARGS, "batch_sizes": RA(1, inf=True, ndim=1, scalar_ok=False, min_size=1),
     "excess_targets": RA(0, 0.555, low_open=True, high_open=True, ndim=1, scalar_ok=False, min_size=1),
     "rate_factor": _K, "max_steps": I(1, size=True)},
    check=lambda out, kw: _first_bad(_all(out.steps, lambda v: v > 0)
                                     and bool(np.all(np.diff(_arr(out.steps), axis=0) <= 1e-9)),
                                     "steps not positive or not decreasing with the batch size")))
entry("critical_batch.critical_batch", Example(
    _cb_kw(excess_target=0.05, reference="linear", overhead=0.2, rate_factor=1.0, max_batch=1e9, max_steps=200000),
    {**_CB_ARGS, "excess_target": R(0, 0.555, low_open=True, high_open=True),
     "reference": Choice("linear", "large-batch"), "overhead": R(0, 10, low_open=True), "rate_factor": _K,
     "max_batch": R(1, 1e15, low_open=True), "max_steps": I(1, size=True)},
    check=lambda out, kw: _first_bad(1 <= out <= float(kw.get("max_batch", 1e9)), f"B_crit {out!r} outside [1, max_batch]"),
    cost="slow"))
entry("critical_batch.hyperbola_fit", Example(
    lambda: dict(batch_sizes=[1.0, 2.0, 4.0, 8.0, 16.0], steps=[110.0, 60.0, 35.0, 22.5, 16.25]),
    {"batch_sizes": RA(1, 1e15, ndim=1, scalar_ok=False, min_size=2, bad=([1.0],)),
     "steps": RA(0, 1e300, low_open=True, ndim=1, scalar_ok=False, min_size=2, bad=(lambda b: b[:-1],))},
    check=lambda out, kw: (_first_bad(_rel(out[0], 10.0, 1e-9) and _rel(out[1], 100.0, 1e-9),
                                      f"fit {out!r} does not recover (S_min, E_min) = (10, 100)")
                           if np.allclose(kw["steps"], [110.0, 60.0, 35.0, 22.5, 16.25])
                           and np.allclose(kw["batch_sizes"], [1, 2, 4, 8, 16])
                           else _first_bad(out[0] >= 0 and out[1] >= 0, f"fit {out!r} negative"))))
entry("critical_batch.simulate_regression", Example(
    lambda: dict(curvatures=list(_C3), initial_u=[1.0, -1.0, 2.0], noise_var=1.0, rates=np.full(20, 0.1),
                 batch_size=4, runs=50, seed=0),
    {"curvatures": _CURV, "initial_u": RA(-1e75, 1e75, ndim=1, scalar_ok=False, min_size=1, bad=([1.0],)),
     "noise_var": R(0, 1e150), "rates": RA(0, 1e6, ndim=1, scalar_ok=False), "batch_size": I(1, size=True),
     "runs": I(1, size=True), "seed": Seed()},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v >= 0), "a negative excess loss")))


# ============================================================================== surge_training (surge)
_QH = [[2.0, 0.5, 0.2], [0.5, 1.0, 0.1], [0.2, 0.1, 0.5]]


def _small_experiment():
    return lib("surge_training").run_experiment(0, n=4, condition=10.0, sigma=1.0, log2_batch_max=3, steps=40,
                                                runs=4, replicates=2, n_rates=5, target_fractions=(0.3, 0.1))


def _chk_random_quadratic(out, kw):
    H, theta0 = (_arr(o) for o in out)
    n = int(kw["n"])
    if H.shape != (n, n) or theta0.shape != (n,) or not np.allclose(H, H.T):
        return "H not symmetric n x n or theta0 not of length n"
    ev = np.linalg.eigvalsh(H)
    # forming Q diag(lambda) Q^T errs by about eps * n * condition in absolute terms (backward error)
    slack = 1e-14 * n * float(kw["condition"])
    if abs(ev[0] - 1.0) > max(1e-8, slack) or not _rel(ev[-1], float(kw["condition"]), 1e-8):
        return f"eigenvalues span [{ev[0]!r}, {ev[-1]!r}], not [1, condition]"
    return None


entry("surge_training.random_quadratic", Example(
    lambda: dict(n=4, condition=10.0, seed=0),
    {"n": I(2, 4096), "condition": R(1, 1e12), "seed": Seed()}, check=_chk_random_quadratic))
entry("surge_training.mean_loss_grid", Example(
    lambda: dict(H=[list(r) for r in _QH], sigma=1.0, theta0=[1.0, 1.0, 1.0], batch_sizes=[1.0, 4.0],
                 rates=[0.01, 0.05], steps=20, runs=4, replicates=2, seed=0, optimizer="sign", beta1=0.9,
                 beta2=0.999, adam_eps=1e-8),
    {"H": _SURGE_ARGS["H"], "sigma": RA(0, low_open=True), "theta0": RA(ndim=1, scalar_ok=False, min_size=1, bad=([1.0],)),
     "batch_sizes": RA(1, ndim=1, scalar_ok=False, min_size=1), "rates": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=1),
     "steps": I(1, size=True), "runs": I(1, size=True), "replicates": I(1, size=True), "seed": Seed(),
     "optimizer": Choice("sign", "sgd", "adam"), "beta1": R(0, 1, high_open=True), "beta2": R(0, 1, high_open=True),
     "adam_eps": R(0)},
    check=lambda out, kw: _first_bad(_all(out, lambda v: v > 0), "a mean loss not positive")))
entry("surge_training.curve_peak", Example(
    lambda: dict(batch_sizes=[1.0, 2.0, 4.0, 8.0, 16.0, 32.0], values=[0.1, 0.2, 0.35, 0.4, 0.3, 0.2], half_width=2),
    {"batch_sizes": RA(1, ndim=1, scalar_ok=False, min_size=1, bad=([2.0, 1.0, 4.0, 8.0, 16.0, 32.0],)),
     "values": RA(0, low_open=True, nan=True, ndim=1, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "half_width": I(1, 10)},
    check=lambda out, kw: _first_bad(min(kw["batch_sizes"]) <= out[0] <= max(kw["batch_sizes"]) and out[1] > 0,
                                     f"peak {out!r} outside the batch range or not positive")))
entry("surge_training.summarise_grid", Example(
    lambda: dict(mean_losses=lib("surge_training").mean_loss_grid(
        [list(r) for r in _QH], 1.0, [1.0, 1.0, 1.0], [1.0, 2.0, 4.0, 8.0], [0.01, 0.03, 0.1], 40, 4, 2, seed=0),
        batch_sizes=[1.0, 2.0, 4.0, 8.0], rates=[0.01, 0.03, 0.1], target=0.5, half_width=2),
    {"mean_losses": Custom(bad=("abc", lambda b: b[..., :1, :, :], lambda b: -b, lambda b: np.where(b > 0, np.nan, b))),
     "batch_sizes": RA(1, ndim=1, scalar_ok=False, min_size=2), "rates": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=3),
     # below the starting loss theta0^T H theta0 / 2 = 2.5500000000000003 in doubles (documented: a target
     # reached at step 0 has no optimal rate)
     "target": R(0, 2.5500000000000003, low_open=True, high_open=True), "half_width": I(1, 10)}, nonfinite_ok=True,
    note="NaN marks batch sizes that never reach the target (documented)", cost="slow"))
entry("surge_training.log_t_interval", Example(
    lambda: dict(values=[1.2, 1.5, 1.1, 1.4], level=0.95, axis=0),
    {"values": RA(0, low_open=True, nan=True, scalar_ok=False, min_size=2),
     "level": R(0, 1, low_open=True, high_open=True), "axis": I(-1, 0)}, nonfinite_ok=True,
    note="a NaN entry makes its position NaN (documented)",
    check=lambda out, kw: _first_bad(not np.all(np.isfinite(out)) or out[1] <= out[0] <= out[2],
                                     f"centre outside its interval: {out!r}")))
def _chk_rate_grids(out, kw):
    top = 1.99 / float(kw["lam_max"])
    if set(out) != {"sign", "adam", "sgd"}:
        return f"grids for {sorted(out)}, not sign, adam, sgd"
    for name, g in out.items():
        g = _arr(g)
        if g.shape != (int(kw["n_rates"]),) or np.any(np.diff(g) <= 0) or np.any(g <= 0):
            return f"the {name} grid is not {int(kw['n_rates'])} increasing positive rates: {g!r}"
    sgd = _arr(out["sgd"])
    if not (_rel(sgd[-1], top, 1e-12) and sgd[-1] / sgd[0] >= 10 * (1 - 1e-12)):
        return f"the SGD grid {sgd!r} does not reach 1.99/lam_max = {top!r} over at least a decade"
    return None


entry("surge_training.rate_grids", Example(
    lambda: dict(lam_max=10.0, n_rates=5), {"lam_max": R(1e-300, 1e300), "n_rates": I(2, 10000)},
    check=_chk_rate_grids))
entry("surge_training.run_experiment", Example(
    lambda: dict(seed=0, n=4, condition=10.0, sigma=1.0, log2_batch_max=3, steps=40, runs=4, replicates=2, n_rates=5,
                 target_fractions=(0.3, 0.1)),
    {"seed": Seed(), "n": I(2, 4096), "condition": R(1, 1e12), "sigma": R(0, 1e150, low_open=True), "log2_batch_max": I(2, 40),
     "steps": I(1, size=True), "runs": I(1, size=True), "replicates": I(2, size=True), "n_rates": I(5, 10000),
     "target_fractions": RA(0, 1, low_open=True, high_open=True, ndim=1, scalar_ok=False, min_size=2, bad=([0.1, 0.3],))},
    nonfinite_ok=True, note="summaries hold NaN where a target is not reached (documented)", cost="slow"))
entry("surge_training.surge_claims", Example(
    lambda: dict(experiment=_small_experiment(), level=0.95),
    {"experiment": Obj(), "level": R(0, 1, low_open=True, high_open=True)}, nonfinite_ok=True,
    note="a claim whose ratios are not finite has NaN statistics (documented)", cost="slow"))
entry("surge_training.one_step_examples", Example(
    lambda: dict(seed=0, n_coupled=8, rho=0.5, n_train=4, condition=100.0, sigma_train=10.0, B_noise_coupled=64.0,
                 B_noise_rotated=30.0),
    {"seed": Seed(), "n_coupled": I(2, 4096), "rho": R(0, 1, low_open=True, high_open=True), "n_train": I(2, 4096),
     "condition": R(1, 1e12, low_open=True), "sigma_train": R(0, low_open=True), "B_noise_coupled": R(0, low_open=True),
     "B_noise_rotated": R(0, low_open=True)}))


# ============================================================================== schedule_optimisation: certificates
def _fw_gap_brute(x, g, lo, hi, monotone, head):
    x, g = _arr(x), _arr(g)
    best = -math.inf
    n = x.size
    if monotone:
        for j in range(head, n + 1):
            y = x.copy()
            y[head:j], y[j:] = hi, lo
            best = max(best, float(g @ (x - y)))
    else:
        y = x.copy()
        y[head:] = np.where(g[head:] < 0, hi, lo)
        best = float(g @ (x - y))
    return best


def _chk_fw(out, kw):
    ref = _fw_gap_brute(kw["etas"], kw["grad"], float(kw["eta_min"]), float(kw["eta_max"]),
                        bool(kw.get("monotone", True)), int(kw.get("head", 0)))
    if out < -1e-15 or abs(out - ref) > 1e-12 * max(1.0, abs(ref)):
        return f"gap {out!r}, vertex enumeration gives {ref!r}"
    return None


def _chk_minimise(out, kw):
    so = lib("schedule_optimisation")
    T, N, a, b = int(kw["T"]), kw["N"], kw["a"], kw["b"]
    e = _arr(out.etas)
    if e.shape != (T,):
        return f"schedule of shape {e.shape}, expected ({T},)"
    hi = float(kw.get("eta_max", 1 / 3))
    if int(kw.get("warmup", 0)) == 0 and T <= 10**4:
        const = so.final_loss(np.full(T, hi), N, a, b, kw.get("exact_features", False))
        if out.loss > const * (1 + 1e-12):
            return f"'optimal' loss {out.loss!r} above the constant eta_max schedule's {const!r}"
    if T <= 10**4:
        low = so.final_loss_lower_bound(T, N, a, b)
        if out.loss < low * (1 - 1e-12):
            return f"loss {out.loss!r} below the lower bound on every schedule {low!r}"
    if out.gap < -1e-15:
        return f"negative Frank-Wolfe gap {out.gap!r}"
    return None


def _chk_feature_bound(out, kw):
    p, T = _arr(kw["p"]), int(kw["T"])
    m = _arr(out)
    if np.any(m <= 0) or np.any(m > 9 * (1 + 1e-12)):
        return "a bound outside (0, 9]"
    if T <= 10**6 and p.ndim == 1:
        eta = 0.1
        s_, ms = eta * (2 - 3 * eta), eta / (2 - 3 * eta)
        m_const = ms + (9 - ms) * (1 - p * s_) ** T
        if np.any(m > m_const * (1 + 1e-12)):
            return "bound above the second moment a constant rate 0.1 reaches"
    return None


def _chk_loss_bound(out, kw):
    if not out >= 0.5:
        return f"bound {out!r} below the floor 1/2"
    T = int(kw["T"])
    if T <= 10**6 and float(kw["N"]) <= 1e12:
        for eta in (0.05, 0.1, 1 / 3):
            L = lib("zipf").expected_loss(eta, T, kw["N"], kw["a"], kw["b"])
            if out > L * (1 + 1e-12):
                return f"'lower bound' {out!r} above the loss {L!r} of the constant rate {eta}"
    return None


entry("schedule_optimisation.frank_wolfe_gap",
      Example(lambda: dict(etas=[0.3, 0.2, 0.1, 0.05], grad=[0.1, -0.2, 0.05, 0.3], eta_min=1e-6, eta_max=1 / 3,
                           monotone=True, head=0),
              {"etas": RA(1e-6, 1 / 3, ndim=1, scalar_ok=False, bad=([0.05, 0.1, 0.2, 0.3],)),
               "grad": RA(ndim=1, scalar_ok=False, bad=([0.1, 0.2],)), "eta_min": R(None, 0.05), "eta_max": R(0.3),
               "monotone": Flag(), "head": I(0, 4)},
              check=_chk_fw),
      Example(lambda: dict(etas=[0.3, 0.2, 0.25, 0.05], grad=[0.1, -0.2, 0.05, 0.3], eta_min=1e-6, eta_max=1 / 3,
                           monotone=False, head=1),
              {"etas": RA(ndim=1, scalar_ok=False), "grad": RA(ndim=1, scalar_ok=False),
               "eta_min": R(None, 0.05), "eta_max": R(0.3), "monotone": Flag(), "head": I(0, 4)},
              check=_chk_fw))
entry("schedule_optimisation.minimise_final_loss", Example(
    lambda: dict(N=1000, a=1.0, b=1.0, T=30, eta_max=1 / 3, eta_min=1e-6, warmup=0, x0=None, monotone=True,
                 exact_features=False, gap_tol=1e-10, relaxation=1.3, max_sweeps=20, max_projected_steps=20,
                 method="coordinate"),
    {"N": _N18, "a": _A, "b": _Bexp, "T": I(1, size=True), "eta_max": R(0, 1 / 3, low_open=True),
     "eta_min": R(0, 1 / 3, low_open=True, high_open=True), "warmup": I(0, 29),
     "x0": Custom(bad=("abc", np.full(29, 0.1), np.full(30, np.nan), np.full(30, -0.1), np.full(30, 0.5)),
                  extreme=(np.full(30, 0.1),)),
     "monotone": Flag(), "exact_features": Flag(), "gap_tol": R(0, 1, low_open=True, high_open=True),
     "relaxation": R(0, 2, low_open=True, high_open=True), "max_sweeps": I(0, size=True),
     "max_projected_steps": I(0, size=True), "method": Choice("coordinate", "projected-gradient")},
    check=_chk_minimise, cost="slow"))
entry("schedule_optimisation.per_feature_lower_bound", Example(
    lambda: dict(p=[0.5, 0.01, 1e-4], T=100, closed_form_below=1e-3),
    {"p": RA(0, 1, low_open=True), "T": I(0, size=True), "closed_form_below": R(0, 1)}, check=_chk_feature_bound))
entry("schedule_optimisation.final_loss_lower_bound", Example(
    lambda: dict(T=100, N=1000, a=1.0, b=1.0, block_ratio=1.001),
    {"T": I(0, size=True), "N": _N18, "a": _A, "b": _Bexp, "block_ratio": R(1, 2, low_open=True)},
    check=_chk_loss_bound))
entry("schedule_optimisation.lower_bound_asymptote", Example(
    lambda: dict(a=1.0, dps=30), {"a": R(1e-3, 50), "dps": I(15, 100)},
    check=lambda out, kw: _first_bad(float(out) > 0, f"constant {out!r} not positive")))


# ============================================================================== learning_law: the law's statistics (ll)
def _ll_policy():
    return lib("learning_law").optimize_policy(_problem(), max_iterations=3, record_sim=True)


def _ll_grad(gamma=None):
    return lib("learning_law").objective_and_gradient(_problem(), _uniform() if gamma is None else gamma)[1]


entry("learning_law.law_spread", Example(
    lambda: dict(values=np.random.default_rng(0).standard_normal((5, 6)) + 1.0, gamma=np.full((5, 6), 1 / 6),
                 weighted=False, min_active=2),
    {"values": RA(ndim=2, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],)),
     "gamma": RA(0, ndim=2, scalar_ok=False, min_size=1), "weighted": Flag(), "min_active": I(2, size=True)},
    nonfinite_ok=True, note="NaN where fewer than min_active examples are active (documented)",
    check=lambda out, kw: _first_bad(np.all(_arr(out)[np.isfinite(_arr(out))] >= 0), "a negative spread")))
entry("learning_law.margins", Example(
    lambda: dict(problem=_problem(), traj=lib("learning_law").train(_problem(), _uniform())),
    {"problem": _PROBLEM, "traj": Obj(bad=(lambda b: _problem(),))}))
entry("learning_law.drop_evidence", Example(
    lambda: dict(problem=_problem(), gamma=_ll_policy().gamma, traj=_ll_policy().trajectory,
                 uniform_traj=lib("learning_law").train(_problem(), _uniform()), learned_loss=1e-3),
    {"problem": _PROBLEM, "gamma": _GAMMA, "traj": Obj(bad=(lambda b: _problem(),)),
     "uniform_traj": Obj(bad=(lambda b: _problem(),)), "learned_loss": R(0, 1, low_open=True, high_open=True)},
    nonfinite_ok=True, note="statistics over no qualifying step are NaN (documented)", cost="slow"))
entry("learning_law.law_statistics", Example(
    lambda: dict(problem=_problem(), gamma=_uniform(), traj=lib("learning_law").train(_problem(), _uniform()),
                 grad=_ll_grad()),
    {"problem": _PROBLEM, "gamma": _GAMMA, "traj": Obj(bad=(lambda b: _problem(),)),
     "grad": RA(ndim=2, scalar_ok=False, min_size=1, bad=(lambda b: b[:-1],))},
    nonfinite_ok=True, note="NaN where fewer than two examples are active (documented)"))
entry("learning_law.policy_report", Example(
    lambda: dict(problem=_problem(), result=_ll_policy()),
    {"problem": _PROBLEM, "result": Obj(bad=(lambda b: _problem(),))},
    nonfinite_ok=True, note="holds the documented NaN statistics", cost="slow"))
entry("learning_law.compare_loss_curves", Example(
    lambda: dict(loss_conventional=0.5 + (2.0 / np.arange(1.0, 42.0)) ** 0.5,
                 loss_optimal=0.5 + (1.0 / np.arange(1.0, 42.0)) ** 0.6, window=0.1),
    {"loss_conventional": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=5, bad=(lambda b: b[:-1],)),
     "loss_optimal": RA(0, low_open=True, ndim=1, scalar_ok=False, min_size=5, bad=(lambda b: b[:4],)),
     "window": R(0, 1, low_open=True, high_open=True)},
    nonfinite_ok=True, note="acceleration ratios may be inf or NaN as documented", cost="slow"))
