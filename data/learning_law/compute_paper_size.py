"""The Learning Law at the paper's size: optimise the policy and write data/learning_law/paper_size.json.

Run it with ``make learning-law-paper``.  The perceptron teacher--student problem of Gu et al. (2024)
at their size (D = 128, N = 4096, M = 512, eta = 0.1, T = 2000, seed 0) is optimised with
``learning_law.optimize_policy`` (its default "accelerated" method, target gap / J <= 1e-3, at most MAX_ITERATIONS
iterations, SIM statistics recorded), and ``learning_law.policy_report`` writes everything the chapter
shows, with the parameters, ``learning_law.code_version()`` (a hash of the module's code without its
docstrings), the library versions,
the wall time and the load average.  The chapter book/learning_law.ipynb loads the file and checks that
its parameters and code version match.

The run is deterministic (fixed seed, one BLAS thread, an iteration cap and no time limit); only
the recorded wall times depend on the machine.  The stored run took 53 minutes on a shared 2-core
machine (load average 5.4 at the start, 2.4 at the end) and did not reach the target: gap / J was 5.46
after 120 iterations (0.46 at best, at iteration 43).
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import datetime
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scalinglaws
import scipy
from scalinglaws import learning_law as ll

PARAMETERS = {"dim": 128, "n_train": 4096, "n_desired": 512, "eta": 0.1, "T": 2000, "seed": 0}
TOL = 1e-3
MAX_ITERATIONS = 120
OUT = Path(__file__).resolve().parent / "paper_size.json"


def main() -> None:
    started = datetime.datetime.now(datetime.UTC)
    load_start = os.getloadavg()
    clock = time.perf_counter()
    problem = ll.make_problem(**PARAMETERS)
    print(f"paper size {PARAMETERS}: optimising (tol {TOL:g}, at most {MAX_ITERATIONS} iterations)...",
          flush=True)
    with scalinglaws.work_limits(operations=math.inf):
        result = ll.optimize_policy(problem, tol=TOL, max_iterations=MAX_ITERATIONS, record_sim=True)
        print(result.message, flush=True)
        report = ll.policy_report(problem, result)
    report["parameters"] = {**PARAMETERS, "tol": TOL, "max_iterations": MAX_ITERATIONS, "method": result.method}
    report["code"] = {"learning_law_code_version": ll.code_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                      "python": platform.python_version()}
    report["run"] = {"started_utc": started.isoformat(timespec="seconds"),
                     "wall_seconds": time.perf_counter() - clock,
                     "seconds_per_iteration": list(np.diff(result.seconds)),
                     "seconds": list(result.seconds),
                     "load_average_start": load_start[0], "load_average_end": os.getloadavg()[0],
                     "cpus": os.cpu_count(), "evaluations": result.evaluations, "gradients": result.gradients}
    OUT.write_text(json.dumps(report, indent=0) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB) after {report['run']['wall_seconds']:.0f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
