"""Tables and plots of estimates (per configuration point)."""

from __future__ import annotations

import math

from .summary import fmt_prob, fmt_rate


def point_label(point: dict) -> str:
    def show(value):
        return "never" if isinstance(value, int) and not isinstance(value, bool) and value >= 2**62 else value
    return ", ".join(f"{k.split('.', 1)[1] if '.' in k else k}={show(value)}" for k, value in point.items()) or "(base)"


def table(results: dict, title: str = "") -> str:
    rows = [("configuration", "runs", "silent loss rate [95% CI]", "P(run loses any) [CP]", "duplicate rate",
             "ack p99 ms")]
    for entry in results.values():
        estimate = entry["estimate"]
        rows.append((point_label(entry["point"]), str(estimate["runs"]), fmt_rate(estimate["silent_loss"]),
                     fmt_prob(estimate["p_any_silent_loss"]), fmt_rate(estimate["duplicated"]),
                     "-" if math.isnan(estimate["ack_p99_ms"]) else f"{estimate['ack_p99_ms']:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [title] if title else []
    for number, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                     strict=True))))
        if number == 0:
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
