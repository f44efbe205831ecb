"""Small labels next to points, placed where they overlap nothing (and points in one spot share one)."""

from __future__ import annotations

import math

from matplotlib.transforms import Bbox

# offsets (points) tried in turn: close around the point first, then further out
RINGS = (7, 13, 20, 28)
SIDES_FIRST = ((1, 0.4), (1, -0.6), (-1, 0.4), (-1, -0.6), (0, 1.2), (0, -1.6), (1, 1.2), (-1, 1.2), (1, -1.6),
               (-1, -1.6))
ABOVE_FIRST = ((0, 1.0), (1, 1.0), (-1, 1.0), (1, 0.4), (-1, 0.4), (0, 1.8), (1, 1.8), (-1, 1.8))
BELOW = ((1, -0.6), (-1, -0.6), (0, -1.6))  # for upper bounds, only when nothing above or beside is free
SAME_SPOT = 6.0  # pixels: points closer than this get one label


def group_points(ax, points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Points drawn within SAME_SPOT pixels of each other become one point labelled '1,2'."""
    groups: list[list] = []
    for x_pos, y_pos, text in points:
        px, py = ax.transData.transform((x_pos, y_pos))
        for group in groups:
            if math.hypot(group[0] - px, group[1] - py) < SAME_SPOT:
                group[3].append(text)
                break
        else:
            groups.append([px, py, (x_pos, y_pos), [text]])
    return [(g[2][0], g[2][1], ",".join(g[3])) for g in groups]


def place_labels(ax, points: list[tuple[float, float, str]], fontsize: float = 7.5, avoid=(),
                 above_first: bool = False) -> list:
    """Annotate each (x, y, text) at the first nearby offset whose box is inside the axes and clear of
    the other labels and of `avoid` (display-space Bboxes); returns the annotations. `above_first`
    tries the places above a point first (for upper bounds, whose arrows point down)."""
    places = [(r, d) for r in RINGS for d in (ABOVE_FIRST if above_first else SIDES_FIRST)]
    if above_first:
        places += [(r, d) for r in RINGS for d in BELOW]
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    taken = list(avoid)
    placed = []
    for x_pos, y_pos, text in group_points(ax, points):
        note = None
        for radius, (dx, dy) in places:
            note = _try(ax, x_pos, y_pos, text, (dx * radius, dy * radius), fontsize)
            box = note.get_window_extent(renderer).expanded(1.1, 1.15)
            if _contains(inside, box) and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                placed.append(note)
                break
            note.remove()
            note = None
        if note is None:  # nowhere free: the first place, and the overlap shows in the tests
            radius, (dx, dy) = places[0]
            note = _try(ax, x_pos, y_pos, text, (dx * radius, dy * radius), fontsize)
            taken.append(note.get_window_extent(renderer))
            placed.append(note)
    return placed


def _try(ax, x_pos, y_pos, text, offset, fontsize):
    ha = "left" if offset[0] > 0 else "right" if offset[0] < 0 else "center"
    va = "bottom" if offset[1] > 0 else "top"
    return ax.annotate(text, (x_pos, y_pos), xytext=offset, textcoords="offset points", fontsize=fontsize, ha=ha, va=va,
                       annotation_clip=False)


def _contains(outer: Bbox, inner: Bbox) -> bool:
    return outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1
