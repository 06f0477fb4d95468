"""Benchmark: which optimiser reaches a certified stationary policy fastest (scalinglaws.learning_law).

Every method minimises the same J (area under the desired-loss curve) over the product of simplices,
from the uniform policy, with the same exact adjoint gradient; after every iteration the Frank--Wolfe
gap (the certificate, ``learning_law.frank_wolfe_gap``) and J are recorded against wall time.  A run
stops when ``gap <= 1e-3 J`` (certified) or at the time budget.  Target (issue 12): the chapter's
default size certified in under two minutes.

Methods compared (the first three are ``learning_law.optimize_policy``; the others are written here
from the library's primitives):

- accelerated: FISTA-type momentum on the projected-gradient step, restarted when it does not decrease J,
  and a Frank--Wolfe step per iteration (the library's default);
- blended: a projected-gradient step and a Frank--Wolfe step per iteration;
- projected: projected gradient with Beck--Teboulle backtracking alone (the paper's method);
- accelerated-pg: FISTA-type accelerated projected gradient with function-value restarts, no
  Frank--Wolfe step;
- row-scaled: projected gradient with each row's step divided by that row's largest |gradient|;
- exponentiated: entropic mirror descent (exponentiated gradient) with backtracking;
- frank-wolfe: Frank--Wolfe steps alone, with the same line search;
- pairwise: a projected-gradient step and a pairwise Frank--Wolfe step (mass moved from the worst
  active example of each row to its best one);
- l-bfgs-b: scipy's L-BFGS-B on gamma = w / sum(w), w >= 0, with a penalty (sum w - 1)^2 / 2;
- gauss-newton: Levenberg--Marquardt-damped Gauss--Newton steps on the free variables (conjugate
  gradients on Gauss--Newton products, exact forward-and-reverse sweeps), projected line search;
- coarse-to-fine: accelerated on a problem with T/4 steps of 4 eta for a quarter of the budget, then
  its policy (each row repeated four times) as the start of accelerated on the real problem.

The table is printed; with ``--record`` the curves are also written to data/learning_law/bench_methods.json
(which the chapter loads).  ``make bench`` runs the default: the library's default method and the
paper's method (projected gradient) at the chapter's size, under a minute; the recorded comparison of
all methods is ``--methods all --record`` (about eight minutes at the small size).  The machine is
shared, so each line also gives the load average during the run, and the number of training passes
(forward runs plus adjoint and tangent sweeps, each about one plain training run), a measure of work
that load does not change: for a certified run it is the work to the certificate.

Usage: python benchmarks/bench_learning_law_methods.py [--budget SECONDS] [--size small|medium]
                                                       [--methods all|a,b,...] [--record]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import scalinglaws
from scalinglaws import learning_law as ll

PASSES = [0]  # training passes (forward runs, adjoint sweeps, tangent sweeps): a measure of work that load does not change


def _counted(fn):
    def wrapper(*args, **kwargs):
        PASSES[0] += 1
        return fn(*args, **kwargs)
    return wrapper


# every method, the library's included (it looks these names up at call time), runs through the counters
ll._forward = _forward = _counted(ll._forward)
ll._adjoint = _adjoint = _counted(ll._adjoint)
from scipy.optimize import minimize
from scipy.special import expit

SIZES = {
    # the chapter's default parameters (book/learning_law.ipynb)
    "small": {"dim": 16, "n_train": 128, "n_desired": 64, "eta": 0.1, "T": 200},
    # the chapter's earlier default, eight times larger
    "medium": {"dim": 32, "n_train": 512, "n_desired": 128, "eta": 0.1, "T": 400},
}
TOL = 1e-3
OUT = Path(__file__).resolve().parent.parent / "data" / "learning_law" / "bench_methods.json"


class Recorder:
    """J and the certificate after each iteration, against wall time; stops at TOL or at the budget."""

    def __init__(self, budget):
        self.start = time.perf_counter()
        self.budget = budget
        self.rows = []

    def __call__(self, J, gamma, G):
        gap = ll.frank_wolfe_gap(gamma, G)
        self.rows.append((time.perf_counter() - self.start, float(J), gap / J))
        return gap <= TOL * J or time.perf_counter() - self.start > self.budget


# ------------------------------------------------------------------------------------ methods
def run_library(problem, budget, method, gamma0=None, with_result=False):
    with scalinglaws.work_limits(operations=math.inf):
        res = ll.optimize_policy(problem, tol=TOL, max_iterations=10**7, method=method, gamma0=gamma0,
                                 time_limit=budget)
    rows = [(s, J, g / J) for s, J, g in zip(res.seconds, res.objectives, res.gaps)]
    return (rows, res) if with_result else rows


def line_search(problem, gamma, J, G, direction, a0, amax=1.0):
    """Backtracking with a quadratic model along gamma + a d (the library's Frank--Wolfe line search)."""
    slope = float(np.sum(G * direction))
    if slope >= 0:
        return 0.0, None
    a = min(amax, a0)
    for _ in range(40):
        traj = _forward(problem, np.maximum(gamma + a * direction, 0.0))
        if traj.objective <= J + 0.5 * a * slope:
            return a, traj
        curvature = 2.0 * (traj.objective - J - a * slope) / a**2
        a = min(0.5 * a, max(0.1 * a, -slope / curvature))
    return 0.0, None


def projected_step(problem, gamma, J, G, s, scale=None):
    scale = np.ones((gamma.shape[0], 1)) if scale is None else scale
    while True:
        cand = ll.project_to_simplex(gamma - s * scale * G)
        d = cand - gamma
        traj = _forward(problem, cand)
        if traj.objective <= J + np.sum(G * d) + np.sum(d * d / scale) / (2 * s) or s < 1e-300:
            return cand, traj, s
        s *= 0.5


def run_row_scaled(problem, budget):
    rec = Recorder(budget)
    gamma = ll.uniform_policy(problem.T, problem.n_train)
    traj = _forward(problem, gamma)
    J, G = traj.objective, _adjoint(problem, gamma, traj)
    s = 1.0 / problem.n_train
    while not rec(J, gamma, G):
        scale = 1.0 / np.maximum(np.abs(G).max(axis=1, keepdims=True), 1e-300)
        cand, traj, s = projected_step(problem, gamma, J, G, s, scale)
        if traj.objective <= J:
            gamma, J = cand, traj.objective
            G = _adjoint(problem, gamma, traj)
        s *= 1.5
    return rec.rows


def run_accelerated(problem, budget):
    rec = Recorder(budget)
    x = ll.uniform_policy(problem.T, problem.n_train)
    traj = _forward(problem, x)
    Jx, Gx = traj.objective, _adjoint(problem, x, traj)
    x_prev, k, s = x.copy(), 0, 1.0 / problem.n_train
    while not rec(Jx, x, Gx):
        if k > 0:
            y = ll.project_to_simplex(x + k / (k + 3) * (x - x_prev))
            ty = _forward(problem, y)
            Jy, Gy = ty.objective, _adjoint(problem, y, ty)
        else:
            y, Jy, Gy = x, Jx, Gx
        cand, tc, s = projected_step(problem, y, Jy, Gy, s)
        if tc.objective > Jx:  # function-value restart
            if k > 0:
                k = 0
                continue
            cand, tc = x, traj
        x_prev, x, traj, k, s = x, cand, tc, k + 1, s * 1.2
        Jx, Gx = traj.objective, _adjoint(problem, x, traj)
    return rec.rows


def run_exponentiated(problem, budget):
    rec = Recorder(budget)
    gamma = ll.uniform_policy(problem.T, problem.n_train)
    traj = _forward(problem, gamma)
    J, G = traj.objective, _adjoint(problem, gamma, traj)
    s = 1.0
    while not rec(J, gamma, G):
        log_g = np.log(np.maximum(gamma, 1e-300))
        while True:
            z = log_g - s * (G - G.min(axis=1, keepdims=True))
            cand = np.exp(z - z.max(axis=1, keepdims=True))
            cand /= cand.sum(axis=1, keepdims=True)
            tc = _forward(problem, cand)
            kl = np.sum(cand * (np.log(np.maximum(cand, 1e-300)) - log_g))
            if tc.objective <= J + np.sum(G * (cand - gamma)) + kl / s or s < 1e-300:
                break
            s *= 0.5
        if tc.objective <= J:
            gamma, traj, J = cand, tc, tc.objective
            G = _adjoint(problem, gamma, traj)
        s *= 1.5
    return rec.rows


def run_frank_wolfe(problem, budget, pairwise=False, projected=False):
    rec = Recorder(budget)
    rows = np.arange(problem.T)
    gamma = ll.uniform_policy(problem.T, problem.n_train)
    traj = _forward(problem, gamma)
    J, G = traj.objective, _adjoint(problem, gamma, traj)
    s, a_prev = 1.0 / problem.n_train, 0.1
    while not rec(J, gamma, G):
        if projected:
            cand, tc, s = projected_step(problem, gamma, J, G, s)
            if tc.objective <= J:
                gamma, traj, J = cand, tc, tc.objective
                G = _adjoint(problem, gamma, traj)
            s *= 1.5
        best = G.argmin(axis=1)
        if pairwise:
            worst = np.where(gamma > 0, G, -np.inf).argmax(axis=1)
            mass = gamma[rows, worst]
            d = np.zeros_like(gamma)
            np.add.at(d, (rows, worst), -mass)
            np.add.at(d, (rows, best), mass)
        else:
            d = -gamma.copy()
            d[rows, best] += 1.0
        a, tc = line_search(problem, gamma, J, G, d, 2 * a_prev)
        if a > 0:
            gamma = np.maximum(gamma + a * d, 0.0)
            gamma /= gamma.sum(axis=1, keepdims=True)
            traj = _forward(problem, gamma)
            J, G, a_prev = traj.objective, _adjoint(problem, gamma, traj), a
        elif not projected:
            break
    return rec.rows


def run_lbfgsb(problem, budget):
    rec = Recorder(budget)
    T, N = problem.T, problem.n_train
    stop = {"flag": False}

    def fun(w):
        W = w.reshape(T, N)
        S = W.sum(axis=1, keepdims=True)
        gamma = W / S
        traj = _forward(problem, gamma)
        J, G = traj.objective, _adjoint(problem, gamma, traj)
        stop["flag"] = rec(J, gamma, G)
        grad_w = (G - np.sum(G * gamma, axis=1, keepdims=True)) / S + (S - 1.0)
        return J + 0.5 * np.sum((S - 1.0) ** 2), grad_w.ravel()

    def callback(_):
        if stop["flag"]:
            raise StopIteration

    minimize(fun, np.full(T * N, 1.0 / N), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (T * N),
             callback=callback, options={"maxiter": 10**6, "maxfun": 10**6, "maxcor": 10, "ftol": 0, "gtol": 0})
    return rec.rows


def _gauss_newton_product(problem, gamma, traj, v):
    """(d theta / d gamma)^T (sum_t Hess L_dsr(theta_t)) (d theta / d gamma) v: tangent pass, then adjoint."""
    X, y, eta, T = problem.X, problem.y, problem.eta, problem.T
    PASSES[0] += 1  # the tangent sweep
    dth = np.zeros((T + 1, problem.dim))
    d = np.zeros(problem.dim)
    for t in range(T):
        r = traj.residuals[t]
        s = r + y
        d = d - eta * ((v[t] * r + gamma[t] * s * (1 - s) * (X @ d)) @ X)
        dth[t + 1] = d
    Z = traj.thetas @ problem.Xd.T
    sd = expit(Z)
    sources = ((sd * (1 - sd)) * (dth @ problem.Xd.T)) @ problem.Xd / problem.n_desired
    sources[0] = 0.0
    shadow = dataclasses.replace(traj, desired_grads=sources)
    return _adjoint(problem, gamma, shadow)


def run_gauss_newton(problem, budget, cg_iterations=20):
    rec = Recorder(budget)
    T = problem.T
    rows = np.arange(T)
    gamma = ll.uniform_policy(T, problem.n_train)
    traj = _forward(problem, gamma)
    J, G = traj.objective, _adjoint(problem, gamma, traj)
    mu = 1e-2 * np.abs(G).max()
    while not rec(J, gamma, G):
        pivot = gamma.argmax(axis=1)  # each row's largest weight absorbs the others' changes
        is_pivot = np.zeros_like(gamma, bool)
        is_pivot[rows, pivot] = True
        reduced = G - G[rows, pivot][:, None]
        free = ~is_pivot & ~((gamma <= 1e-12) & (reduced >= 0))

        def Z(v, free=free, pivot=pivot):
            v = np.where(free, v, 0.0)
            out = v.copy()
            out[rows, pivot] = -v.sum(axis=1)
            return out

        def Zt(w, free=free, pivot=pivot):
            return np.where(free, w - w[rows, pivot][:, None], 0.0)

        b = -np.where(free, reduced, 0.0)
        x, r = np.zeros_like(gamma), b.copy()
        p, rr = r.copy(), np.sum(b * b)
        for _ in range(cg_iterations):
            Hp = Zt(_gauss_newton_product(problem, gamma, traj, Z(p))) + mu * p
            a = rr / np.sum(p * Hp)
            x, r = x + a * p, r - a * Hp
            rr_new = np.sum(r * r)
            if rr_new < 1e-8 * np.sum(b * b):
                break
            p, rr = r + rr_new / rr * p, rr_new
        alpha, accepted = 1.0, False
        for _ in range(20):
            red = np.where(is_pivot, 0.0, np.maximum(gamma + alpha * np.where(free, x, 0.0), 0.0))
            pv = 1.0 - red.sum(axis=1)
            if np.all(pv >= 0):
                red[rows, pivot] = pv
                tc = _forward(problem, red)
                if tc.objective <= J + 1e-4 * np.sum(G * (red - gamma)):
                    accepted = True
                    break
            alpha *= 0.5
        if accepted:
            gamma, traj, J = red, tc, tc.objective
            G = _adjoint(problem, gamma, traj)
            mu *= 0.3 if alpha == 1.0 else (1.5 if alpha < 0.25 else 1.0)
        else:
            mu *= 10.0
    return rec.rows


def run_coarse_to_fine(problem, budget, factor=4):
    coarse = dataclasses.replace(problem, T=problem.T // factor, eta=problem.eta * factor)
    rows_coarse, res_c = run_library(coarse, budget / 4, "accelerated", with_result=True)
    spent = rows_coarse[-1][0]
    gamma0 = np.repeat(res_c.gamma, factor, axis=0)
    rows = run_library(problem, budget - spent, "accelerated", gamma0=gamma0)
    return [(t + spent, J, g) for t, J, g in rows]


METHODS = {
    "accelerated": lambda p, b: run_library(p, b, "accelerated"),
    "blended": lambda p, b: run_library(p, b, "blended"),
    "projected": lambda p, b: run_library(p, b, "projected"),
    "accelerated-pg": run_accelerated,
    "row-scaled": run_row_scaled,
    "exponentiated": run_exponentiated,
    "frank-wolfe": lambda p, b: run_frank_wolfe(p, b),
    "pairwise": lambda p, b: run_frank_wolfe(p, b, pairwise=True, projected=True),
    "l-bfgs-b": run_lbfgsb,
    "gauss-newton": run_gauss_newton,
    "coarse-to-fine": run_coarse_to_fine,
}


def summarise(rows, passes):
    times, Js, rel = map(np.asarray, zip(*rows))
    hit = np.nonzero(rel <= TOL)[0]
    return {"iterations": len(rows) - 1, "seconds": float(times[-1]), "J_final": float(Js[-1]), "passes": passes,
            "best_relative_gap": float(rel.min()), "final_relative_gap": float(rel[-1]),
            "seconds_to_tol": float(times[hit[0]]) if hit.size else None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per method (default 120)")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="accelerated,projected",
                        help="comma-separated names, or 'all' (default: accelerated,projected)")
    parser.add_argument("--record", action="store_true", help=f"write the curves to {OUT.name}")
    args = parser.parse_args()
    names = list(METHODS) if args.methods == "all" else args.methods.split(",")
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {', '.join(METHODS)} or 'all'")
    problem = ll.make_problem(seed=args.seed, **SIZES[args.size])
    plain = min(_time(lambda: ll.gradient_descent(problem)) for _ in range(5))
    print(f"size {args.size}: {SIZES[args.size]}, seed {args.seed}; target gap/J <= {TOL:g}; budget "
          f"{args.budget:g} s per method; one plain training run {plain * 1e3:.1f} ms; BLAS threads "
          f"{os.environ['OPENBLAS_NUM_THREADS']}")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    record = results.setdefault(f"{args.size}-seed{args.seed}", {})
    record.update({"problem": {**SIZES[args.size], "seed": args.seed}, "plain_seconds": plain,
                   "budget": args.budget, "tol": TOL})
    record.setdefault("methods", {})
    header = (f"{'method':<15} {'iters':>6} {'passes':>7} {'time to 1e-3':>13} {'best gap/J':>11} {'final J':>9} "
              f"{'load':>5}")
    print(header)
    print("-" * len(header))
    for name in names:
        load0 = os.getloadavg()[0]
        PASSES[0] = 0
        rows = METHODS[name](problem, args.budget)
        load = 0.5 * (load0 + os.getloadavg()[0])
        summary = summarise(rows, PASSES[0])
        reached = f"{summary['seconds_to_tol']:.1f} s" if summary["seconds_to_tol"] is not None else "not reached"
        print(f"{name:<15} {summary['iterations']:>6} {summary['passes']:>7} {reached:>13} {summary['best_relative_gap']:>11.2e} "
              f"{summary['J_final']:>9.4f} {load:>5.1f}", flush=True)
        record["methods"][name] = {
            **summary, "load_average": load, "budget": args.budget,
            "curve": {"seconds": [round(r[0], 3) for r in rows], "J": [r[1] for r in rows],
                      "relative_gap": [r[2] for r in rows]}}
    if args.record:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=1))
        print(f"curves written to {OUT.relative_to(OUT.parent.parent.parent)} (J and gap/J against seconds)")


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
