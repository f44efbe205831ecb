"""Tables and plots of estimates (per configuration point)."""

from __future__ import annotations

import math

from .summary import fmt_prob, fmt_rate


def point_label(point: dict) -> str:
    def show(v):
        return "never" if isinstance(v, int) and not isinstance(v, bool) and v >= 2**62 else v
    return ", ".join(f"{k.split('.', 1)[1] if '.' in k else k}={show(v)}" for k, v in point.items()) or "(base)"


def table(results: dict, title: str = "") -> str:
    rows = [("configuration", "runs", "silent loss rate [95% CI]", "P(run loses any) [CP]", "duplicate rate",
             "ack p99 ms")]
    for entry in results.values():
        e = entry["estimate"]
        rows.append((point_label(entry["point"]), str(e["runs"]), fmt_rate(e["silent_loss"]),
                     fmt_prob(e["p_any_silent_loss"]), fmt_rate(e["duplicated"]),
                     "-" if math.isnan(e["ack_p99_ms"]) else f"{e['ack_p99_ms']:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title] if title else []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                     strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def plot(results: dict, path, title: str) -> None:
    """rates.png: silent loss and duplicate rates per point with their intervals (upper bounds where
    none was seen), and silent loss against p99 acknowledgement latency (sim.plots.rates_figure)."""
    from ..plots import rates_figure

    rates_figure(results, title).savefig(path, dpi=110)


def plot_outcomes(results: dict, path, title: str) -> None:
    """outcomes.png: the outcome classes per point, per million messages, split by stage."""
    from ..plots import breakdown_from_results, outcomes_figure

    outcomes_figure(*breakdown_from_results(results), title=title).savefig(path, dpi=110)
