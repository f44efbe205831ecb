"""The loss/latency trade-off: silent loss per message against the p99 acknowledgement latency.

Each configuration is a dot with its interval (or an upper bound with a downward arrow) labelled
with its number from the rates panel; configurations drawn in one spot share a label.
"""

from __future__ import annotations

import math

from matplotlib.transforms import Bbox

from .entries import Entry, entries, numbered
from .labels import place_labels
from .marks import draw_rate, legend_handles, rate_values
from .style import FONT, LOSS_COLOR, decade_axis, freeze_layout, log_span, new_figure

LOG_LATENCY_RATIO = 20  # a log latency axis once the slowest p99 is this many times the fastest


def latency_axis(ax, latencies: list[float]) -> None:
    lo, hi = min(latencies), max(latencies)
    if lo > 0 and hi / lo >= LOG_LATENCY_RATIO:
        ax.set_xscale("log")
        span = (10 ** math.floor(math.log10(lo) - 0.1), 10 ** math.ceil(math.log10(hi) + 0.1))
        ax.set_xlim(*span)
        decade_axis(ax.xaxis, span)
        ax.set_xlabel("ack latency p99, ms (log scale)", fontsize=FONT + 1)
    else:  # from 0: differences of a few percent must not look like a ranking
        ax.set_xlim(0.0, max(1.0, hi * 1.15))
        ax.set_xlabel("ack latency p99, ms", fontsize=FONT + 1)


def draw_tradeoff(ax, items: list[Entry]) -> list[tuple[float, float, str, bool]]:
    """Draw every configuration that has a latency; returns (x, y, number, is a bound) for label_points."""
    span = log_span(rate_values(items, ("silent_loss",)))
    points, missing = [], []
    for number, item in enumerate(items, 1):
        latency = item.estimate["ack_p99_ms"]
        if latency is None or not math.isfinite(latency):
            missing.append(str(number))
            continue
        rate = item.estimate["silent_loss"]
        draw_rate(ax, rate, latency, LOSS_COLOR, span, vertical=True)
        bound = rate["upper_bound_only"]
        points.append((latency, rate["hi"] if bound else rate["rate"], str(number), bound))
    ax.set_yscale("log")
    ax.set_ylim(*span)
    decade_axis(ax.yaxis, span)
    latency_axis(ax, [point[0] for point in points] or [1.0])
    if missing:
        ax.set_xlabel(ax.get_xlabel() + f"  (nothing acknowledged, not drawn: {', '.join(missing)})")
    ax.set_ylabel("silent loss per message (log scale)", fontsize=FONT + 1)
    ax.set_title("what safety costs: silent loss against ack latency", fontsize=FONT + 1)
    ax.grid(color="0.9", lw=0.6)
    return points


def label_points(ax, points: list[tuple[float, float, str, bool]]) -> list:
    """Numbers beside the points, clear of each other and of every marker (call after the layout);
    above an upper bound first (its arrow points down), beside a dot first (its interval is vertical)."""
    renderer = ax.figure.canvas.get_renderer()
    taken = []
    for x_pos, y_pos, _text, _bound in points:
        px, py = ax.transData.transform((x_pos, y_pos))
        taken.append(Bbox.from_bounds(px - 5, py - 5, 10, 10))
    placed = []
    for bound in (True, False):
        chosen = [(x_pos, y_pos, text) for x_pos, y_pos, text, is_bound in points if is_bound == bound]
        notes = place_labels(ax, chosen, avoid=taken, above_first=bound)
        taken += [note.get_window_extent(renderer) for note in notes]
        placed += notes
    return placed


def tradeoff_figure(results, title: str = ""):
    """The trade-off alone, with the configurations listed under it by number."""
    items = entries(results)
    fig = new_figure(8, 4.2 + 0.16 * len(items))
    ax = fig.subplots()
    points = draw_tradeoff(ax, items)
    key = "\n".join(numbered(items))
    fig.legend(handles=legend_handles()[:1] + legend_handles()[2:], loc="outside lower center", ncols=3,
               fontsize=FONT, frameon=False, title=key, title_fontsize=FONT, alignment="left")
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    freeze_layout(fig)
    label_points(ax, points)
    return fig
