"""Timing helper shared by the benchmarks (wall clock, best of a few repetitions)."""

import time


def best_of(fn, repeat=1):
    """Run ``fn`` ``repeat`` times; return (the shortest wall time in seconds, the last result).

    The minimum is the least noisy estimate of the cost on a shared machine: background load only
    ever adds time.
    """
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result
