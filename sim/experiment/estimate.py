"""estimate(): replications of one configuration until a target precision or a time budget.

Replication r is seeded by SeedSequence(sim.seed, spawn_key=(0, r)), so the replications used
are always the first N, whatever ran where; with a target relative error the number N depends
only on the results. A time budget depends on the machine, by nature.

Methods (docs/rare-events.md): "crude" replicates the configuration as it is; "is" draws the
chaos faults at biased rates and weights each replication by its likelihood ratio
(sim/rare/importance.py); "conditional" simulates one window per fault from the steady state and
integrates the faults' Poisson probability in closed form (sim/rare/windows.py); "auto" picks one
(sim/rare/choose.py) and says why.
"""

from __future__ import annotations

import math
import time

from ..progress import Progress
from .executors import default_jobs, make_executor
from .replicate import run_batch
from .results import Estimate
from .summary import summarize

MAX_REPLICATIONS = 100_000


class MethodError(ValueError):
    """The method cannot estimate this configuration (no chaos faults to bias or condition on)."""

METHODS = ("crude", "is", "conditional", "auto")
PILOT_WINDOWS = 2  # windows of each fault kind before the rest are allocated
BASELINE_WINDOWS = 2  # fault-free windows
ROUND_WINDOWS = 4  # windows chosen at a time after the pilot (independent of the pool's width)
HOPELESS_WINDOWS = 30  # windows of every kind without a loss: stop chasing a relative error, report the bound


def zero_runs(rel_error: float) -> int:
    """Replications without any event after which --rel-error stops with an upper bound: enough that
    the one-sided 95% bound on P(a run has one), about 3/n, is within rel_error (at least 30)."""
    return max(30, math.ceil(3 / rel_error))


def estimate(cfg, replications: int | None = None, rel_error: float | None = None, budget: float | None = None,
             jobs: int | None = None, scheduler: str | None = None, batch: int = 1, metric: str = "silent_loss",
             executor=None, method: str = "crude", faults_per_run: float = 1.0,
             window: dict | None = None, progress: bool | None = None) -> Estimate:
    """Estimates for cfg. Stops at `replications` (windows, for conditional), or once `metric`'s rate has
    relative error <= rel_error, or when `budget` wall seconds are spent (whichever comes first; at least
    one wave runs). method "is": `faults_per_run` is the biased expected number of faults per run;
    "conditional": `window` may set "warmup", "spread", "tail" and "cap" (seconds, sim/rare/windows.py).
    progress: None = on stderr when worth it (sim/progress.py), False = none."""
    from ..rare.choose import choose_method
    if method not in METHODS:
        raise MethodError(f"method = {method!r}: one of {', '.join(METHODS)}")
    reason = f"asked for {method}"
    if method == "auto":
        method, reason = choose_method(cfg)
    elif method == "conditional" and cfg.faults:
        raise MethodError("--method conditional: the scenario has scripted [[faults]]; fault windows start from a "
                          "fault-free steady state (remove them, or use --method is or crude)")
    if replications is None and rel_error is None and budget is None:
        replications = 30
    started = time.monotonic()
    plan = _Plan(cfg, replications or MAX_REPLICATIONS, rel_error, budget, metric, batch, started)
    if method == "conditional":
        plan = _Windows(cfg, replications or MAX_REPLICATIONS, rel_error, budget, metric, batch, started, window)
    elif method == "is":
        plan = _Importance(cfg, replications or MAX_REPLICATIONS, rel_error, budget, metric, batch, started,
                           faults_per_run)
    width = jobs or default_jobs()
    plan.bar = Progress(replications, "windows" if method == "conditional" else "replications", "kafkasim estimate",
                        progress)
    try:
        if executor is not None:
            summary = plan.run(executor, width)
        else:
            with make_executor(jobs, scheduler) as pool:
                summary = plan.run(pool, width if not (jobs == 1) else 1)
    finally:
        plan.bar.close()
    if method == "crude":
        from .. import stats
        from ..rare.processes import YEAR_S
        from ..rare.weighted import year_probability
        horizon = cfg.seconds("workload.duration")
        summary["p_year_any_silent_loss"] = year_probability(summary["p_any_silent_loss"], horizon, YEAR_S)
        missing = sum(1 for row in plan.rows if float(row["acked_missing"]) > 0)
        summary["p_year_any_acked_missing"] = year_probability(stats.proportion(missing, len(plan.rows)), horizon,
                                                               YEAR_S)
    summary["method"] = method
    summary["method_reason"] = reason
    summary["stopped_because"] = plan.reason
    summary["wall_total_s"] = time.monotonic() - started
    for name in ("acked_missing", "silent_loss", "lost_acked", "duplicated"):
        rate = summary[name]
        if "relative_half_width" not in rate:
            rate["relative_half_width"] = (rate["hi"] - rate["lo"]) / 2 / rate["rate"] if rate["rate"] else None
    return Estimate(summary, plan.rows)


class _Plan:
    """Crude Monte Carlo: replications in waves until a stopping rule holds."""

    def __init__(self, cfg, limit, rel_error, budget, metric, batch, started):
        self.cfg, self.limit, self.rel_error, self.budget = cfg, limit, rel_error, budget
        self.metric, self.batch, self.started = metric, batch, started
        self.rows: list[dict] = []
        self.next_rep = 0
        self.reason = "replications"
        self.bar = None  # a sim.progress.Progress while running

    def submit(self, pool, width: int) -> list:
        wave = []
        for _ in range(width):
            if self.next_rep >= self.limit:
                break
            reps = range(self.next_rep, min(self.next_rep + self.batch, self.limit))
            wave.append(pool.submit(run_batch, self.cfg, 0, self.next_rep // self.batch, reps, *self.task_extra()))
            self.next_rep = reps.stop
        return wave

    def task_extra(self) -> tuple:
        return ()

    def summarize(self) -> dict:
        return summarize(self.rows)

    def more(self) -> bool:
        return self.next_rep < self.limit

    def hopeless(self) -> bool:
        """Whether more replications are unlikely to see the metric at all (a relative error needs one)."""
        return len(self.rows) >= zero_runs(self.rel_error)

    def may_stop(self) -> bool:
        """Whether a stopping rule may end the estimate now (not before the minimum sample)."""
        return True

    def run(self, pool, width: int) -> dict:
        summary = None
        while self.more():
            for future in self.submit(pool, width):
                result = future.result()
                self.rows.extend(result if isinstance(result, list) else [result])
            if self.bar is not None:
                self.bar.update(len(self.rows) - self.bar.done)
            summary = self.summarize()
            rate = summary[self.metric]
            if not self.may_stop():
                continue
            if self.rel_error is not None and rate["rate"] > 0 and \
                    (rate["hi"] - rate["lo"]) / 2 <= self.rel_error * rate["rate"]:
                self.reason = "relative error reached"
                break
            if self.budget is not None and time.monotonic() - self.started >= self.budget:
                self.reason = "time budget spent"
                break
            if self.rel_error is not None and rate["upper_bound_only"] and self.hopeless():
                self.reason = (f"bound reached: no {self.metric} in {len(self.rows)} replications, the rate is below "
                               f"its 95% upper bound {rate['hi']:.3g}")
                break
        return summary if summary is not None else self.summarize()


class _Importance(_Plan):
    """Importance sampling: the same replications with the chaos rates biased (balanced failure biasing)."""

    def __init__(self, cfg, limit, rel_error, budget, metric, batch, started, faults_per_run):
        from ..rare.importance import balanced_bias
        from ..rare.processes import fault_processes
        super().__init__(cfg, limit, rel_error, budget, metric, batch, started)
        self.processes = fault_processes(cfg)
        if not self.processes:
            raise MethodError("--method is: the configuration has no chaos faults to bias (set chaos.preset or a "
                             "chaos.<kind>.mtbf)")
        self.horizon = cfg.seconds("workload.duration")
        self.bias = balanced_bias(self.processes, self.horizon, faults_per_run)

    def task_extra(self) -> tuple:
        return (self.bias,)

    def summarize(self) -> dict:
        from ..rare.importance import summarize_weighted
        return summarize_weighted(self.rows, self.processes, self.bias, self.horizon, self.metric)


class _Windows(_Plan):
    """Conditional Monte Carlo: fault windows, allocated to the fault kinds that dominate the variance."""

    def __init__(self, cfg, limit, rel_error, budget, metric, batch, started, window=None):
        from ..rare.choose import FAULT_CAP_S, SPREAD_S, TAIL_S
        from ..rare.processes import fault_processes
        from ..rare.windows import default_warmup
        super().__init__(cfg, limit, rel_error, budget, metric, batch, started)
        self.processes = fault_processes(cfg)
        if not self.processes:
            raise MethodError("--method conditional: the configuration has no chaos faults (set chaos.preset or a "
                             "chaos.<kind>.mtbf)")
        shape = {"warmup": default_warmup(cfg), "spread": SPREAD_S, "tail": TAIL_S, "cap": FAULT_CAP_S}
        unknown = set(window or ()) - set(shape)
        if unknown:
            raise MethodError(f"window: unknown keys {sorted(unknown)} (warmup, spread, tail, cap)")
        shape.update(window or {})
        self.shape = (shape["warmup"], shape["spread"], shape["tail"], shape["cap"])
        self.counts = {None: 0, **{p.key: 0 for p in self.processes}}
        self.rate = cfg.settings.workload.rate
        self.pilot = BASELINE_WINDOWS + PILOT_WINDOWS * len(self.processes)
        if limit < self.pilot:
            raise MethodError(f"--replications {limit}: conditional needs at least {self.pilot} windows "
                              f"({BASELINE_WINDOWS} fault-free and {PILOT_WINDOWS} per fault kind)")

    def more(self) -> bool:
        return sum(self.counts.values()) < self.limit

    def hopeless(self) -> bool:
        return sum(self.counts[p.key] for p in self.processes) >= HOPELESS_WINDOWS * len(self.processes)

    def may_stop(self) -> bool:
        return len(self.rows) >= self.pilot

    def _next_kind(self):
        if self.counts[None] < BASELINE_WINDOWS:
            return None
        for process in self.processes:
            if self.counts[process.key] < PILOT_WINDOWS:
                return process
        return max(self.processes, key=self._gain)

    def _gain(self, process) -> float:
        """How much one more window of this kind would narrow the interval (Neyman-like allocation)."""
        count = self.counts[process.key]
        scale = process.rate / self.rate
        spread = self._spread(process.key)
        if spread == 0.0:  # none seen yet: its bound, one message per losing window, shrinks as 3/n
            return (scale * 3.0 / count) ** 2 / (count + 1)
        return scale ** 2 * spread / (count * (count + 1))

    def _spread(self, key: str) -> float:
        import numpy as np
        values = [float(r[self.metric]) for r in self.rows if r["kind"] == key]
        return float(np.var(values, ddof=1)) if len(values) > 1 and any(values) else 0.0

    def submit(self, pool, width: int) -> list:
        """One round of windows, chosen from the rounds before it only: the same windows whatever the
        pool's width (the pilot in one round, then ROUND_WINDOWS at a time)."""
        from ..rare.windows import run_window
        wave = []
        for _ in range(self.pilot if not self.rows else ROUND_WINDOWS):
            if not self.more():
                break
            process = self._next_kind()
            key = None if process is None else process.key
            wave.append(pool.submit(run_window, self.cfg, process, self.counts[key], *self.shape))
            self.counts[key] += 1
        return wave

    def summarize(self) -> dict:
        from ..rare.windows import combine
        return combine(self.rows, self.processes, self.rate, self.metric)
