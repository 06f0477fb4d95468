"""Benchmarks for scalinglaws.noise_scale: times and ratios measured in one run (no asserts on time).

1. simulate_schedule_1d (exact chi-square shortcut: two draws per run and step, whatever B) against
   linear1d.simulate (draws every example), same T, runs and batch size.
2. steps_to_target over a sweep of batch sizes against a reference Python loop written out here.
3. two_batch_estimate on a (reps, d) array against a Python loop over repetitions.
4. batch_schedule.integer_optimum (branch and bound with the AM-GM bound) against brute_force_optimum
   (every composition) on the same instance.
5. critical_batch.steps_to_targets over 41 batch sizes in one vectorised call against one call per batch.
"""

from __future__ import annotations

from _timing import best_of

import numpy as np
from scalinglaws import batch_schedule as bs
from scalinglaws import critical_batch as cb
from scalinglaws import linear1d
from scalinglaws import noise_scale as ns




def _best_seconds(fn, repeat=3):
    return best_of(fn, repeat)[0]


def main() -> None:
    T, runs, eta = 200, 2000, 0.3
    for B in (4, 64):
        t_short = _best_seconds(lambda B=B: ns.simulate_schedule_1d(np.full(T, eta), np.full(T, B), runs, seed=0))
        t_full = _best_seconds(lambda B=B: linear1d.simulate(eta, T, runs, seed=0, batch_size=B))
        print(f"simulate T={T} runs={runs} B={B}: chi-square shortcut {t_short * 1e3:.1f} ms, "
              f"per-example linear1d.simulate {t_full * 1e3:.1f} ms, ratio {t_full / t_short:.2f}")

    m_target = 1e-3
    Bs = np.logspace(0, 4, 41)

    def loop():
        out = []
        for B in Bs:
            m, S, E = 9.0, 0, 0.0
            while m > m_target:
                e = B * m / ((B + 2) * m + 1)
                m *= 1 - e
                S += 1
                E += B
            out.append((S, E))
        return out

    t_vec = _best_seconds(lambda: ns.steps_to_target(m_target, batch_size=Bs))
    t_loop = _best_seconds(loop)
    assert [s for s, _ in loop()] == list(ns.steps_to_target(m_target, batch_size=Bs)[0])
    print(f"steps_to_target, 41 batch sizes: library {t_vec * 1e3:.1f} ms, reference loop "
          f"{t_loop * 1e3:.1f} ms, ratio {t_loop / t_vec:.2f}")

    rng = np.random.default_rng(0)
    reps, d = 20_000, 8
    gs, gb = rng.standard_normal((reps, d)), rng.standard_normal((reps, d))
    t_vec = _best_seconds(lambda: ns.two_batch_estimate(gs, gb, 4, 64))
    t_loop = _best_seconds(lambda: [ns.two_batch_estimate(a, b, 4, 64) for a, b in zip(gs[:2000], gb[:2000])]) * reps / 2000
    print(f"two_batch_estimate, {reps} repetitions: vectorised {t_vec * 1e3:.2f} ms, loop (extrapolated "
          f"from 2000) {t_loop * 1e3:.0f} ms, ratio {t_loop / t_vec:.0f}")
    T, N = 5, 60
    t_bb = _best_seconds(lambda: bs.integer_optimum(T, N))
    t_brute = _best_seconds(lambda: bs.brute_force_optimum(T, N), repeat=1)
    assert bs.integer_optimum(T, N).batch_sizes.tolist() == bs.brute_force_optimum(T, N).batch_sizes.tolist()
    print(f"integer optimum, {T} steps, {N} examples: branch and bound {t_bb * 1e3:.1f} ms, brute force over "
          f"{bs.brute_force_optimum(T, N).nodes} schedules {t_brute * 1e3:.0f} ms, ratio {t_brute / t_bb:.0f}")

    c = np.arange(1, 101.0) ** -1.0
    M0 = np.ones(100)
    target = [0.3 * 0.5 * float(c @ M0)]
    Bs = np.unique(np.round(np.logspace(0, 6, 41)))
    t_vec = _best_seconds(lambda: cb.steps_to_targets(c, M0, 1.0, Bs, target))
    t_one = _best_seconds(lambda: [cb.steps_to_targets(c, M0, 1.0, [b], target) for b in Bs])
    print(f"steps_to_targets, d = 100, {Bs.size} batch sizes: one vectorised call {t_vec * 1e3:.1f} ms, one call "
          f"per batch size {t_one * 1e3:.1f} ms, ratio {t_one / t_vec:.2f}")


if __name__ == "__main__":
    main()
