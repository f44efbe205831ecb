"""The built-in named scenarios: each loses acknowledged data on its unsafe side and none on its safe side."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim.scenarios.catalog import CATALOG
from sim.scenarios.named import report, run_named


@pytest.fixture(scope="module")
def runs():
    return {name: run_named(name) for name in CATALOG}


LOSS = [name for name, s in CATALOG.items() if s.contrast == "loss"]
DIVERGENCE = [name for name, s in CATALOG.items() if s.contrast == "divergence"]


@pytest.mark.parametrize("name", LOSS)
def test_unsafe_side_loses_acknowledged_data_and_safe_side_does_not(runs, name):
    unsafe, safe = (r.result for r in runs[name])
    assert unsafe["acked_missing_from_log"]["total"] > 0
    assert safe["acked_missing_from_log"]["total"] == 0
    assert safe.outcomes["lost_acked"] == 0
    for r in (unsafe, safe):
        assert sum(r.outcomes.values()) == r["sent"] and r["drained"]
        assert r.outcomes["unconsumed"] == 0
        assert r["brokers"]["diverged_records"] == 0


@pytest.mark.parametrize("name", DIVERGENCE)
def test_unsafe_side_leaves_replicas_diverged_and_safe_side_does_not(runs, name):
    unsafe, safe = (r.result for r in runs[name])
    assert unsafe["brokers"]["diverged_records"] > 0
    assert safe["brokers"]["diverged_records"] == 0
    for r in (unsafe, safe):
        assert sum(r.outcomes.values()) == r["sent"] and r["drained"]
        assert r.outcomes["unconsumed"] == 0


def test_every_scenario_says_what_tells_its_sides_apart():
    assert set(LOSS) | set(DIVERGENCE) == set(CATALOG) and DIVERGENCE


EXPECTED = {  # scenario -> (lost_acked on the unsafe side, phantom reads there, why); "any": not pinned
    "jepsen-2013": (None, 0, "unclean_election"),
    "kip101-hw-truncation": (1, 0, "truncation"),
    "kip101-divergence": (1, 0, "power_loss"),  # both sides: the divergence is what differs
    "kip320-unfenced-fetch": (15, 0, "diverged"),  # brokers 0 and 1 keep them, at offsets where 2 has others
    "kip903-stale-broker-epoch": (None, 0, "disk_failure"),
    "last-replica-standing": (29, 0, "power_loss"),
    "unclean-wrong-replica": (49, 0, "unclean_election"),
    "phantom-read": (0, None, "power_loss"),
    # the consumer read everything before the outage (all phantom reads); its committed offsets then lie
    # past the shortened logs, so it resets and skips some of what follows (lost_skipped)
    "correlated-power-outage": ("any", None, "power_loss"),
    "zombie-leader": (None, 0, "truncation"),
    "preferred-leader": (None, 0, "truncation"),
}


@pytest.mark.parametrize("name", list(CATALOG))
def test_the_unsafe_side_loses_for_the_documented_reason(runs, name):
    lost, phantom, why = EXPECTED[name]
    r = runs[name][0].result
    missing = r["acked_missing_from_log"]
    assert list(missing["by_cause"]) == [why]
    if lost == "any":
        assert r["causes"].get("lost_acked", {}).get("lost_storage", 0) == 0
    elif lost is not None:
        assert r.outcomes["lost_acked"] == lost
    else:
        assert r.outcomes["lost_acked"] == missing["total"] > 0
    if phantom is not None:
        assert missing["processed_before_loss"] == phantom
    else:
        assert missing["processed_before_loss"] == missing["total"]  # read, then lost: phantom reads


def test_every_scenario_is_listed_with_a_title_and_what_to_notice():
    for s in CATALOG.values():
        assert s.title and s.notice and s.source and s.unsafe.label and s.safe.label
        assert "\n" not in s.title


def test_report_shows_both_tables_and_a_timeline_per_variant(runs):
    text = report("last-replica-standing", runs["last-replica-standing"])
    assert "unsafe: no Eligible Leader Replicas" in text and "safe: Eligible Leader Replicas on" in text
    assert text.count("replica timeline of partition 0") == 2
    assert "elr election p0: broker 1" in text
    assert "what to notice:" in text


def kafkasim(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_lists_the_scenarios(tmp_path):
    out = kafkasim("scenarios", cwd=tmp_path)
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()[:len(CATALOG)]] == list(CATALOG)


def test_cli_runs_a_scenario_and_draws_its_timeline(tmp_path):
    out = kafkasim("run", "--scenario", "kip101-hw-truncation", "--plot", "t.png", "--json", "r.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "replica timeline of partition 0" in out.stdout
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import json
    data = json.loads((tmp_path / "r.json").read_text())
    assert [v["outcomes"]["lost_acked"] for v in data["variants"]] == [1, 0]


@pytest.mark.parametrize("args, fragment", [
    (["run", "--scenario", "last-replica"], "did you mean last-replica-standing"),
    (["run", "--plot", "nodir/x.png"], "does not exist"),
    (["run", "some.toml", "--scenario", "zombie-leader"], "either a scenario file or --scenario"),
    (["run", "--scenario", "zombie-leader", "--plot", "nodir/x.png"], "does not exist"),
])
def test_cli_scenario_bad_input(tmp_path, args, fragment):
    out = kafkasim(*args, cwd=tmp_path)
    assert out.returncode == 2 and fragment in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not any(tmp_path.iterdir())


SINGLE_PARTITION = [name for name in LOSS if CATALOG[name].base.get("topic.partitions", 3) == 1]


@pytest.mark.parametrize("name", SINGLE_PARTITION)
def test_the_timeline_finds_where_every_acknowledged_loss_happened(runs, name):
    unsafe, safe = runs[name]
    marks = unsafe.timeline.copies.losses()
    assert sum(m.count for m in marks) == unsafe.result["acked_missing_from_log"]["total"]
    for mark in marks:
        assert mark.t >= min(f[0] for f in unsafe.result["faults"])
        assert sum(mark.holders.values()) == mark.count
        assert unsafe.timeline.rows[mark.row][0] == mark.t
    assert safe.timeline.copies.losses() == []


def test_a_diverged_record_is_not_lost_from_every_replica(runs):
    unsafe, _safe = runs["kip101-divergence"]
    assert unsafe.result["acked_missing_from_log"]["total"] == 1
    assert unsafe.timeline.copies.losses() == []  # broker 0 still holds its copy, at an offset the leader reused
    from sim.plots.story import caption
    assert caption(unsafe.timeline, unsafe.result).startswith("the logs diverged: 1 record differs")


def _elections(result, partition=0):
    """Leader changes of the partition, from the run's own trace."""
    out, leader = [], None
    for t, kind, *rest in result["trace"]["events"]:
        if kind == "leader" and rest[0] == partition and rest[1] != leader:
            leader = rest[1]
            out.append((t, leader))
    return out


@pytest.mark.parametrize("name", ["last-replica-standing", "kip903-stale-broker-epoch", "kip101-divergence",
                                  "kip320-unfenced-fetch", "correlated-power-outage"])
def test_the_scenario_picture_labels_every_fault_election_and_loss(runs, name):
    from matplotlib.lines import Line2D
    from plotcheck import problems

    from sim.plots.timeline import scenario_figure

    fig = scenario_figure(name, runs[name])
    assert problems(fig) == []
    for sub, run in zip(fig.subfigs, runs[name], strict=True):
        strip, *lanes, key = sub.axes
        assert [ax.get_ylabel() for ax in lanes] == [f"broker {r}\noffset" for r in run.timeline.replicas]
        lines = [t.get_text() for t in key.texts]
        for t, action, _target, _targets in run.result["faults"]:
            assert any(f"{t:8.3f} s" in line for line in lines), (action, t)
        for t, leader in _elections(run.result):
            said = f"broker {leader} becomes leader" if leader is not None else "the partition is offline"
            assert any(f"{t:8.3f} s" in line and said in line for line in lines), (t, leader)
        marks = run.timeline.copies.losses()
        lost_lines = [line for line in lines if "lose" in line and "last copy" in line]
        assert len(lost_lines) == len(marks)
        crosses = [line for ax in lanes for line in ax.get_lines() if isinstance(line, Line2D) and line.get_marker() == "X"]
        assert len(crosses) == sum(len(m.holders) for m in marks)
        numbers = [t.get_text() for t in strip.texts]
        assert numbers[0].startswith("1") and numbers[-1].endswith(str(len(lines)))
        title = strip.get_title()
        if marks:
            assert f"{sum(m.count for m in marks):,} acknowledged record" in title
        elif not run.result["brokers"]["diverged_records"]:
            assert "nothing acknowledged was lost" in title


def test_cli_draws_the_timeline_of_a_plain_run_without_changing_its_result(tmp_path):
    import json

    args = ["run", "--set", "workload.duration=25", "--set", "workload.rate=300", "--json", "plain.json", "--quiet"]
    assert kafkasim(*args, cwd=tmp_path).returncode == 0
    out = kafkasim(*args[:-3], "--json", "drawn.json", "--plot", "t.png", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "replica timeline of partition 0 drawn to t.png" in out.stdout
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plain, drawn = (json.loads((tmp_path / f).read_text()) for f in ("plain.json", "drawn.json"))
    plain.pop("wall_s"), drawn.pop("wall_s")
    assert plain == drawn  # the probe only reads


def test_a_plain_run_timeline_picture_names_its_faults(tmp_path):
    from plotcheck import problems

    from sim import api
    from sim.plots import timeline_figure
    from sim.timeline import run_with_timeline

    result, timeline = run_with_timeline(api.config(overrides={"workload.duration": 25, "workload.rate": 300}))
    fig = timeline_figure(timeline, result, "default scenario")
    assert problems(fig) == []
    lines = [t.get_text() for t in fig.axes[-1].texts]
    assert any("8.000 s" in line and "(the leader) crashes" in line and "restarts after 10 s" in line for line in lines)
    assert any("becomes leader" in line for line in lines)
