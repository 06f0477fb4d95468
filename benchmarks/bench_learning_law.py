"""Benchmark: one policy-gradient iteration vs one plain training run (scalinglaws.learning_law).

Target (issue 7): one policy-gradient iteration (training forward plus adjoint sweep) costs at most
4x one plain full-batch gradient-descent run of the same size.  Both are timed in this run at the
paper's size (D = 128, N = 4096, M = 512, T = 2000), best of five interleaved repeats, and the ratio
is printed.  The projection of the policy step is reported separately (it is not part of the target).

The loops are sequences of matrix-vector products, which multithreaded BLAS slows down on a shared
machine, so BLAS is pinned to one thread (before numpy is imported).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time

import numpy as np
from scalinglaws import learning_law as ll


def best_of_interleaved(fns, repeats):
    """Best time of each function, the calls interleaved so that load from other jobs hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main(dim=128, n_train=4096, n_desired=512, T=2000, repeats=5):
    problem = ll.make_problem(dim, n_train, n_desired, eta=0.1, T=T, seed=0)
    rng = np.random.default_rng(0)
    gamma = ll.project_to_simplex(rng.random((T, n_train)))
    _, G, _ = ll.objective_and_gradient(problem, gamma)
    plain, forward, fwd_adj, projection = best_of_interleaved(
        [lambda: ll.gradient_descent(problem), lambda: ll.train(problem, gamma),
         lambda: ll.objective_and_gradient(problem, gamma), lambda: ll.project_to_simplex(gamma - 1e-3 * G)],
        repeats)
    print(f"size: D={dim}, N={n_train}, M={n_desired}, T={T}; best of {repeats}; BLAS threads = "
          f"{os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"plain gradient descent (uniform policy, written directly): {plain:.3f} s wall")
    print(f"weighted forward pass (stores theta_t and residuals):       {forward:.3f} s wall")
    print(f"forward + adjoint (J and dJ/dgamma for all T x N weights): {fwd_adj:.3f} s wall")
    print(f"simplex projection of all T rows:                          {projection:.3f} s wall")
    ratio = fwd_adj / plain
    print(f"ratio policy-gradient iteration / plain training = {ratio:.2f} (target <= 4): "
          f"{'PASS' if ratio <= 4 else 'FAIL'}")
    print(f"ratio including the projection = {(fwd_adj + projection) / plain:.2f}")


if __name__ == "__main__":
    main()
