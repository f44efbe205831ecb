"""How a rate is drawn on a log axis: a dot and its interval, or an upper bound with an arrow."""

from __future__ import annotations

from matplotlib.lines import Line2D

from .entries import Entry
from .style import DUP_COLOR, LOSS_COLOR

SERIES = (("silent_loss", LOSS_COLOR, -0.17, "silent loss"), ("duplicated", DUP_COLOR, 0.17, "duplicates"))
BOUND_ARROW = 10 ** 0.45  # how far (a factor) the arrow of an upper bound points down


def rate_values(items: list[Entry], metrics=("silent_loss", "duplicated")) -> list[float]:
    """Every number the axis must show: rates, interval ends and bounds."""
    values = []
    for item in items:
        for metric in metrics:
            rate = item.estimate[metric]
            values += [rate["hi"]] if rate["upper_bound_only"] else [rate["rate"], rate["lo"], rate["hi"]]
    return values


def draw_rate(ax, rate: dict, pos: float, color: str, span: tuple[float, float], vertical: bool = False) -> None:
    """One rate on a log axis at row (or column) `pos`: dot and interval, or an upper bound and its arrow."""
    def at(value):
        return (pos, value) if vertical else (value, pos)

    cap = "_" if vertical else "|"
    if rate["upper_bound_only"]:
        hi = rate["hi"]
        ax.plot(*at(hi), marker=cap, markersize=8 if vertical else 11, mew=2, color=color, linestyle="none")
        ax.annotate("", xy=at(max(hi / BOUND_ARROW, span[0])), xytext=at(hi),
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.3, "shrinkA": 0, "shrinkB": 0})
        return
    value, lo, hi = rate["rate"], rate["lo"], rate["hi"]
    if lo > 0:
        ax.plot(*zip(at(lo), at(hi), strict=True), color=color, lw=1.3)
        ax.plot(*at(lo), marker=cap, markersize=7, color=color, linestyle="none")
    else:  # dashed down to the axis edge: the interval reaches 0
        ax.plot(*zip(at(value), at(hi), strict=True), color=color, lw=1.3)
        ax.plot(*zip(at(span[0]), at(value), strict=True), color=color, lw=1.1, alpha=0.6, linestyle=(0, (2, 2)))
    ax.plot(*at(hi), marker=cap, markersize=7, color=color, linestyle="none")
    ax.plot(*at(value), marker="o", markersize=5, color=color, linestyle="none")


def legend_handles(series=SERIES) -> list:
    handles = [Line2D([], [], color=color, marker="o", markersize=5, lw=1.3, label=f"{name} per message, 95% interval")
               for _metric, color, _off, name in series]
    handles.append(Line2D([], [], color="0.3", lw=1.3, linestyle=(0, (2, 2)), label="dashed: the interval reaches 0"))
    handles.append(Line2D([], [], color="0.3", marker=r"$\leftarrow\!|$", markersize=16, linestyle="none",
                          label="none seen: below this upper bound"))
    return handles
