"""Benchmark of scalinglaws.surge: prints measured times and ratios from one run (no asserts)."""

from __future__ import annotations

from _timing import best_of

import numpy as np

from scalinglaws import surge




def _best_seconds(fn, repeat=3):
    return best_of(fn, repeat)[0]


def main() -> None:
    rng = np.random.default_rng(0)
    n = 16
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1, 100, n)
    H = (Q * lam) @ Q.T
    theta0 = rng.standard_normal(n)
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

    # 2. the exact optimal rate on a grid of batch sizes: one call against a Python loop
    mu = H @ theta0 * 0.03
    B = np.geomspace(1, 1e5, 2000)
    t_one = _best_seconds(lambda: surge.optimal_rate(mu, 10.0, H, B))
    t_many = _best_seconds(lambda: [surge.optimal_rate(mu, 10.0, H, b) for b in B[:200]]) * (B.size / 200)
    print(f"optimal_rate on {B.size} batch sizes: vectorised {t_one * 1e3:.2f} ms, "
          f"loop (extrapolated from 200) {t_many * 1e3:.1f} ms, ratio {t_many / t_one:.0f}x")

    # 3. one-step Monte Carlo: cost per sample
    samples = 100_000
    t_mc = _best_seconds(lambda: surge.one_step_monte_carlo(theta0 * 0.03, H, 10.0, 64, rates, samples, seed=2),
                   repeat=2)
    print(f"one_step_monte_carlo: {samples} samples in {t_mc * 1e3:.1f} ms "
          f"({samples / t_mc / 1e6:.2f} M samples/s)")


if __name__ == "__main__":
    main()
