"""Outcome breakdown: what went wrong, per configuration, in which stage.

One panel per stage (producer, broker, consumer); in each, one bar per configuration, stacked by
outcome class (everything but `delivered`), with its total written at the end. Each panel has its
own scale: a stage's bars compare configurations, the totals compare stages.
"""

from __future__ import annotations

from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..ledger import CLASSES, STAGES
from .entries import entries, numbered
from .style import CLASS_COLORS, FONT, new_figure, short

SHOWN = tuple(c for c in CLASSES if c != "delivered")


def breakdown_from_runs(runs: dict) -> tuple[dict, str]:
    """{label: RunResult} -> ({label: {stage: {class: count}}}, unit)."""
    return {label: result["by_stage"] for label, result in runs.items()}, "messages"


def breakdown_from_results(results) -> tuple[dict, str]:
    """Sweep or demo results -> per million messages sent, summed over replications."""
    out = {}
    for item, label in zip(entries(results), numbered(entries(results)), strict=True):
        scale = 1e6 / max(1, item.estimate["messages"])
        out[label] = {stage: {cls: value * scale for cls, value in classes.items()}
                      for stage, classes in item.estimate["by_stage"].items()}
    return out, "per million messages"


def _amount(value: float, unit: str) -> str:
    if unit == "messages":
        return f"{value:,.0f}"
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def draw_stage(ax, stage: str, breakdowns: dict, unit: str) -> None:
    """One stage's stacked bars, top to bottom in the order of `breakdowns`."""
    totals = []
    for row, classes in enumerate(breakdowns.values()):
        left = 0.0
        for cls in SHOWN:
            value = classes.get(stage, {}).get(cls, 0)
            if value:
                ax.barh(row, value, left=left, height=0.62, color=CLASS_COLORS[cls], lw=0)
                left += value
        totals.append(left)
    peak = max(totals) or 1.0
    if not any(totals):
        ax.set_xticks([])
    elif unit == "messages":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    for row, total in enumerate(totals):
        ax.text(total + 0.02 * peak, row, _amount(total, unit) if total else "none", va="center", fontsize=FONT,
                color="0.25")
    ax.set_xlim(0, peak * 1.32)
    ax.set_ylim(len(totals) - 0.5, -0.5)
    ax.set_title(f"{stage} stage", fontsize=FONT + 1)
    ax.set_xlabel(unit if any(totals) else "nothing in this stage", fontsize=FONT)
    ax.tick_params(axis="x", labelsize=FONT - 0.5)
    ax.ticklabel_format(axis="x", style="plain")
    ax.set_axisbelow(True)
    ax.grid(axis="x", color="0.92", lw=0.6)


def outcomes_figure(breakdowns: dict, unit: str = "messages", title: str = ""):
    """Stacked outcome classes per configuration ({label: {stage: {class: value}}}), a panel per stage."""
    labels = list(breakdowns)
    fig = new_figure(13, max(2.8, 0.38 * len(labels) + 1.9))
    axes = fig.subplots(1, len(STAGES), sharey=True)
    for ax, stage in zip(axes, STAGES, strict=True):
        draw_stage(ax, stage, breakdowns, unit)
    axes[0].set_yticks(range(len(labels)), [short(label, 52) for label in labels], fontsize=FONT)
    axes[0].tick_params(axis="y", length=0)
    present = [cls for cls in SHOWN if any(v.get(s, {}).get(cls) for v in breakdowns.values() for s in STAGES)]
    handles = [Patch(color=CLASS_COLORS[cls], label=cls) for cls in present or SHOWN]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=FONT, frameon=False,
               title="outcome class (delivered messages are not drawn)", title_fontsize=FONT)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    return fig
