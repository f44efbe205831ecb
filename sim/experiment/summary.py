"""From replication rows to estimates: rates with intervals and the chance that a run loses anything."""

from __future__ import annotations

import math

import numpy as np

from .. import stats
from .replicate import STAGE_OUTCOMES

RATES = ("silent_loss", "lost_acked", "failed_visible", "failed_silent", "lost_unacked", "duplicated",
         "acked_missing")


def summarize(rows: list[dict], conf: float = 0.95) -> dict:
    """Estimates for one configuration from its replication rows (in any order)."""
    rows = sorted(rows, key=lambda r: int(r["rep"]))
    sent = np.array([float(r["sent"]) for r in rows])
    out = {"runs": len(rows), "messages": int(sent.sum())}
    for name in RATES:
        events = np.array([float(r[name]) for r in rows])
        out[name] = stats.ratio_rate(events, sent, conf).as_dict()
    any_silent = sum(int(float(r["any_silent_loss"])) for r in rows)
    any_loss = sum(int(float(r["any_loss"])) for r in rows)
    out["p_any_silent_loss"] = stats.proportion(any_silent, len(rows), conf)
    out["p_any_loss"] = stats.proportion(any_loss, len(rows), conf)
    p99 = [float(r["ack_p99_ms"]) for r in rows if r["ack_p99_ms"] not in (None, "", "None")]
    out["ack_p99_ms"] = float(np.mean(p99)) if p99 else math.nan
    out.update(run_totals(rows))
    out["by_stage"] = {stage: {cls: int(sum(float(r.get(f"{cls}_{stage}", 0) or 0) for r in rows)) for cls in classes}
                       for stage, classes in STAGE_OUTCOMES}
    return out


def run_totals(rows: list[dict]) -> dict:
    """What the rows add up to whatever the method: silent losses by stage, wall time, undrained runs."""
    return {"silent_by_stage": {s: sum(float(r.get(f"silent_{s}", 0) or 0) for r in rows)
                                for s in ("producer", "broker", "consumer")},
            "wall_s": float(sum(float(r["wall_s"]) for r in rows)),
            "undrained_runs": sum(1 for r in rows if int(float(r["drained"])) == 0)}


def fmt_rate(rate: dict) -> str:
    if rate["upper_bound_only"]:
        return f"< {rate['hi']:.2e} (none seen)"
    return f"{rate['rate']:.2e} [{rate['lo']:.2e}, {rate['hi']:.2e}]"


def fmt_prob(prob: dict) -> str:
    lo, hi = stats.interval_of(prob)
    if prob["runs_with_event"] == 0:
        return f"< {prob['upper_bound']:.3f} (0/{prob['runs']})"
    return f"{prob['p']:.3f} [{lo:.3f}, {hi:.3f}]"
