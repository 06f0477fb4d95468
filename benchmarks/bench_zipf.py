"""Benchmarks of scalinglaws.zipf (times and ratios measured in one run; no assertions on time).

1. expected_loss at N = 1e12, b = 1 (target: under 50 ms), cold (feature table built) and warm.
2. expected_loss_curve for 1e4 features and 1e5 steps (target: at most 3 s) against a plain
   per-step numpy loop computing the same recursion.
3. simulate at N = 1e2, 1e8 and 1e18 side by side: the cost per run-step does not grow with N (1e18
   overflowed the old int64 key; features beyond 2**62 are kept as floats).
"""


import numpy as np
from _timing import best_of
from scalinglaws import zipf


def main():
    print("1. expected_loss(eta=0.01, T=1e6, N=1e12, a=1, b=1)")
    zipf._feature_table.cache_clear(); zipf._scaled_table.cache_clear()
    cold, value = best_of(lambda: zipf.expected_loss(0.01, 10**6, 10**12, 1.0, 1.0))
    warm, _ = best_of(lambda: zipf.expected_loss(0.01, 10**6, 10**12, 1.0, 1.0), repeat=5)
    zipf._feature_table.cache_clear(); zipf._scaled_table.cache_clear()
    cold_small, _ = best_of(lambda: zipf.expected_loss(0.01, 10**6, 10**12, 0.3, 1.0))
    print(f"   loss = {value:.12g}; cold {cold * 1e3:.2f} ms, warm {warm * 1e3:.2f} ms "
          f"(a = 0.3 cold: {cold_small * 1e3:.2f} ms); target < 50 ms")
    opt, (loss, eta) = best_of(lambda: zipf.optimal_loss(10**8, 10**12, 1.0, 1.0))
    print(f"   optimal_loss(T=1e8, N=1e12): {loss:.10g} at eta = {eta:.4g} in {opt * 1e3:.1f} ms")

    print("2. expected_loss_curve: 1e4 features, 1e5 steps (cosine schedule)")
    K, T, a = 10**4, 10**5, 1.0
    t = np.arange(T)
    etas = 1e-3 + 0.05 * 0.5 * (1 + np.cos(np.pi * t / T))
    lib_time, curve = best_of(lambda: zipf.expected_loss_curve(etas, K, a, 1.0))
    p = zipf.feature_probabilities(K, a)
    tau = zipf.tail_mass(K, a)

    def plain_loop():
        m = np.full(K, 9.0)
        out = np.empty(T)
        for i in range(T):
            eta = etas[i]
            m = (1 - p * eta * (2 - 3 * eta)) * m + p * eta**2
            out[i] = 0.5 + 0.5 * (p @ m + 9 * tau)
        return out

    loop_time, reference = best_of(plain_loop)
    err = float(np.max(np.abs(curve / reference - 1)))
    print(f"   library {lib_time:.3f} s, plain per-step loop {loop_time:.3f} s, ratio {loop_time / lib_time:.2f}x; "
          f"max relative difference {err:.1e}; target <= 3 s")
    N_big = 10**12
    big_time, _ = best_of(lambda: zipf.expected_loss_curve(etas[:10**4], N_big, a, 1.0))
    print(f"   N = 1e12 (1e12 features, Euler-Maclaurin pseudo-features), 1e4 steps: {big_time:.3f} s")

    print("3. simulate(eta=0.05, T=1000, a=1, b=1, runs=4000): cost against N")
    runs, T_sim = 4000, 1000
    times = {}
    for N in (10**2, 10**8, 10**18):
        times[N], _ = best_of(lambda N=N: zipf.simulate(0.05, T_sim, N, 1.0, 1.0, runs=runs, seed=1))
        print(f"   N = {N:.0e}: {times[N]:.3f} s = {times[N] / (runs * T_sim) * 1e9:.0f} ns per run-step")
    print(f"   ratio N=1e8 / N=1e2: {times[10**8] / times[10**2]:.2f}; N=1e18 / N=1e2: {times[10**18] / times[10**2]:.2f}")


if __name__ == "__main__":
    main()
