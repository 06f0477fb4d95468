"""Benchmark of scalinglaws.surge and surge_training: prints measured times and ratios from one run (no asserts)."""

from __future__ import annotations

import numpy as np
from _timing import best_of

from scalinglaws import surge, surge_training


def _best_seconds(fn, repeat=3):
    return best_of(fn, repeat)[0]


def main() -> None:
    n = 16
    H, theta0 = surge_training.random_quadratic(n, 100.0, 0)
    rates = np.geomspace(2e-3, 0.2, 29)
    steps, runs = 300, 16

    # 1. the simulator, vectorised over rates and runs, against a loop over rates
    t_vec = _best_seconds(lambda: surge.simulate_noisy_quadratic(H, 10.0, theta0, rates, 64, steps, runs, seed=1))
    t_loop = _best_seconds(lambda: [surge.simulate_noisy_quadratic(H, 10.0, theta0, [r], 64, steps, runs, seed=1)
                                    for r in rates])
    t_ind = _best_seconds(lambda: surge.simulate_noisy_quadratic(H, 10.0, theta0, rates, 64, steps, runs, seed=1,
                                                                 common_noise=False))
    updates = rates.size * runs * steps
    print(f"simulate_noisy_quadratic ({rates.size} rates x {runs} runs x {steps} steps, n = {n}):")
    print(f"  vectorised, common noise   {t_vec * 1e3:8.1f} ms  ({updates / t_vec / 1e6:.2f} M updates/s)")
    print(f"  vectorised, independent    {t_ind * 1e3:8.1f} ms  (ratio to common noise {t_ind / t_vec:.2f})")
    print(f"  loop over rates            {t_loop * 1e3:8.1f} ms  (speed-up of vectorising {t_loop / t_vec:.1f}x)")

    # 2. the chapter's grid: one batch size, 5 replicates of 16 runs, per optimiser; Adam against sign descent
    times = {}
    for opt in ("sign", "adam", "sgd"):
        grid = surge_training.rate_grids(100.0, 29)[opt]
        times[opt] = _best_seconds(lambda: surge_training.mean_loss_grid(H, 10.0, theta0, [64.0], grid, steps, 16, 5,
                                                                          optimizer=opt), repeat=2)
    per = 29 * 80 * steps
    print(f"mean_loss_grid (1 batch size x 29 rates x 80 runs x {steps} steps): "
          + ", ".join(f"{o} {t * 1e3:.0f} ms ({per / t / 1e6:.1f} M updates/s)" for o, t in times.items())
          + f"; Adam / sign descent {times['adam'] / times['sign']:.2f}")
    chapter = sum(times.values()) * 13 * (1500 / steps)
    print(f"  extrapolated to the chapter's 13 batch sizes x 1500 steps: {chapter:.1f} s")

    # 3. the exact optimal rate on a grid of batch sizes: one call against a Python loop
    mu = H @ theta0 * 0.03
    B = np.geomspace(1, 1e5, 2000)
    t_one = _best_seconds(lambda: surge.optimal_rate(mu, 10.0, H, B))
    t_many = _best_seconds(lambda: [surge.optimal_rate(mu, 10.0, H, b) for b in B[:200]]) * (B.size / 200)
    print(f"optimal_rate on {B.size} batch sizes: vectorised {t_one * 1e3:.2f} ms, "
          f"loop (extrapolated from 200) {t_many * 1e3:.1f} ms, ratio {t_many / t_one:.0f}x")

    # 4. one-step Monte Carlo: cost per sample
    samples = 100_000
    t_mc = _best_seconds(lambda: surge.one_step_monte_carlo(theta0 * 0.03, H, 10.0, 64, rates, samples, seed=2),
                         repeat=2)
    print(f"one_step_monte_carlo: {samples} samples in {t_mc * 1e3:.1f} ms "
          f"({samples / t_mc / 1e6:.2f} M samples/s)")


if __name__ == "__main__":
    main()
