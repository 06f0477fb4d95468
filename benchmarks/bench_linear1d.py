"""Benchmark of scalinglaws.linear1d.simulate against the cost of its random numbers alone.

Target (issue 2): simulate costs at most 2x the time numpy needs just to draw the Gaussian
numbers it consumes, for runs = 1e5 and T = 1e3.  Ratios are measured in one run; the best of
three repetitions of each is used to damp the noise of a shared machine.
"""

import time

import numpy as np

from scalinglaws import linear1d

RUNS, STEPS, REPEATS = 100_000, 1_000, 3


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def draw_only(batch_size, steps):
    rng = np.random.default_rng(0)
    buffer = np.empty((2, batch_size, RUNS))
    for _ in range(steps):
        rng.standard_normal(out=buffer)


for B, steps in ((1, STEPS), (4, STEPS // 5)):
    # interleave the two measurements so that background load hits both alike; keep the best of each
    t_sim, t_draw = [], []
    for _ in range(REPEATS):
        t_draw.append(timed(lambda: draw_only(B, steps)))
        t_sim.append(timed(lambda: linear1d.simulate(0.1, steps, RUNS, seed=0, batch_size=B)))
    print(f"simulate(runs=1e5, T={steps}, batch_size={B}): {min(t_sim):.3f} s; drawing its "
          f"{2 * B * RUNS * steps:.1e} Gaussians alone: {min(t_draw):.3f} s; "
          f"ratio {min(t_sim) / min(t_draw):.2f} (target <= 2)")

start = time.perf_counter()
Ts = np.unique(np.round(np.logspace(0, 12, 200)))
for T in Ts:
    linear1d.optimal_loss(T)
per_call = (time.perf_counter() - start) / Ts.size
start = time.perf_counter()
linear1d.expected_loss(np.linspace(0.001, 0.3, 10**6), 1e6)
print(f"optimal_loss: {per_call * 1e3:.2f} ms per T; expected_loss on 1e6 rates: {time.perf_counter() - start:.3f} s")
