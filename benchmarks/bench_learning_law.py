"""Benchmark: the cost of one policy iteration against one plain training run (scalinglaws.learning_law).

Target (issue 12): one iteration of the policy optimiser stays at most 4x one plain full-batch
gradient-descent run of the same size.  Timed in this run at the paper's size (D = 128, N = 4096,
M = 512, T = 2000), best of three interleaved repeats:

- one plain training run (``gradient_descent``, the unit);
- one forward pass that stores the trajectory (``train``);
- one gradient (forward pass and adjoint sweep, ``objective_and_gradient``);
- one simplex projection of all T rows;
- one iteration of ``optimize_policy`` for each method (the mean over a few iterations from the uniform
  policy, backtracking included).

It then prints the paper-size convergence curve recorded by ``make learning-law-paper``
(data/learning_law/paper_size.json): the wall time at which gap / J first fell below 1e-1, 1e-2, 1e-3,
and the best gap reached, with the load average of that run.

The loops are sequences of matrix-vector products, which multithreaded BLAS slows down on a shared
machine, so BLAS is pinned to one thread (before numpy is imported).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import math
import time
from pathlib import Path

import numpy as np
import scalinglaws
from scalinglaws import learning_law as ll

RESULTS = Path(__file__).resolve().parent.parent / "data" / "learning_law" / "paper_size.json"


def best_of_interleaved(fns, repeats):
    """Best time of each function, the calls interleaved so that load from other jobs hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def iteration_seconds(problem, method, iterations=3):
    with scalinglaws.work_limits(operations=math.inf):
        res = ll.optimize_policy(problem, tol=1e-9, max_iterations=iterations, method=method)
    return (res.seconds[-1] - res.seconds[0]) / res.iterations, res


def main(dim=128, n_train=4096, n_desired=512, T=2000, repeats=3):
    problem = ll.make_problem(dim, n_train, n_desired, eta=0.1, T=T, seed=0)
    rng = np.random.default_rng(0)
    gamma = ll.project_to_simplex(rng.random((T, n_train)))
    _, G, _ = ll.objective_and_gradient(problem, gamma)
    load0 = os.getloadavg()[0]
    plain, forward, gradient, projection = best_of_interleaved(
        [lambda: ll.gradient_descent(problem), lambda: ll.train(problem, gamma),
         lambda: ll.objective_and_gradient(problem, gamma), lambda: ll.project_to_simplex(gamma - 1e-3 * G)],
        repeats)
    print(f"size: D={dim}, N={n_train}, M={n_desired}, T={T}; best of {repeats}; BLAS threads = "
          f"{os.environ['OPENBLAS_NUM_THREADS']}; load average {load0:.1f}")
    print(f"plain gradient descent (the unit):                 {plain:.3f} s wall")
    print(f"forward pass (stores theta_t and residuals):       {forward:.3f} s  = {forward / plain:.2f} x plain")
    print(f"gradient (forward + adjoint, all T x N weights):   {gradient:.3f} s  = {gradient / plain:.2f} x plain")
    print(f"simplex projection of all T rows:                  {projection:.3f} s  = {projection / plain:.2f} x plain")
    for method in ll.METHODS:
        seconds, res = iteration_seconds(problem, method)
        per = (res.evaluations + res.gradients) / (res.iterations + 1)
        print(f"one '{method}' iteration (mean of {res.iterations}, {per:.1f} passes each): {seconds:.3f} s  = "
              f"{seconds / plain:.2f} x plain (target <= 4: {'PASS' if seconds / plain <= 4 else 'FAIL'})")
    print(f"gradient / plain = {gradient / plain:.2f} (target <= 4: {'PASS' if gradient / plain <= 4 else 'FAIL'}); "
          f"load average now {os.getloadavg()[0]:.1f}")
    if RESULTS.exists():
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
        print(f"  best gap / J {rel.min():.3g} after {seconds[-1] / 60:.1f} min, {len(rel) - 1} iterations "
              f"(15-minute target for 1e-3: {'PASS' if np.any((rel <= 1e-3) & (seconds <= 900)) else 'FAIL'})")


if __name__ == "__main__":
    main()
