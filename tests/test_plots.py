"""Pictures: the artists each one must have, and text that neither overlaps nor leaves the figure."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation
from plotcheck import problems, texts_of

from sim.experiment.summary import summarize
from sim.plots import breakdown_from_results, breakdown_from_runs, outcomes_figure, rates_figure, tradeoff_figure
from sim.plots.style import CLASS_COLORS, new_figure

ROOT = Path(__file__).resolve().parents[1]


def rows(silent, dup=None, sent=10_000, p99=5.0, stage="broker"):
    """Replication rows with the given silent losses (and duplicates) per run."""
    dup = dup or [0] * len(silent)
    out = []
    for rep, (lost, dups) in enumerate(zip(silent, dup, strict=True)):
        out.append({"rep": rep, "sent": sent, "silent_loss": lost, "lost_acked": lost, "failed_visible": 0,
                    "failed_silent": 0, "lost_unacked": 0, "duplicated": dups, "acked_missing": lost,
                    "any_silent_loss": int(lost > 0), "any_loss": int(lost > 0), "ack_p99_ms": p99,
                    f"silent_{stage}": lost, f"lost_acked_{stage}": lost, "duplicated_consumer": dups,
                    "wall_s": 0.1, "drained": 1})
    return out


def results(*points):
    """Sweep-shaped results from (label, rows) pairs."""
    return {i: {"point": {"producer.acks": label}, "estimate": summarize(r)} for i, (label, r) in enumerate(points)}


NOTHING = results(("0", rows([0] * 10, sent=95_000)), ("1", rows([0] * 10, sent=95_300)),
                  ("all", rows([0] * 10, sent=94_900)))
ACKS1_LOST = [40, 52, 61, 38, 47, 55, 49, 44, 50, 58]
MIXED = results(("0", rows([3, 0, 0, 5, 0, 0, 0, 0, 0, 1])), ("1", rows(ACKS1_LOST)),
                ("all", rows([0] * 10, dup=[10, 12, 9, 11, 10, 13, 8, 10, 11, 12], p99=40.0)))


def bound_arrows(ax):
    return [t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is not None and not t.get_text()]


def test_the_checker_finds_overlapping_and_clipped_text():
    fig = new_figure(4, 3, layout=None)
    ax = fig.subplots()
    ax.text(0.5, 0.5, "first label")
    ax.text(0.52, 0.52, "second label")
    ax.text(0.98, 0.1, "runs off the right edge of the figure", transform=fig.transFigure)
    found = problems(fig)
    assert any("overlap: 'first label' and 'second label'" in p for p in found)
    assert any("outside the figure" in p and "runs off" in p for p in found)


@pytest.mark.parametrize("case", [NOTHING, MIXED], ids=["nothing-lost", "mixed"])
def test_rates_figure_text_fits_and_labels_are_the_settings(case):
    fig = rates_figure(case, "title")
    assert problems(fig) == []
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["1  acks=0", "2  acks=1", "3  acks=all"]  # no stray "=" before a label


def test_nothing_lost_draws_bounds_on_a_fixed_span_of_whole_decades():
    fig = rates_figure(NOTHING)
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    decades = math.log10(hi / lo)
    assert decades >= 3 - 1e-9 and abs(decades - round(decades)) < 1e-9
    assert abs(math.log10(lo) - round(math.log10(lo))) < 1e-9
    bounds = [e["estimate"][m]["hi"] for e in NOTHING.values() for m in ("silent_loss", "duplicated")]
    assert all(lo < b < hi for b in bounds)
    assert len(bound_arrows(ax)) == 6  # 3 configurations x (silent loss, duplicates), each an upper bound
    assert not [line for line in ax.get_lines() if line.get_marker() == "o"]  # no dot: nothing was measured
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert 3 <= len(ticks) <= 7


def test_a_measured_rate_is_a_dot_with_its_interval_and_one_reaching_zero_is_dashed():
    fig = rates_figure(MIXED)
    ax = fig.axes[0]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 3  # silent loss of acks=0 and acks=1, duplicates of acks=all
    est = MIXED[0]["estimate"]["silent_loss"]
    assert est["lo"] == 0 and est["rate"] > 0
    dashed = [line for line in ax.get_lines() if line.get_linestyle() not in ("-", "None", "none")]
    assert len(dashed) == 1
    x = dashed[0].get_xdata()
    assert min(x) == pytest.approx(ax.get_xlim()[0]) and max(x) == pytest.approx(est["rate"])
    assert len(bound_arrows(ax)) == 3  # acks=0 and acks=1: no duplicates; acks=all: no silent loss


def test_tradeoff_labels_every_point_and_points_in_one_spot_share_a_label():
    same = results(("a", rows([0] * 10)), ("b", rows([0] * 10)), ("c", rows([5] * 10, p99=900.0)))
    fig = tradeoff_figure(same)
    assert problems(fig) == []
    numbers = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text())
    assert numbers == ["1,2", "3"]
    assert fig.axes[0].get_xscale() == "log"  # 5 ms to 900 ms


def test_outcomes_figure_stacks_each_class_in_its_stage():
    fig = outcomes_figure(*breakdown_from_results(MIXED), title="outcomes")
    assert problems(fig) == []
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["producer stage", "broker stage", "consumer stage"]
    producer, broker, consumer = fig.axes
    red = [p for p in broker.patches if isinstance(p, Rectangle) and p.get_facecolor()[:3] == _rgb("lost_acked")]
    assert len(red) == 2  # acks=0 and acks=1 lost records in the broker stage, acks=all none
    blue = [p for p in consumer.patches if p.get_facecolor()[:3] == _rgb("duplicated")]
    assert len(blue) == 1 and not producer.patches
    per_million = 1e6 * sum(ACKS1_LOST) / 100_000  # acks=1 lost 494 of 100,000 messages: 4,940 per million
    assert max(p.get_width() for p in red) == pytest.approx(per_million)
    assert "4,940" in texts_of(fig)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["duplicated", "lost_acked"]


def _rgb(cls):
    from matplotlib.colors import to_rgb
    return to_rgb(CLASS_COLORS[cls])


def test_outcomes_of_single_runs_count_messages():
    from sim import api

    runs = api.scenario("kip101-hw-truncation")
    fig = outcomes_figure(*breakdown_from_runs({r.label: r.result for r in runs}))
    assert problems(fig) == []
    broker = fig.axes[1]
    assert [p.get_width() for p in broker.patches] == [1]  # the unsafe side lost one acknowledged record
    assert fig.axes[0].get_xlabel() == "nothing in this stage"


def test_library_code_never_chooses_a_matplotlib_backend():
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        if path.name in ("cli.py", "__main__.py"):
            continue
        text = path.read_text()
        for needle in ("matplotlib.use(", "switch_backend(", "import matplotlib.pyplot", "from matplotlib import pyplot"):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def test_drawing_leaves_the_backend_and_pyplot_alone(tmp_path):
    script = f"""
import sys, matplotlib
matplotlib.use("svg")
from sim.scenarios.named import plot, run_named
from sim.experiment.report import plot as rates
from sim.experiment.sweep import experiment_from_dict, run_sweep
from sim.experiment.executors import InProcessExecutor
plot("kip101-hw-truncation", run_named("kip101-hw-truncation"), r"{tmp_path / 't.png'}")
exp = experiment_from_dict({{"experiment": {{"name": "x", "replications": 1}}, "base": {{"workload.duration": 1}},
                            "grid": {{"producer.acks": ["0", "all"]}}}})
rates(run_sweep(exp, out_dir=r"{tmp_path}", executor=InProcessExecutor(), progress=False), r"{tmp_path / 'r.png'}", "x")
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "False"]
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
