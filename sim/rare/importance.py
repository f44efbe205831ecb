"""Importance sampling by failure biasing: draw the chaos faults more often, weight each run back.

Every chaos kind is a Poisson process (sim/faults/chaos.py). A replication draws them at biased
rates, b_k times the configured ones, and carries the likelihood ratio of the faults it drew
(the run's "fault_log_weight"); a weighted average over runs is then an unbiased estimate under the
configured rates (sim/rare/weighted.py). Balanced failure biasing gives every kind the same
expected number of faults per run, `faults_per_run` / K in all (never fewer than its own rate
gives), so a kind that matters is seen in about one run in K / faults_per_run whatever its real rate.
"""

from __future__ import annotations

import math

import numpy as np

from ..experiment.summary import RATES, run_totals
from .processes import YEAR_S, FaultProcess
from .weighted import effective_sample_size, weighted_probability, weighted_rate, year_probability


def balanced_bias(processes: list[FaultProcess], horizon: float, faults_per_run: float = 1.0) -> dict[str, float]:
    """chaos key -> factor on its rate: each kind gets faults_per_run / K expected faults per run."""
    if not processes:
        return {}
    share = faults_per_run / len(processes)
    return {p.key: max(1.0, share / (p.rate * horizon)) for p in processes}


def largest_fault_weight(processes: list[FaultProcess], bias: dict[str, float], horizon: float) -> float:
    """The largest likelihood ratio a run with at least one fault can have (for zero-event bounds)."""
    log_all = sum((bias[p.key] - 1.0) * p.rate * horizon for p in processes)
    return math.exp(log_all) * max(1.0 / bias[p.key] for p in processes)


def summarize_weighted(rows: list[dict], processes: list[FaultProcess], bias: dict[str, float], horizon: float,
                       metric: str, conf: float = 0.95) -> dict:
    """Estimates from biased replications, with the keys of sim.experiment.summary.summarize."""
    rows = sorted(rows, key=lambda r: int(r["rep"]))
    weights = np.exp(np.array([float(r["log_weight"]) for r in rows]))
    sent = np.array([float(r["sent"]) for r in rows])
    worst = largest_fault_weight(processes, bias, horizon)
    out = {"runs": len(rows), "messages": int(sent.sum())}
    for name in RATES:
        out[name] = weighted_rate([float(r[name]) for r in rows], sent, weights, worst, conf)
    for name, column in (("p_any_silent_loss", "any_silent_loss"), ("p_any_loss", "any_loss")):
        out[name] = weighted_probability([float(r[column]) for r in rows], weights, worst, conf)
    p99 = [(w, float(r["ack_p99_ms"])) for w, r in zip(weights, rows, strict=True)
           if r["ack_p99_ms"] not in (None, "", "None")]
    out["ack_p99_ms"] = sum(w * v for w, v in p99) / sum(w for w, _ in p99) if p99 else math.nan
    out.update(run_totals(rows))
    out["by_stage"] = {}
    hits = [float(r[metric]) * w for w, r in zip(weights, rows, strict=True)]
    losing = [h for h in hits if h > 0]
    ess = effective_sample_size(weights)
    warnings = []
    if losing and max(losing) > 0.5 * sum(losing):
        warnings.append(f"one run carries {100 * max(losing) / sum(losing):.0f}% of the {metric} estimate: "
                        "the weights degenerate, run more replications or use another method")
    if 0 < len(losing) < 5:
        warnings.append(f"the {metric} estimate rests on {len(losing)} losing run(s): its interval is unreliable")
    if ess < 0.05 * len(rows):
        warnings.append(f"effective sample size {ess:.1f} of {len(rows)} runs: the weights degenerate")
    out["p_any_acked_missing"] = weighted_probability([float(r["acked_missing"]) > 0 for r in rows], weights, worst,
                                                      conf)
    p_year = {name: year_probability(out[name], horizon, YEAR_S)
              for name in ("p_any_silent_loss", "p_any_loss", "p_any_acked_missing")}
    out.update({"bias": dict(bias), "effective_sample_size": ess,
                "losing_runs_effective": effective_sample_size([h for h in hits if h > 0]) if losing else 0.0,
                "p_year_any_silent_loss": p_year["p_any_silent_loss"], "p_year_any_loss": p_year["p_any_loss"],
                "p_year_any_acked_missing": p_year["p_any_acked_missing"],
                "warnings": warnings})
    return out
