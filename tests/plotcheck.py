"""Checks for pictures: every drawn text's box, measured with the Agg renderer.

`problems(fig)` lists text boxes that overlap each other (or a legend they are not part of) and
text boxes that reach outside the figure. Tick labels are taken only for ticks inside the view.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg

TOLERANCE = 0.5  # pixels


def _figures(fig):
    yield fig
    for sub in getattr(fig, "subfigs", []):
        yield from _figures(sub)


def _tick_labels(axis):
    lo, hi = sorted(axis.get_view_interval())
    span = hi - lo
    out = []
    for tick in axis.get_major_ticks():
        loc = tick.get_loc()
        if loc is not None and lo - 1e-9 * abs(span) <= loc <= hi + 1e-9 * abs(span):
            out += [label for label in (tick.label1, tick.label2) if label.get_visible()]
    return out


def _axes_texts(ax):
    texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
             ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
    if ax.xaxis.get_visible() and ax.axison:
        texts += _tick_labels(ax.xaxis)
    if ax.yaxis.get_visible() and ax.axison:
        texts += _tick_labels(ax.yaxis)
    return texts + list(ax.texts)


def drawn(fig):
    """(texts, legends, renderer) after drawing `fig` with Agg."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts, legends, seen = [], [], set()
    for figure in _figures(fig):
        texts += list(figure.texts) + ([figure._suptitle] if figure._suptitle is not None else [])
        legends += list(figure.legends)
        for ax in figure.axes:
            if id(ax) in seen or not ax.get_visible():
                continue
            seen.add(id(ax))
            texts += _axes_texts(ax)
            if ax.get_legend() is not None:
                legends.append(ax.get_legend())
    for legend in legends:
        texts += list(legend.get_texts()) + [legend.get_title()]
    unique = {id(t): t for t in texts if t.get_visible() and t.get_text().strip()}
    return list(unique.values()), legends, renderer


def _box(artist, renderer):
    return artist.get_window_extent(renderer).expanded(1.0, 1.0).padded(-TOLERANCE)


def problems(fig) -> list[str]:
    texts, legends, renderer = drawn(fig)
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [(t, _box(t, renderer)) for t in texts]
    found = []
    for t, box in boxes:
        if box.x0 < -TOLERANCE or box.y0 < -TOLERANCE or box.x1 > width + TOLERANCE or box.y1 > height + TOLERANCE:
            found.append(f"outside the figure: {t.get_text()!r} {box.bounds}")
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if box_a.overlaps(box_b):
                found.append(f"overlap: {a.get_text()!r} and {b.get_text()!r}")
    for legend in legends:
        frame = _box(legend, renderer)
        own = {id(t) for t in list(legend.get_texts()) + [legend.get_title()]}
        found += [f"overlaps the legend: {t.get_text()!r}" for t, box in boxes
                  if id(t) not in own and frame.overlaps(box)]
    return found


def texts_of(fig) -> list[str]:
    return [t.get_text() for t in drawn(fig)[0]]
