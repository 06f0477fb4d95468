"""Benchmarks of scalinglaws.mpl and scalinglaws.schedule_optimisation (ratios measured in one run).

1. Fitting the Multi-Power Law on the three published 400M training curves (Luo et al. 2025,
   data/multipowerlaw-400M) and scoring the six test curves: the authors' procedure reproduced in
   numpy (target <= 4 s) beside the default fit; the authors' torch code takes about 40 s here.
2. The loss-drop sum: compressed (default) vs dense evaluation on a 72000-step cosine schedule.
3. Exact Zipf loss curve (zipf.expected_loss_curve) vs final loss + adjoint gradient
   (schedule_optimisation.final_loss_and_gradient) for 1e4 features and 2e4 steps; target <= 3x.

BLAS threads are limited to one (set before numpy is imported): L-BFGS-B's tiny BLAS calls are
otherwise dominated by thread wake-ups on a busy 2-core machine.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys
import time
from pathlib import Path

import numpy as np
from _timing import best_of
from scalinglaws import mpl, schedules, zipf
from scalinglaws import schedule_optimisation as so

ROOT = Path(__file__).resolve().parents[1]




def bench_published():
    """The authors' procedure (method="authors") beside today's default fit (method="optimum"), both on
    the three published 400M training curves (data/multipowerlaw-400M), scored on the six test curves."""
    data = ROOT / "data" / "multipowerlaw-400M"
    train_names = ["cosine_24000", "constant_24000", "wsdcon_9"]
    test_names = ["constant_72000", "cosine_72000", "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3",
                  "wsdcon_18"]
    curves = {n: mpl.load_study_curve(data / f"{n}.csv") for n in train_names + test_names}
    train = [curves[n] for n in train_names]
    # today's default fit: the book's convention (loss after s + 1 updates, drops counted from the peak)
    train_updates = [(e, s + 1, y) for e, s, y in train]
    def uncached(fn):
        # the library caches compressed schedules and the authors' initial guesses: time cold calls
        def run():
            mpl._DESIGN_CACHE.clear()
            mpl._INIT_CACHE.clear()
            return fn()
        return run

    c0 = time.process_time()
    t_opt, opt = best_of(uncached(lambda: mpl.fit(train_updates)), repeat=2)
    c1 = time.process_time()
    t_auth, auth = best_of(uncached(lambda: mpl.fit(train, method="authors")), repeat=2)
    c2 = time.process_time()
    print(f"[published fit] default fit (method='optimum'): {t_opt:.2f} s wall; the authors' procedure "
          f"(method='authors', numpy): {t_auth:.2f} s wall ({'meets' if t_auth <= 4 else 'MISSES'} the target "
          f"of 4 s), {t_auth / t_opt:.2f} times the default fit (the authors' torch code is not run here: "
          f"about 40 s on this machine, as quoted in the issue that asked for this fit); CPU time per fit "
          f"{(c1 - c0) / 2:.2f} s and {(c2 - c1) / 2:.2f} s")
    for name, model, shift in (("optimum", opt, 1), ("authors", auth, 0)):
        scores = [mpl.score(model.predict(curves[n][0], curves[n][1] + shift), curves[n][2])
                  for n in test_names]
        mean = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
        print(f"  {name:8s} test mean R2={mean['R2']:.5f} MAE={mean['MAE']:.5f} RMSE={mean['RMSE']:.5f} "
              f"mean_rel={mean['mean_rel']:.5f} worst_rel={mean['worst_rel']:.5f}")
    print("  published test mean R2=0.99780 MAE=0.00484 RMSE=0.00730 mean_rel=0.00168 worst_rel=0.00995")
    print("  authors' params: " + ", ".join(f"{k}={v:.6g}" for k, v in auth.params.items()))


def bench_loss_drop():
    e = schedules.cosine(72000, 3e-4, 3e-5, warmup=2160)
    steps = np.arange(2176, 72001, 128)
    p = {"L0": 2.5, "A": 0.6, "alpha": 0.45, "B": 500.0, "C": 2.0, "beta": 0.5, "gamma": 0.5}
    def fast_cold():
        mpl._DESIGN_CACHE.clear()
        return mpl.multi_power_law(e, steps, p)

    t_fast, fast = best_of(fast_cold, repeat=3)
    t_dense, dense = best_of(lambda: mpl.multi_power_law(e, steps, p, window=None), repeat=1)
    idx, _ = mpl.loss_drop_nodes(e, steps)
    print(f"[loss drop] cosine, 72000 steps, {steps.size} observations: compressed {t_fast:.3f} s wall "
          f"({idx.shape[1]} nodes per observation) vs dense {t_dense:.3f} s wall: "
          f"{t_dense / t_fast:.1f}x; max |difference| {np.abs(fast - dense).max():.2e}")


def bench_adjoint(repeat=5):
    N, a, b, T = 10_000, 1.0, 1.0, 20_000
    e = schedules.cosine(T, 0.3, 0.003, warmup=200)
    t_curve, t_adj, t_ckpt = [], [], []
    for _ in range(repeat):  # interleaved, best of each: the machine is shared
        t = time.perf_counter()
        curve = zipf.expected_loss_curve(e, N, a, b)
        t_curve.append(time.perf_counter() - t)
        t = time.perf_counter()
        loss, grad = so.final_loss_and_gradient(e, N, a, b)
        t_adj.append(time.perf_counter() - t)
        t = time.perf_counter()
        loss2, grad2 = so.final_loss_and_gradient(e, N, a, b, segment=T)
        t_ckpt.append(time.perf_counter() - t)
    assert abs(loss - curve[-1]) <= 1e-10 * curve[-1] and loss == loss2
    assert np.allclose(grad, grad2, rtol=1e-10, atol=1e-12 * np.abs(grad).max())
    tc, ta, tk = min(t_curve), min(t_adj), min(t_ckpt)
    print(f"[adjoint] N={N} features (b=1), T={T}: curve {tc:.3f} s wall; curve+gradient "
          f"{ta:.3f} s wall (sqrt(T) checkpoints): ratio {ta / tc:.2f} (target <= 3); keeping all "
          f"T states (O(K T) memory) {tk:.3f} s wall: ratio {tk / tc:.2f}")


if __name__ == "__main__":
    bench_published()
    bench_loss_drop()
    bench_adjoint()
