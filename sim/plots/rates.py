"""Rates with intervals: silent loss and duplicates per message, one row per configuration.

A rate seen is a dot with its 95% interval (dashed where the interval reaches 0, which a log axis
cannot show); a rate never seen is an upper bound, drawn as a bar with an arrow towards lower rates.
The axis spans whole decades chosen from the values (at least three), so bounds that differ only by
noise stay in one place.
"""

from __future__ import annotations

from .entries import Entry, entries, numbered
from .marks import SERIES, draw_rate, legend_handles, rate_values
from .style import FONT, decade_axis, freeze_layout, log_span, new_figure, short
from .tradeoff import draw_tradeoff, label_points


def draw_rates(ax, items: list[Entry], span: tuple[float, float] | None = None) -> tuple[float, float]:
    """One row per configuration (top to bottom), both series; returns the span used."""
    span = span or log_span(rate_values(items))
    for row, item in enumerate(items):
        for metric, color, offset, _name in SERIES:
            draw_rate(ax, item.estimate[metric], row + offset, color, span)
    for row in range(1, len(items)):
        if items[row].stage != items[row - 1].stage:
            ax.axhline(row - 0.5, color="0.7", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(*span)
    decade_axis(ax.xaxis, span)
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.set_yticks(range(len(items)), [short(label, 58) for label in numbered(items)], fontsize=FONT)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="0.9", lw=0.6)
    ax.set_xlabel("per message (log scale)", fontsize=FONT + 1)
    ax.set_title("silent loss and duplicates per message", fontsize=FONT + 1)
    return span


def rates_figure(results, title: str = "", tradeoff: bool = True):
    """Rates with intervals per configuration and, beside them, silent loss against p99 latency."""
    items = entries(results)
    height = max(3.6, 0.42 * len(items) + 2.2)
    fig = new_figure(13 if tradeoff else 8, height)
    axes = fig.subplots(1, 2, width_ratios=(1.25, 1)) if tradeoff else [fig.subplots()]
    draw_rates(axes[0], items)
    fig.legend(handles=legend_handles(), loc="outside lower center", ncols=4, fontsize=FONT, frameon=False)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    points = draw_tradeoff(axes[1], items) if tradeoff else []
    freeze_layout(fig)
    if tradeoff:
        label_points(axes[1], points)
    return fig
