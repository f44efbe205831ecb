"""Message lifecycle swimlane: a handful of messages drawn as they move through Kafka, and their fates.

One lane per place a message passes: the application thread (send()), the accumulator (its batch), the
sender (the ProduceRequest, the acknowledgement or failure), every broker holding the partition (leader
and follower appends, the HW passing it, a removal: red X), the disk (when a copy reaches it), the
consumer (fetched, processed) and its commits. Each followed message is a line through its steps,
coloured by its outcome class; the legend names each one's fate (class, cause, stage). Faults are
shaded bands, elections dashed lines, numbered in a strip above the lanes and listed in words below.
A broker's lane is tinted while it leads the partition.

The time axis is compressed: a message's life takes milliseconds, the faults around it seconds, so
each quiet stretch between two moments takes a width that grows with the log of its length (dotted
lines mark where the axis skips); the ticks give the real times.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .story import Happening
from .labels import place_labels
from .style import CLASS_COLORS, FONT, freeze_layout, new_figure
from .timeline import draw_key

DELIVERED_COLOR = "tab:green"
FAULT_COLOR, ELECTION_COLOR, LEADER_TINT, LOSS_MARK = "0.55", "tab:purple", "#f3e3b5", "tab:red"
MARKERS = {"send": "o", "batch": "s", "request": ">", "response": "x", "append": "D", "copy": "D", "hw": "^",
           "ack": "*", "fail": "X", "removed": "X", "durable": "v", "fetch": "o", "processed": "P", "commit": "d",
           "committed": "h", "commit_failed": "x"}
MARKER_WORDS = (("send", "send() / fetched"), ("batch", "in a batch"), ("request", "ProduceRequest"),
                ("append", "leader appends"), ("copy", "a follower copies it"), ("hw", "HW passes it"),
                ("ack", "acknowledged"),
                ("response", "error response"), ("fail", "send failed"), ("durable", "on disk"),
                ("processed", "processed"), ("commit", "commit sent"), ("committed", "commit stored"),
                ("commit_failed", "commit failed"))
# what happens to a message without moving it (copies, news about it): drawn off its path, joined by a dotted tick
NOTICES = frozenset({"copy", "removed", "ack", "hw", "durable", "fetch", "commit", "committed", "commit_failed",
                     "response"})
HOLLOW = frozenset({"copy", "durable"})
MOVES = frozenset({"send", "batch", "request", "append", "processed", "fail"})
TAU = 0.001  # s: quiet stretches much longer than this are compressed (width ~ log(1 + gap / TAU))
SKIP = 0.05  # s: a stretch longer than this is marked as skipped
LANE_IN, STRIP_IN, KEY_LINE_IN = 0.36, 0.36, 0.165
MAX_KEY = 14


class TimeAxis:
    """Real time <-> compressed x: piecewise linear through the knots (every drawn moment)."""

    def __init__(self, times):
        knots = np.unique(np.asarray([t for t in times if math.isfinite(t)], float))
        if len(knots) == 1:
            knots = np.array([knots[0], knots[0] + TAU])
        gaps = np.diff(knots)
        self.knots = knots
        self.x = np.concatenate([[0.0], np.cumsum(np.log1p(gaps / TAU))])
        self.skips = [(float(self.x[k] + self.x[k + 1]) / 2, float(gap)) for k, gap in enumerate(gaps) if gap > SKIP]

    def __call__(self, at):
        return np.interp(at, self.knots, self.x)

    @property
    def span(self) -> tuple[float, float]:
        return float(self.x[0]), float(self.x[-1])


def _color(journey) -> str:
    return DELIVERED_COLOR if journey.outcome == "delivered" else CLASS_COLORS.get(journey.outcome, "0.3")


def _followed(result_or_run, ids):
    from ..follow import Followed, follow

    if isinstance(result_or_run, Followed):
        return result_or_run
    if hasattr(result_or_run, "settings"):  # a Config
        return follow(result_or_run, ids)
    raise TypeError("swimlane() takes a Followed (sim.follow.follow(cfg, ids)) or a Config")


def _happenings(followed, lo: float, hi: float) -> list[Happening]:
    """Faults overlapping the journeys and elections during them, numbered in time order."""
    out = []
    for start, end, text in followed.faults:
        if start <= hi and (end if end is not None else start) >= lo:
            out.append(Happening(start, "fault", text))
    parts = {j.partition for j in followed.journeys}
    for at, _end, lane, text, partition in followed.happenings:
        if lane == "controller" and lo <= at <= hi and partition in parts:
            out.append(Happening(at, "election", text))
    return sorted(out, key=lambda h: h.t)


def _ticks(axis: TimeAxis, times, min_gap: float) -> tuple[list[float], list[str]]:
    """Ticks at drawn moments, at least `min_gap` apart in x, labelled with their real time."""
    xs, labels = [], []
    for at in sorted(set(times)):
        x_pos = float(axis(at))
        label = f"{at:.3f}"
        if xs and (x_pos - xs[-1] < min_gap or label == labels[-1]):
            continue
        xs.append(x_pos)
        labels.append(label)
    return xs, labels


def swimlane(result_or_run, ids=None, title: str = ""):
    """The swimlane of followed messages -> Figure. `result_or_run`: a Followed (sim.follow.follow), or a
    Config to run (ids None: a lost, a duplicated and a delivered message, when present)."""
    followed = _followed(result_or_run, ids)
    journeys = [j for j in followed.journeys if j.steps]
    lanes = followed.lanes
    steps = [step for j in journeys for step in j.steps]
    times = [step.t for step in steps] or [0.0]
    lo, hi = min(times), max(times)
    items = _happenings(followed, lo, hi)
    bands = [(start, min(hi, end if end is not None else start)) for start, end, _text in followed.faults
             if start <= hi and (end if end is not None else start) >= lo]
    axis = TimeAxis(times + [b[0] for b in bands] + [b[1] for b in bands] + [h.t for h in items])
    x0, x1 = axis.span
    pad = 0.02 * (x1 - x0) + 0.3

    key_items = _key(items)
    key_lines = max(1, len(key_items))
    fig = new_figure(10.5, STRIP_IN + LANE_IN * len(lanes) + KEY_LINE_IN * key_lines + 0.4 * len(journeys) + 1.6)
    strip, ax, key = fig.subplots(3, 1, height_ratios=[STRIP_IN, LANE_IN * len(lanes), KEY_LINE_IN * key_lines],
                                  gridspec_kw={"hspace": 0.04})
    strip.sharex(ax)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_yticks(range(len(lanes)), lanes, fontsize=FONT)
    row = {lane: index for index, lane in enumerate(lanes)}
    for lane_row in range(len(lanes)):
        ax.axhline(lane_row, color="0.88", lw=0.6, zorder=0)
    partition = next((j.partition for j in journeys if j.partition is not None), None)
    if partition is not None:
        _draw_leaders(ax, axis, row, followed.leaders.get(partition, []), pad)
    _draw_faults(ax, axis, bands, items)

    labels = []
    for number, journey in enumerate(journeys):
        labels += _draw_journey(ax, axis, row, journey, number, len(journeys))
    if "disk" in row and not any(step.kind == "durable" for step in steps):
        ax.text(x0, row["disk"], "no followed copy reached a disk before the run ended", fontsize=FONT - 1,
                color="0.45", style="italic", va="center")
    width_in = 10.5 * 0.8
    xs, ticks = _ticks(axis, times + [h.t for h in items], (x1 - x0 + 2 * pad) * 0.62 / width_in)
    ax.set_xticks(xs, ticks, fontsize=FONT - 0.5, rotation=90)
    ax.set_xticks(sorted({float(axis(t)) for t in times}), minor=True)  # every moment drawn, unlabelled
    ax.set_xlabel("time (s), compressed: each quiet stretch is drawn shorter the longer it is", fontsize=FONT)
    ax.tick_params(axis="y", length=0)

    _strip(strip, axis, items)
    strip.set_title(title or _title(journeys), fontsize=FONT + 0.5)
    draw_key(key, key_items, key_lines)
    handles = _handles(journeys, steps, partition, items, axis)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=FONT - 0.5, frameon=False)
    freeze_layout(fig)
    place_labels(ax, labels, fontsize=FONT - 0.5)  # each line's number and fate, where they overlap nothing
    return fig


def _key(items: list[Happening]) -> list[Happening]:
    """The happenings listed under the lanes, at most MAX_KEY (then a last line says how many more)."""
    if len(items) <= MAX_KEY:
        return items
    rest = len(items) - MAX_KEY + 1
    return items[:MAX_KEY - 1] + [Happening(items[MAX_KEY - 1].t, "fault",
                                            f"... and {rest} more (Followed.story() lists them)")]


def _draw_leaders(ax, axis: TimeAxis, row: dict, changes, pad: float) -> None:
    """The leader's lane tinted while it leads the partition (as the controller has it)."""
    first, final = float(axis.knots[0]), float(axis.knots[-1])
    for (start, leader), nxt in zip(changes, changes[1:] + [(math.inf, None)], strict=True):
        lane = f"broker {leader}"
        if leader is None or lane not in row or nxt[0] < first or start > final:
            continue
        left = axis(max(start, first)) - (pad if start <= first else 0)
        right = axis(min(nxt[0], final)) + (pad if nxt[0] >= final else 0)
        ax.fill_between([left, right], row[lane] - 0.42, row[lane] + 0.42, color=LEADER_TINT, lw=0, zorder=0.5)


def _draw_faults(ax, axis: TimeAxis, bands, items) -> None:
    """Faults as grey bands (a line when instantaneous), elections dashed, skipped stretches dotted."""
    for start, end in bands:
        left, right = float(axis(start)), float(axis(end))
        if right - left < 0.15:
            ax.axvline(left, color=FAULT_COLOR, lw=1.0, linestyle=":", zorder=0.6)
        else:
            ax.axvspan(left, right, color=FAULT_COLOR, alpha=0.16, lw=0, zorder=0.6)
    for item in items:
        if item.kind == "election":
            ax.axvline(float(axis(item.t)), color=ELECTION_COLOR, lw=0.9, linestyle="--", alpha=0.8, zorder=0.7)
    for x_pos, _gap in axis.skips:
        ax.axvline(x_pos, color="0.7", lw=0.8, linestyle=(0, (1, 2)), zorder=0.4)


def _style(number: int) -> str:
    return ("-", "--", "-.", ":")[number % 4]


def _draw_journey(ax, axis: TimeAxis, row: dict, journey, number: int, count: int) -> list:
    """One message: its path, its markers, the dotted ticks to what happened off it; returns its labels."""
    color = _color(journey)
    offset = (number - (count - 1) / 2) * 0.12  # messages side by side within a lane
    segments = _path(journey, axis, row, offset)
    for x_pos, y_pos, at in _notices(journey, axis, row, offset, segments):
        ax.plot([x_pos, x_pos], [at, y_pos], color=color, lw=0.8, linestyle=(0, (1, 1.5)), zorder=1.5)
    for step in journey.steps:
        x_pos, y_pos = float(axis(step.t)), row.get(step.lane, 0) + offset
        if step.kind == "removed":
            ax.plot([x_pos], [y_pos], marker="X", markersize=10, color=LOSS_MARK, markeredgecolor="white", zorder=4,
                    linestyle="none")
        else:
            ax.plot([x_pos], [y_pos], marker=MARKERS.get(step.kind, "o"), markersize=5, color=color, zorder=3,
                    linestyle="none", markerfacecolor="white" if step.kind in HOLLOW else color)
    for xs, ys in segments:  # where the message is: on the lane of its last move until the next one
        ax.plot(xs, ys, color=color, lw=1.3, linestyle=_style(number), alpha=0.85, zorder=2, drawstyle="steps-post")
    return [(segments[0][0][0], segments[0][1][0], f"#{journey.id}"),
            (segments[-1][0][-1], segments[-1][1][-1], f"#{journey.id} {journey.outcome}")]


def _handles(journeys, steps, partition, items, axis: TimeAxis) -> list:
    """The legend: each message's fate, then the markers drawn, the red X, the tint, bands and lines."""
    handles = [Line2D([], [], color=_color(j), lw=1.3, linestyle=_style(number), marker="o", markersize=4,
                      label=f"message {j.id}: {j.fate}") for number, j in enumerate(journeys)]
    kinds = {step.kind for step in steps}
    for kind, words in MARKER_WORDS:
        if kind in kinds or (kind == "send" and "fetch" in kinds):
            handles.append(Line2D([], [], color="0.25", marker=MARKERS[kind], markersize=5, linestyle="none",
                                  markerfacecolor="white" if kind in HOLLOW else "0.25", label=words))
    handles.append(Line2D([], [], color=LOSS_MARK, marker="X", markersize=8, markeredgecolor="white",
                          linestyle="none", label="a copy is removed"))
    handles.append(Patch(color=LEADER_TINT, label="leader" if partition is None else f"leads partition {partition}"))
    handles.append(Patch(color=FAULT_COLOR, alpha=0.3, label="fault (numbered above)"))
    if any(item.kind == "election" for item in items):
        handles.append(Line2D([], [], color=ELECTION_COLOR, lw=0.9, linestyle="--", label="election"))
    if axis.skips:
        handles.append(Line2D([], [], color="0.7", lw=0.8, linestyle=(0, (1, 2)), label="time axis skips here"))
    return handles


def _path(journey, axis: TimeAxis, row: dict, offset: float) -> list[tuple[list[float], list[float]]]:
    """Where the message is, as line segments: it moves with its moves (send, batch, request, the leader's
    append, processing); a segment ends where its last copy is removed, and the last one runs on to the
    journey's last step."""
    segments: list[tuple[list[float], list[float]]] = []
    live: list[str] = []  # lanes holding a copy, oldest first
    here = None  # the lane the path is on
    for step in journey.steps:
        x_pos, lane = float(axis(step.t)), step.lane
        if step.kind in ("append", "copy") and lane not in live:
            live.append(lane)
        elif step.kind == "removed" and lane in live:
            live.remove(lane)
        if step.kind == "removed" and lane == here:
            # its copy here is gone: the path goes where one is left, or ends (gone from every log)
            lane = live[0] if live else lane
        elif step.kind in NOTICES or (here is None and step.kind not in MOVES):
            continue
        if here is None:
            segments.append(([], []))
        segments[-1][0].append(x_pos)
        segments[-1][1].append(row.get(lane, 0) + offset)
        here = None if step.kind == "removed" and not live else lane
    if not segments:  # nothing but news about it (a message followed from the middle of its life)
        first = journey.steps[0]
        return [([float(axis(first.t))], [row.get(first.lane, 0) + offset])]
    open_ = here is not None
    last = float(axis(journey.steps[-1].t))
    xs, ys = segments[-1]
    if open_ and xs[-1] < last:
        xs.append(last)  # it stays where it is to the end of the picture
        ys.append(ys[-1])
    return segments


def _notices(journey, axis: TimeAxis, row: dict, offset: float, segments):
    """(x, y, the path's y there) for every step drawn off the path."""
    points = [(x_pos, y_pos) for xs, ys in segments for x_pos, y_pos in zip(xs, ys, strict=True)]  # in time order
    out = []
    for step in journey.steps:
        x_pos, y_pos = float(axis(step.t)), row.get(step.lane, 0) + offset
        if (x_pos, y_pos) in points:
            continue
        during = [ys for xs, ys in segments if xs[0] <= x_pos <= xs[-1]]
        before = [py for px, py in points if px <= x_pos]
        out.append((x_pos, y_pos, before[-1] if during and before else y_pos))  # (none while it is in no log)
    return out


def _title(journeys) -> str:
    ids = ", ".join(str(j.id) for j in journeys)
    return f"the life of message{'s' if len(journeys) != 1 else ''} {ids}: where each one went, and its fate"


def _strip(ax, axis: TimeAxis, items) -> None:
    """Numbers above the lanes, one per happening listed (nearby ones alternate rows)."""
    last_x = -math.inf
    level = 0
    for number, item in enumerate(items[:MAX_KEY - 1] if len(items) > MAX_KEY else items, 1):
        x_pos = float(axis(item.t))
        level = 1 - level if x_pos - last_x < 0.6 else 0
        last_x = x_pos
        kind = item.kind
        ax.text(x_pos, 0.68 if level == 0 else 0.26, str(number), ha="center", va="center", fontsize=FONT - 0.5,
                bbox={"boxstyle": "round,pad=0.2", "fc": "0.93",
                      "ec": ELECTION_COLOR if kind == "election" else "black", "lw": 0.8})
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.tick_params(axis="x", which="both", labelbottom=False, length=0)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)

