"""Benchmark of scalinglaws.fitting.fit_chinchilla: one fit, a bootstrap, and the literal procedure.

Prints measured wall times and ratios from this one run (no thresholds asserted).
Data: 64 (N, D, loss) triples from E + A/N^alpha + B/D^beta with 1 % log-normal noise.
"""

import contextlib
import os

import numpy as np
from _timing import best_of
from scalinglaws import fitting
from scalinglaws.fitting import HOFFMANN_GRID, chinchilla_loss, fit_chinchilla

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}




def main():
    N, D = np.meshgrid(np.logspace(6, 9.5, 8), np.logspace(8, 11.5, 8))
    N, D = N.ravel(), D.ravel()
    rng = np.random.default_rng(0)
    loss = chinchilla_loss(N, D, TRUTH) * np.exp(0.01 * rng.standard_normal(N.size))

    t_fit, fit = best_of(lambda: fit_chinchilla(N, D, loss), repeat=3)
    print(f"one fit (64 points, grid of {len(HOFFMANN_GRID)} screened, L-BFGS-B from the best 8): "
          f"{t_fit * 1e3:.1f} ms  -> alpha={fit['alpha']:.4f}, beta={fit['beta']:.4f}")

    # fit_chinchilla pins scipy's OpenBLAS to one thread around L-BFGS-B (its BLAS calls act on length-5
    # vectors); measure what that saves by disabling it for one fit
    pinned = fitting._single_threaded_blas
    fitting._single_threaded_blas = contextlib.nullcontext
    try:
        t_threads, _ = best_of(lambda: fit_chinchilla(N, D, loss))
    finally:
        fitting._single_threaded_blas = pinned
    threads_env = os.environ.get("OPENBLAS_NUM_THREADS")
    note = (f" (OPENBLAS_NUM_THREADS={threads_env} is set, as by the Makefile, so BLAS is single-threaded "
            "either way; run this script directly to see the threaded cost)") if threads_env else ""
    print(f"same fit with OpenBLAS left multi-threaded: {t_threads * 1e3:.1f} ms "
          f"(ratio {t_threads / t_fit:.1f}){note}")

    n_boot = 100
    t_boot, boot = best_of(lambda: fit_chinchilla(N, D, loss, bootstrap=n_boot, seed=0))
    print(f"fit + bootstrap of {n_boot} refits: {t_boot:.2f} s  ({t_boot / n_boot * 1e3:.1f} ms per refit; "
          f"ratio to one fit {t_boot / t_fit:.1f})  -> se(alpha)={boot.stderr['alpha']:.4f}")

    sub = HOFFMANN_GRID[::10]
    t_full, full = best_of(lambda: fit_chinchilla(N, D, loss, grid=sub, n_starts=None))
    t_screen, screened = best_of(lambda: fit_chinchilla(N, D, loss, grid=sub))
    print(f"every start of a {len(sub)}-point sub-grid: {t_full:.2f} s vs screened best 8: "
          f"{t_screen * 1e3:.1f} ms (ratio {t_full / t_screen:.1f}); "
          f"objective full {full.objective:.6e}, screened {screened.objective:.6e}")


if __name__ == "__main__":
    main()
