"""Benchmark: the cost of one policy iteration against one plain training run (scalinglaws.learning_law).

Target (issue 12): one iteration of the policy optimiser stays at most 4x one plain full-batch
gradient-descent run of the same size.  Timed in this run, at the paper's size (D = 128, N = 4096,
M = 512, T = 2000) and at the chapter's default size (D = 16, N = 128, M = 64, T = 200):

- one plain training run (``gradient_descent``, the unit), best of a few interleaved repeats;
- one forward pass that stores the trajectory (``train``), one gradient (forward pass and adjoint
  sweep, ``objective_and_gradient``) and one simplex projection of all T rows, the same way;
- one iteration of ``optimize_policy`` with its default method ("accelerated"): the mean over the
  first iterations from the uniform policy, backtracking included, with the number of training passes
  (forward runs and adjoint sweeps, each about one plain run) per iteration, a measure of work that
  load does not change.

It then prints the paper-size convergence curve recorded by ``make learning-law-paper``
(data/learning_law/paper_size.json): the wall time at which gap / J first fell below 1e-1, 1e-2, 1e-3,
and the best and the final gap, with the load average of that run.

``--record`` also writes the measured ratios to data/learning_law/bench_iteration.json, which the
chapter loads (its "known gaps" report them); without it nothing is written.  About a minute.

The loops are sequences of matrix-vector products, which multithreaded BLAS slows down on a shared
machine, so BLAS is pinned to one thread (before numpy is imported).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import json
import math
import time
from pathlib import Path

import numpy as np
import scalinglaws
from scalinglaws import learning_law as ll

DATA = Path(__file__).resolve().parent.parent / "data" / "learning_law"
RESULTS = DATA / "paper_size.json"
RECORD = DATA / "bench_iteration.json"
SIZES = {"paper": {"dim": 128, "n_train": 4096, "n_desired": 512, "T": 2000},
         "default": {"dim": 16, "n_train": 128, "n_desired": 64, "T": 200}}
TARGET = 4.0


def best_of_interleaved(fns, repeats):
    """Best time of each function, the calls interleaved so that load from other jobs hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def measure(size, repeats, iterations):
    problem = ll.make_problem(**SIZES[size], eta=0.1, seed=0)
    rng = np.random.default_rng(0)
    gamma = ll.project_to_simplex(rng.random((problem.T, problem.n_train)))
    _, G, _ = ll.objective_and_gradient(problem, gamma)
    load0 = os.getloadavg()[0]
    with scalinglaws.work_limits(operations=math.inf):
        plain, forward, gradient, projection = best_of_interleaved(
            [lambda: ll.gradient_descent(problem), lambda: ll.train(problem, gamma),
             lambda: ll.objective_and_gradient(problem, gamma), lambda: ll.project_to_simplex(gamma - 1e-3 * G)],
            repeats)
        res = ll.optimize_policy(problem, tol=1e-9, max_iterations=iterations)
    per_iteration = (res.seconds[-1] - res.seconds[0]) / res.iterations
    # the initial evaluation (one forward pass and one gradient) is not part of an iteration
    passes = (res.evaluations + res.gradients - 2) / res.iterations
    out = {"size": {**SIZES[size], "eta": 0.1, "seed": 0}, "plain_seconds": plain,
           "forward_ratio": forward / plain, "gradient_ratio": gradient / plain,
           "projection_ratio": projection / plain, "iteration_ratio": per_iteration / plain,
           "iteration_seconds": per_iteration, "passes_per_iteration": passes, "iterations_timed": res.iterations,
           "load_average": 0.5 * (load0 + os.getloadavg()[0])}
    print(f"{size} size {SIZES[size]}: best of {repeats}; load average {out['load_average']:.1f}")
    print(f"  plain gradient descent (the unit):               {plain:.4f} s wall")
    print(f"  forward pass (stores theta_t and residuals):     {forward / plain:.2f} x plain")
    print(f"  gradient (forward + adjoint, all T x N weights): {gradient / plain:.2f} x plain")
    print(f"  simplex projection of all T rows:                {projection / plain:.2f} x plain")
    verdict = "PASS" if out["iteration_ratio"] <= TARGET else "FAIL"
    print(f"  one 'accelerated' iteration (mean of {res.iterations}): {per_iteration:.4f} s = "
          f"{out['iteration_ratio']:.2f} x plain, {passes:.1f} training passes per iteration "
          f"(target <= {TARGET:g} x plain: {verdict})")
    return out


def paper_curve():
    paper = json.loads(RESULTS.read_text())
    seconds = np.array(paper["run"]["seconds"])
    rel = np.array(paper["curve"]["relative_gap"])
    print(f"\npaper-size run recorded in {RESULTS.name} ({paper['run']['started_utc']}, method "
          f"{paper['parameters']['method']}, load average {paper['run']['load_average_start']:.1f} -> "
          f"{paper['run']['load_average_end']:.1f}):")
    for level in (1e-1, 1e-2, 1e-3):
        hit = np.nonzero(rel <= level)[0]
        when = f"{seconds[hit[0]] / 60:.1f} min (iteration {hit[0]})" if hit.size else "not reached"
        print(f"  gap / J <= {level:g}: {when}")
    best = int(np.argmin(rel))
    print(f"  best gap / J {rel[best]:.3g} at iteration {best} ({seconds[best] / 60:.1f} min); final {rel[-1]:.3g} "
          f"after {seconds[-1] / 60:.1f} min, {len(rel) - 1} iterations "
          f"(15-minute target for 1e-3: {'PASS' if np.any((rel <= 1e-3) & (seconds <= 900)) else 'FAIL'})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", action="store_true", help=f"write the ratios to {RECORD.name}")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    record = {"paper": measure("paper", args.repeats, 3), "default": measure("default", 5, 20)}
    if RESULTS.exists():
        paper_curve()
    if args.record:
        record["recorded_utc"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        record["cpus"] = os.cpu_count()
        record["blas_threads"] = os.environ["OPENBLAS_NUM_THREADS"]
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {RECORD.relative_to(DATA.parent.parent)}")


if __name__ == "__main__":
    main()
