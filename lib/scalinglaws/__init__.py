"""scalinglaws: the computations behind the book "Scaling laws, derived and checked".

One module per subject; each function states its formula, domain and reference.

- :mod:`scalinglaws.linear1d`: one-dimensional SGD on y ~ N(3x, 1): exact expected loss,
  its optimum over the learning rate, asymptotics, and a simulator of the real process.
- :mod:`scalinglaws.zipf`: the Zipf feature model: exact expected loss for any N (up to 1e12 visible
  features), under any schedule, its infimum over the rate, asymptotics, and a simulator.
- :mod:`scalinglaws.fitting`: the Chinchilla fitting procedure (Huber loss on log residuals,
  log-sum-exp parametrisation, L-BFGS-B from a grid, bootstrap) and compute-optimal allocation.
- :mod:`scalinglaws.noise_scale`: the gradient noise scale and critical batch size: the local
  quadratic model, the two-batch estimator, and the batch-size trade-off in the 1-D model.
- :mod:`scalinglaws.batch_schedule`: the best batch-size schedule for a fixed budget of examples in
  the 1-D model (closed form, certified integer optimum, the scaling-law notes' rules).
- :mod:`scalinglaws.critical_batch`: the critical batch size measured directly (steps to a target
  against the batch size) in linear regression with a diagonal Hessian.
- :mod:`scalinglaws.surge`: sign descent (Adam with beta1, beta2 -> 0) on a noisy quadratic: the
  optimal rate as a function of the batch size, its surge, and a vectorised simulator.
- :mod:`scalinglaws.surge_training`: many steps of sign descent, Adam and SGD over a grid of batch
  sizes and rates, with replicates and confidence intervals.
- :mod:`scalinglaws.schedules`: learning-rate schedules (constant, cosine, warmup-stable-decay,
  two-stage, with linear warmup) as per-step rate arrays.
- :mod:`scalinglaws.mpl`: the Multi-Power Law and two baselines: fitting (Huber on log-loss
  residuals), prediction, scoring, and the schedule that minimises a fitted law.
- :mod:`scalinglaws.schedule_optimisation`: the exact Zipf-model loss under a schedule, its adjoint
  gradient with respect to every rate, the optimal schedule by coordinate descent with a Frank-Wolfe
  certificate, and a lower bound on the final loss of every schedule.
- :mod:`scalinglaws.learning_law`: the perceptron teacher-student problem, training under a data
  weighting policy, the adjoint gradient of the area under the loss curve, simplex projection,
  the policy optimiser, and the SIM, CR and acceleration-ratio statistics.
- :mod:`scalinglaws.figures`: the book's figure conventions (one text column wide, at most two panels
  per row, fonts sized for the displayed width).
- :mod:`scalinglaws.prose`: numbers written for sentences (``2.24 × 10⁻³``, ``10¹²``).

Every public function checks its arguments with one validation layer (``scalinglaws._validation``):
numbers must be numbers (strings and booleans are refused), NaN is refused, and a request that would
take more than about a minute or 4 GiB is refused with a message saying how to lift the cap with
:func:`work_limits`.
"""

__version__ = "0.1.0"

from ._validation import WorkLimits, current_limits, work_limits  # noqa: E402  (public: caps on requested work)

__all__ = ["WorkLimits", "current_limits", "work_limits"]
