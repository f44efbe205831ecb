"""estimate(): replications of one configuration until a target precision or a time budget.

Replication r is seeded by SeedSequence(sim.seed, spawn_key=(0, r)), so the replications used
are always the first N, whatever ran where; with a target relative error the number N depends
only on the results. A time budget depends on the machine, by nature.
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


def zero_runs(rel_error: float) -> int:
    """Replications without any event after which --rel-error stops with an upper bound: enough that
    the one-sided 95% bound on P(a run has one), about 3/n, is within rel_error (at least 30)."""
    return max(30, math.ceil(3 / rel_error))


def estimate(cfg, replications: int | None = None, rel_error: float | None = None, budget: float | None = None,
             jobs: int | None = None, scheduler: str | None = None, batch: int = 1, metric: str = "silent_loss",
             executor=None, progress: bool | None = None) -> Estimate:
    """Estimates for cfg. Stops at `replications`, or once `metric`'s rate has relative error <= rel_error,
    or when `budget` wall seconds are spent (whichever comes first; at least one wave runs).
    progress: None = on stderr when worth it (sim/progress.py), False = none."""
    if replications is None and rel_error is None and budget is None:
        replications = 30
    limit = replications or MAX_REPLICATIONS
    started = time.monotonic()
    rows: list[dict] = []
    next_rep = 0
    reason = "replications"

    def waves(pool, width):
        nonlocal next_rep
        while next_rep < limit:
            wave = []
            for _ in range(width):
                if next_rep >= limit:
                    break
                reps = range(next_rep, min(next_rep + batch, limit))
                wave.append(pool.submit(run_batch, cfg, 0, next_rep // batch, reps))
                next_rep = reps.stop
            for future in wave:
                rows.extend(future.result())
            bar.update(len(rows) - bar.done)
            yield summarize(rows)

    def run(pool, width):
        nonlocal reason
        summary = None
        for summary in waves(pool, width):
            if rel_error is not None and summary[metric]["rate"] > 0 and \
                    (summary[metric]["hi"] - summary[metric]["lo"]) / 2 <= rel_error * summary[metric]["rate"]:
                reason = "relative error reached"
                break
            if rel_error is not None and summary[metric]["rate"] == 0 and len(rows) >= zero_runs(rel_error):
                # no event: a relative error is undefined; the zero-event upper bound is what there is to give
                reason = (f"bound reached: no {metric} in {len(rows)} replications, the rate is below its "
                          f"95% upper bound {summary[metric]['hi']:.3g}")
                break
            if budget is not None and time.monotonic() - started >= budget:
                reason = "time budget spent"
                break
        return summary

    width = jobs or default_jobs()
    bar = Progress(replications, "replications", "kafkasim estimate", progress)
    try:
        if executor is not None:
            summary = run(executor, width)
        else:
            with make_executor(jobs, scheduler) as pool:
                summary = run(pool, width if not (jobs == 1) else 1)
    finally:
        bar.close()
    summary["stopped_because"] = reason
    summary["wall_total_s"] = time.monotonic() - started
    return Estimate(summary, rows)
