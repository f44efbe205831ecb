"""Replica timeline: what each replica of one partition held, over one run, and where acked data went.

Per replica a lane: its log end offset (LEO), high watermark (HW) and on-disk offset, shaded while it
is down, out of the ISR or eligible (ELR), with a bar while it leads. Above the lanes a strip numbers
every fault, election and refused ISR change, listed in words under the lanes; a red X marks the
moment acknowledged records lost their last copy, on the lanes of the replicas that held them.
"""

from __future__ import annotations

from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..scenarios.catalog import CATALOG
from .story import Happening, caption, happenings, loss_happenings
from .style import FONT, new_figure, short

ROLE_BANDS = {"x": ("0.6", 0.5, "down"), "-": ("tab:red", 0.12, "out of the ISR"),
              "E": ("tab:olive", 0.2, "eligible leader replica (ELR)")}
LEADER_COLOR, LOSS_MARK = "tab:purple", "tab:red"
KIND_COLOR = {"fault": "black", "election": LEADER_COLOR, "isr": "tab:brown", "loss": LOSS_MARK}
KIND_LINE = {"fault": ":", "election": "--", "isr": "-.", "loss": "-"}
LANE_IN, STRIP_IN, KEY_LINE_IN = 1.15, 0.42, 0.165  # heights in inches
MAX_KEY = 30  # happenings listed under the lanes


def role_runs(samples, index: int):
    """(start, end, role) spans of one replica's role over the periodic samples."""
    runs = []
    for (t0, s0), (t1, _s1) in zip(samples, samples[1:], strict=False):
        role = s0[index].role
        if runs and runs[-1][2] == role and runs[-1][1] == t0:
            runs[-1][1] = t1
        else:
            runs.append([t0, t1, role])
    return runs


def draw_lane(ax, timeline, index: int) -> None:
    samples = timeline.samples
    times = [t for t, _s in samples]
    for series, color, style, label in (("leo", "tab:blue", "-", "LEO"), ("hw", "tab:green", "-", "HW"),
                                        ("disk", "tab:orange", "--", "on disk")):
        values = [getattr(states[index], series) for _t, states in samples]
        ax.step(times, values, where="post", color=color, linestyle=style, lw=1.2, label=label)
    for start, end, role in role_runs(samples, index):
        if role in ROLE_BANDS:
            color, alpha, _label = ROLE_BANDS[role]
            ax.axvspan(start, end, color=color, alpha=alpha, lw=0)
        elif role == "L":
            ax.axvspan(start, end, ymin=0.93, ymax=1.0, color=LEADER_COLOR, alpha=0.85, lw=0)
    ax.set_ylabel(f"broker {timeline.replicas[index]}\noffset", fontsize=FONT)
    ax.tick_params(labelsize=FONT - 0.5)


def draw_losses(lanes, timeline) -> None:
    """A red X at each loss, on every lane that held the lost records, over the offsets removed."""
    for mark in timeline.copies.losses() or []:
        before, after = timeline.rows[max(0, mark.row - 1)][2], timeline.rows[mark.row][2]
        for replica in mark.holders:
            lane = timeline.replicas.index(replica)
            top, bottom = before[lane].leo, after[lane].leo
            lanes[lane].plot([mark.t, mark.t], [bottom, max(top, bottom)], color=LOSS_MARK, lw=3, alpha=0.8)
            lanes[lane].plot([mark.t], [max(top, bottom)], marker="X", markersize=9, color=LOSS_MARK,
                          markeredgecolor="white", linestyle="none")


def number_clusters(items, span: float) -> list[tuple[float, str, str]]:
    """Numbers for the strip: happenings closer than 4% of the time span share one label ('3-5')."""
    out, group = [], []

    def flush():
        if group:
            first, last = group[0][0], group[-1][0]
            text = str(first) if first == last else f"{first}-{last}"
            kinds = {h.kind for _n, h in group}
            out.append((group[0][1].t, text, "loss" if "loss" in kinds else group[0][1].kind))

    for number, item in enumerate(items, 1):
        if group and item.t - group[0][1].t > 0.04 * span:
            flush()
            group = []
        group.append((number, item))
    flush()
    return out


def draw_strip(ax, items, span: float) -> None:
    labels = number_clusters(items, span)
    for pos, (at, text, kind) in enumerate(labels):
        crowded = pos > 0 and at - labels[pos - 1][0] < 0.1 * span
        y_pos = 0.28 if crowded and pos % 2 else 0.68
        ax.text(at, y_pos, text, ha="center", va="center", fontsize=FONT - 0.5,
                color="white" if kind == "loss" else "black",
                bbox={"boxstyle": "round,pad=0.2", "fc": LOSS_MARK if kind == "loss" else "0.93",
                      "ec": KIND_COLOR[kind], "lw": 0.8})
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelbottom=False, length=0)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def draw_key(ax, items, lines: int) -> None:
    ax.set_axis_off()
    ax.set_ylim(lines, 0)
    ax.set_xlim(0, 1)
    for row, item in enumerate(items):
        ax.text(0.0, row + 0.5, f"{row + 1:>2}  {item.t:8.3f} s   {short(item.text, 96)}", fontsize=FONT - 0.5,
                va="center", family="monospace", color=LOSS_MARK if item.kind == "loss" else "0.1")


def story(timeline) -> list:
    """The labelled happenings, in time order, at most MAX_KEY (then a last line says how many more)."""
    items = sorted(happenings(timeline) + loss_happenings(timeline), key=lambda h: h.t)
    if len(items) > MAX_KEY:
        rest = len(items) - MAX_KEY + 1
        items = items[: MAX_KEY - 1] + [Happening(items[MAX_KEY - 1].t, "fault",
                                                  f"... and {rest} more (ReplicaTimeline.to_text() lists them)")]
    return items


def draw_column(fig, timeline, result, title: str, key_lines: int, top: float) -> None:
    """One run's timeline into `fig` (a Figure or SubFigure)."""
    items = story(timeline)
    replicas = len(timeline.replicas)
    axes = fig.subplots(replicas + 2, 1,
                        height_ratios=[STRIP_IN] + [LANE_IN] * replicas + [KEY_LINE_IN * max(1, key_lines)],
                        gridspec_kw={"hspace": 0.08})
    strip, lanes, key = axes[0], list(axes[1:-1]), axes[-1]
    end = timeline.samples[-1][0] if timeline.samples else 1.0
    for ax in [strip] + lanes[:-1]:
        ax.sharex(lanes[-1])
    lanes[-1].set_xlim(0, end)
    for ax in [strip] + lanes:
        for item in items:
            ax.axvline(item.t, color=KIND_COLOR[item.kind], linestyle=KIND_LINE[item.kind], lw=0.7, alpha=0.7)
    for lane, ax in enumerate(lanes):
        draw_lane(ax, timeline, lane)
        ax.set_ylim(-0.03 * top, top * 1.1 + 1)
        if lane < replicas - 1:
            ax.tick_params(axis="x", labelbottom=False)
    draw_losses(lanes, timeline)
    lanes[-1].set_xlabel("time (s)", fontsize=FONT)
    draw_strip(strip, items, end)
    strip.set_title(f"{title}\n{caption(timeline, result)}", fontsize=FONT + 0.5)
    draw_key(key, items, max(1, key_lines))


def legend_handles() -> list:
    handles = [Line2D([], [], color="tab:blue", lw=1.2, label="LEO (log end)"),
               Line2D([], [], color="tab:green", lw=1.2, label="HW (committed)"),
               Line2D([], [], color="tab:orange", lw=1.2, linestyle="--", label="on disk"),
               Patch(color=LEADER_COLOR, alpha=0.85, label="leader (bar)")]
    handles += [Patch(color=color, alpha=min(1, 2 * alpha), label=label) for color, alpha, label in ROLE_BANDS.values()]
    handles += [Line2D([], [], color=KIND_COLOR[k], linestyle=KIND_LINE[k], lw=0.9, label=label) for k, label in
                (("fault", "fault"), ("election", "election"), ("isr", "ISR change, fencing"))]
    handles.append(Line2D([], [], color=LOSS_MARK, marker="X", markersize=8, linestyle="none",
                          label="acknowledged records lose their last copy"))
    return handles


def _key_lines(timeline) -> int:
    return len(story(timeline))


def _top(timelines) -> float:
    return max([s.leo for tl in timelines for _t, states in tl.samples for s in states] + [1])


def timeline_figure(timeline, result, title: str = ""):
    """One run's replica timeline (a ReplicaTimeline after its run, and that run's RunResult)."""
    lines = _key_lines(timeline)
    replicas = len(timeline.replicas)
    fig = new_figure(8.5, STRIP_IN + LANE_IN * replicas + KEY_LINE_IN * max(1, lines) + 1.5)
    draw_column(fig, timeline, result, title or f"replica timeline of partition {timeline.p}", lines,
                _top([timeline]))
    fig.legend(handles=legend_handles(), loc="outside lower center", ncols=5, fontsize=FONT - 0.5, frameon=False)
    return fig


def scenario_figure(name: str, runs):
    """Both variants of a named scenario side by side, on the same offset scale."""
    timelines = [r.timeline for r in runs]
    lines = max(_key_lines(tl) for tl in timelines)
    replicas = len(timelines[0].replicas)
    fig = new_figure(8.0 * len(runs), STRIP_IN + LANE_IN * replicas + KEY_LINE_IN * max(1, lines) + 1.8)
    top = _top(timelines)
    for sub, run in zip(fig.subfigures(1, len(runs)), runs, strict=True):
        draw_column(sub, run.timeline, run.result, run.label, lines, top)
    scenario = CATALOG[name]
    fig.suptitle(f"{scenario.name}: {scenario.title}", fontsize=FONT + 2)
    fig.legend(handles=legend_handles(), loc="outside lower center", ncols=5, fontsize=FONT - 0.5, frameon=False)
    return fig
