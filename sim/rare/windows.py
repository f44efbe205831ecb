"""Conditional Monte Carlo over fault windows: one fault at a time, from the steady state.

At real failure rates faults are rare and far apart, so a long stretch of a cluster's life is
fault-free stretches plus, around each fault, a window in which it does its damage. For each chaos
kind k (a Poisson process of rate Lambda_k over all its targets) the estimator simulates windows:
`warmup` seconds of production (so that page caches, replication and the consumer are in their
steady state), one fault of kind k at a uniformly random moment of the next `spread` seconds, on a
uniformly chosen target, lasting a duration drawn as the chaos process draws it, then `tail` seconds
more production after the repair, then the drain. A few windows with no fault measure the fault-free
rate b per message. Over a long horizon with the workload's rate r (messages per second):

    rate per message = b + sum_k Lambda_k * E[excess loss per fault of kind k] / r

where the excess loss of a window is its loss minus b times its messages. Fault-free windows that
lose nothing give b = 0 and add no bound: without faults the model loses messages only through
overload or settings that fail by themselves (a delivery timeout shorter than the send path), and a
single fault-free window shows those. The Poisson probability of
each fault is integrated in closed form (a fault of kind k happens Lambda_k times per second); only the
consequence of one fault is simulated. P(a year loses anything) = 1 - exp(-sum_k Lambda_k p_k year),
with p_k the fraction of kind-k windows that lost anything.

A fault lasting longer than the window's cap (`fault_cap`, 120 s by default) is repaired at the cap,
when production stops and the drain repairs everything, as at the end of any run: what a long
outage does after that (producer failures that grow with its length) is not counted.

What it cannot see (docs/rare-events.md): two faults close enough to interact (a second fault while
the first is not yet repaired; reported as `interaction_probability`, the chance that another fault
falls inside a window), state carried from one fault to the next (consumer lag, producer buffers,
replicas still catching up from an earlier fault), and slow drifts of a long life (segment rolls of
large logs, log size and recovery time).
"""

from __future__ import annotations

import math

import numpy as np

from .. import stats
from ..experiment.replicate import replication_row
from ..experiment.summary import RATES, run_totals
from ..faults.kinds import CHAOS_KINDS
from ..run import run_once
from .processes import YEAR_S, FaultProcess

BASELINE = "fault-free"  # the kind of a window without a fault
# what counts as "a year loses anything": a run or window with any such message
EVENTS = {"any_silent_loss": lambda row: float(row["any_silent_loss"]) > 0,
          "any_loss": lambda row: float(row["any_loss"]) > 0,
          "any_acked_missing": lambda row: float(row["acked_missing"]) > 0}
WINDOW_STREAM = 7_300  # first spawn-key component of window runs (crude runs use 0.., sweeps the point index)


def default_warmup(cfg) -> float:
    """Long enough for the OS write-back (dirty expiry plus a flusher period) to reach its rhythm."""
    writeback = sum(value for value in (cfg.seconds("broker.vm.dirty_expire_centisecs"),
                                        cfg.seconds("broker.vm.dirty_writeback_centisecs"))
                    if value is not None and math.isfinite(value))
    return max(30.0, writeback + 10.0)


def window_config(cfg, process: FaultProcess | None, index: int, warmup: float, spread: float, tail: float,
                  cap: float = math.inf):
    """The configuration of window `index` of kind `process` (None: fault-free), and its fault (repaired
    after `cap` seconds at the latest: the window's end, like a run's, repairs what is still broken)."""
    stream = 0 if process is None else 1 + _stream(process)
    gen = np.random.default_rng([int(cfg["sim.seed"]), WINDOW_STREAM, stream, index])
    at = warmup + spread * float(gen.random())
    if process is None:
        fault, end = None, at + tail
    else:
        target = process.targets[int(gen.integers(len(process.targets)))]
        duration = float(gen.exponential(process.mean_duration))
        fault, end = process.fault(at, target, duration), at + min(duration, cap) + tail
    overrides = {"workload.duration": end, "faults": [fault] if fault else []}
    return cfg.without("chaos.", overrides), fault, (WINDOW_STREAM, stream, index)


def _stream(process: FaultProcess) -> int:
    return CHAOS_KINDS[process.key][1].stream


def run_window(cfg, process: FaultProcess | None, index: int, warmup: float, spread: float, tail: float,
               cap: float = math.inf) -> dict:
    """One window, as a row: the replication's numbers plus the window's kind, fault and length."""
    window_cfg, fault, spawn_key = window_config(cfg, process, index, warmup, spread, tail, cap)
    result = run_once(window_cfg, spawn_key=spawn_key)
    row = replication_row(result)
    row.update({"kind": process.key if process else BASELINE, "window": index,
                "at": fault["at"] if fault else None, "target": fault["target"] if fault else None,
                "duration": fault["duration"] if fault else None, "window_s": window_cfg["workload.duration"]})
    return row


def combine(rows: list[dict], processes: list[FaultProcess], rate: float, metric: str, conf: float = 0.95) -> dict:
    """The long-horizon estimates from window rows (see the module docstring)."""
    by_kind: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["kind"], int(r["window"]))):
        by_kind.setdefault(row["kind"], []).append(row)
    baseline = by_kind.get(BASELINE, [])
    out: dict = {"runs": len(rows), "messages": int(sum(float(r["sent"]) for r in rows))}
    kinds = [p for p in processes if by_kind.get(p.key)]
    missing = [p for p in processes if not by_kind.get(p.key)]  # no window yet: nothing is known about them
    for name in RATES:
        out[name] = _combined_rate(name, baseline, by_kind, kinds, rate, conf)
        if missing or not baseline:
            out[name].update({"hi": 1.0, "relative_half_width": math.inf})
    baseline_s = sum(float(r["window_s"]) for r in baseline)
    for name, hit in EVENTS.items():
        per_year, lo, hi, none_seen = _event_rate(hit, by_kind, kinds, conf)
        fault_free_hits = sum(int(hit(r)) for r in baseline)
        if fault_free_hits:  # losses without any fault: their own rate of loss events
            own = fault_free_hits / baseline_s * YEAR_S
            per_year, lo, hi, none_seen = per_year + own, lo + own, hi + own, False
        year = {"p": -math.expm1(-per_year), "lo": -math.expm1(-lo), "hi": -math.expm1(-hi),
                "upper_bound_only": none_seen, "events_per_year": per_year}
        if missing:
            year["hi"] = 1.0
        out[f"p_year_{name}"] = year
    fault_windows = [r for p in kinds for r in by_kind[p.key]]
    for name in ("any_silent_loss", "any_loss"):  # per fault window: P(one fault loses anything)
        out[f"p_{name}"] = stats.proportion(sum(int(EVENTS[name](r)) for r in fault_windows), len(fault_windows),
                                            conf)
    out["ack_p99_ms"] = float(np.mean([float(r["ack_p99_ms"]) for r in baseline
                                       if r["ack_p99_ms"] not in (None, "", "None")] or [math.nan]))
    out.update(run_totals(rows))
    out["by_stage"] = {}
    window_s = [float(r["window_s"]) for r in rows]
    total_rate = sum(p.rate for p in processes)
    out["windows"] = {BASELINE: len(baseline), **{p.key: len(by_kind[p.key]) for p in kinds}}
    out["interaction_probability"] = -math.expm1(-total_rate * max(window_s)) if window_s else math.nan
    longest_repair = max((p.mean_duration for p in processes), default=0.0)
    out["fault_during_longest_repair"] = -math.expm1(-total_rate * longest_repair)  # what the cap hides
    out["fault_rates_per_year"] = {p.key: p.rate * YEAR_S for p in processes}
    return out


def _combined_rate(name: str, baseline: list[dict], by_kind: dict, kinds: list[FaultProcess], rate: float,
                   conf: float) -> dict:
    sent_b = np.array([float(r["sent"]) for r in baseline])
    base = stats.ratio_rate([float(r[name]) for r in baseline], sent_b) if baseline else None
    fault_free = base.rate if base is not None and base.runs else 0.0
    quantile = stats.NormalDist().inv_cdf(0.5 + conf / 2.0)
    var = 0.0
    if base is not None and not base.zero and base.runs > 1:  # the ratio estimate's own t interval, as a variance
        var = (base.half_width() / stats.t_ppf(0.5 + conf / 2.0, base.runs - 1)) ** 2
    degrees = []
    point, bound, second_moment, events = fault_free, 0.0, 0.0, int(base.events) if base else 0
    for process in kinds:
        group = by_kind[process.key]
        losses = np.array([float(r[name]) for r in group])
        excess = losses - fault_free * np.array([float(r["sent"]) for r in group])
        events += int(losses.sum())
        scale = process.rate / rate
        if not np.any(losses > 0):  # none seen: one message per losing window
            bound += scale * stats.zero_event_upper(len(group))
            continue
        point += scale * float(excess.mean())
        degrees.append(len(group) - 1)
        if len(group) > 1:
            var += scale ** 2 * float(excess.var(ddof=1)) / len(group)
        else:
            var = math.inf
        second_moment += process.rate * float((excess ** 2).mean()) / rate ** 2
    se = math.sqrt(var)
    if degrees:  # Student's t with the fewest windows of a kind that saw the event (conservative)
        quantile = stats.t_ppf(0.5 + conf / 2.0, max(1, min(degrees)))
    none_seen = point == 0.0 and events == 0
    lo = 0.0 if none_seen else max(0.0, point - quantile * se)
    hi = min(1.0, point + quantile * se + bound)
    half = (hi - lo) / 2
    window_seconds = sum(float(r["window_s"]) for group in by_kind.values() for r in group)
    reduction = second_moment / (var * window_seconds) if var > 0 and window_seconds > 0 else math.nan
    return {"events": events, "messages": int(sum(float(r["sent"]) for g in by_kind.values() for r in g)),
            "runs": sum(len(g) for g in by_kind.values()), "rate": point, "lo": lo, "hi": hi,
            "upper_bound_only": none_seen, "relative_half_width": half / point if point > 0 else math.inf,
            "variance_reduction": reduction}


def _event_rate(hit, by_kind: dict, kinds: list[FaultProcess], conf: float):
    """Loss events per year: sum of Lambda_k x P(a kind-k fault loses anything), Wilson per kind."""
    point = lo = hi = 0.0
    seen = 0
    for process in kinds:
        group = by_kind[process.key]
        hits = sum(int(hit(r)) for r in group)
        seen += hits
        low, high = stats.wilson(hits, len(group), conf)
        if hits == 0:
            high = stats.zero_event_upper(len(group), conf)
        per_year = process.rate * YEAR_S
        point += per_year * hits / len(group)
        lo += per_year * low
        hi += per_year * high
    return point, lo, hi, seen == 0
