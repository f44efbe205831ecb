"""What every picture shares: a Figure that is not pyplot's, colours, log axes with a fixed span."""

from __future__ import annotations

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

FONT = 8  # points, for labels inside the axes
LOSS_COLOR, DUP_COLOR = "tab:red", "tab:blue"
CLASS_COLORS = {"duplicated": "tab:blue", "lost_acked": "tab:red", "failed_visible": "tab:orange",
                "failed_silent": "tab:purple", "lost_unacked": "tab:brown", "unconsumed": "0.55"}


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A Figure outside pyplot (no backend is chosen or changed), drawn with Agg when asked."""
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def freeze_layout(fig: Figure) -> None:
    """Lay the figure out once, then keep the positions (labels placed afterwards stay where they fit)."""
    fig.draw_without_rendering()
    fig.set_layout_engine("none")


def log_span(values, min_decades: int = 3, top: float = 1.0) -> tuple[float, float]:
    """Whole decades around the positive values, at least `min_decades` wide, never above `top`:
    a fixed span that noise in the values cannot zoom into."""
    positive = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not positive:
        positive = [1e-6, 1e-3]
    lo = math.floor(math.log10(min(positive)) - 0.15)
    hi = math.ceil(math.log10(max(positive)) + 0.15)
    hi = min(hi, round(math.log10(top)))
    while hi - lo < min_decades:
        lo -= 1
        if hi - lo < min_decades and hi < round(math.log10(top)):
            hi += 1
    return 10.0 ** lo, 10.0 ** hi


def decade_axis(axis, span: tuple[float, float]) -> None:
    """A log axis over `span` with labels on whole decades only (at most 7, so they never merge)."""
    decades = round(math.log10(span[1] / span[0]))
    step = max(1, math.ceil(decades / 6))
    axis.set_major_locator(LogLocator(base=10.0 ** step, numticks=decades + 2))
    axis.set_major_formatter(LogFormatterSciNotation(base=10.0))
    axis.set_minor_locator(LogLocator(base=10.0, subs=(1.0,) if step > 1 else (2.0, 5.0), numticks=decades + 2))
    axis.set_minor_formatter(NullFormatter())


def short(text: str, width: int) -> str:
    """`text` cut to `width` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"
