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
    """Silent loss and duplicate rates per point (log scale, 95% intervals; open markers: upper bounds),
    and loss against p99 acknowledgement latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = list(results.values())
    labels = [point_label(e["point"]) for e in entries]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.45 * len(entries) + 3))
    for ax, metric, color in ((ax1, "silent_loss", "tab:red"), (ax1, "duplicated", "tab:blue")):
        for y, e in enumerate(entries):
            r = e["estimate"][metric]
            off = -0.15 if metric == "silent_loss" else 0.15
            if r["upper_bound_only"]:
                ax.plot([r["hi"]], [y + off], marker="<", color=color, fillstyle="none")
            else:
                ax.errorbar([r["rate"]], [y + off], xerr=[[r["rate"] - r["lo"]], [r["hi"] - r["rate"]]],
                            fmt="o", color=color, capsize=3)
    ax1.set_yticks(range(len(entries)), labels, fontsize=8)
    ax1.set_xscale("log")
    ax1.set_xlabel("per-message rate (red: silent loss, blue: duplicates; open: upper bound, none seen)")
    for e, label in zip(entries, labels, strict=True):
        r = e["estimate"]["silent_loss"]
        x = e["estimate"]["ack_p99_ms"]
        y = r["hi"] if r["upper_bound_only"] else r["rate"]
        err = None if r["upper_bound_only"] else [[r["rate"] - r["lo"]], [r["hi"] - r["rate"]]]
        ax2.errorbar([x], [y], yerr=err, fmt="<" if r["upper_bound_only"] else "o", capsize=3)
        ax2.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax2.set_yscale("log")
    ax2.set_xlabel("ack latency p99 (ms)")
    ax2.set_ylabel("silent loss rate")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
