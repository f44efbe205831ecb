"""Following messages: a followed message's story and fate, the run it leaves unchanged, the swimlane.

The timeline: constant 1 ms links, acks=1, no linger. Broker 0 leads partition 0 and is cut off from
the other brokers and the controller at 1 s for 15 s (it still reaches its clients). m0 is sent at
0.5 s, before the cut: every replica has it. m1 (2.0 s) and m2 (3.0 s) are acknowledged by broker 0
alone; the controller elects broker 1 (9 s after broker 0's last heartbeat), and when the links heal
broker 0 truncates to the new leader's log: both are lost after their acknowledgement.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from matplotlib.patches import Polygon, Rectangle
from plotcheck import problems, texts_of

from sim.follow import MessageTracer, follow, pick_ids, run_followed
from sim.ledger import CLASSES
from sim.plots.swimlane import swimlane
from sim.run import run_once, simulate, start

from simtest import config

ROOT = Path(__file__).resolve().parents[1]
SENDS = [0.5, 2.0, 3.0]
CUT = {"at": 1.0, "action": "isolate", "target": "broker:0", "from": ["brokers", "controller"], "duration": 15}


def zombie(**overrides):
    return config(producer__acks="1", cluster__brokers=3, topic__replication__factor=3, producer__linger__ms=0,
                  workload__duration=30, faults=[CUT], **overrides)


@pytest.fixture(scope="module")
def followed():
    return run_followed(zombie(), [0, 1, 2], times=SENDS)


def steps(journey, kind):
    return [s for s in journey.steps if s.kind == kind]


def test_an_acknowledged_message_the_isolated_leader_truncates_is_lost_acked_by_truncation(followed):
    m1 = followed.journey(1)
    assert m1.fate == "lost_acked (lost_storage: truncation, broker stage)"
    assert (m1.outcome, m1.cause, m1.stage, m1.copies) == ("lost_acked", "lost_storage", "broker", 0)
    assert [s.t for s in steps(m1, "send")] == [2.0]
    (append,) = steps(m1, "append")  # only the cut-off leader ever has it
    assert append.lane == "broker 0" and append.t == pytest.approx(2.001) and "offset 1" in append.text
    (ack,) = steps(m1, "ack")
    assert ack.t == pytest.approx(2.002)  # one round trip after the send
    assert not steps(m1, "copy") and not steps(m1, "fetch") and not steps(m1, "hw")
    (removed,) = steps(m1, "removed")
    assert removed.lane == "broker 0" and 16.0 < removed.t < 17.0  # after the links heal at 16 s
    assert "truncated to offset 1" in removed.text  # to the new leader's log end
    story = m1.story(followed.happenings)
    assert "outcome: lost_acked (lost_storage: truncation, broker stage)" in story
    assert "partition 0: broker 1 becomes leader" in story  # the election between its ack and its removal
    assert story.index("broker 0 cut off from brokers and controller") < story.index("send()")  # still going on
    assert "1: lost_acked" in repr(followed) and "outcome: lost_acked" in followed._repr_html_()  # notebooks


def test_a_message_replicated_before_the_cut_is_delivered_and_its_commit_is_in_its_story(followed):
    m0 = followed.journey(0)
    assert m0.fate == "delivered (ok)" and m0.copies == 1
    assert [s.lane for s in steps(m0, "copy")] == ["broker 1", "broker 2"]
    (fetch,) = steps(m0, "fetch")
    (processed,) = steps(m0, "processed")
    assert steps(m0, "hw")[0].t <= fetch.t <= processed.t  # read only once the HW passed it
    assert steps(m0, "committed"), m0.story()
    order = [s.t for s in m0.steps]
    assert order == sorted(order)


def test_the_result_of_a_followed_run_is_the_result_of_the_same_run_unfollowed():
    cfg = config(producer__acks="1", workload__duration=6, workload__rate=400, topic__partitions=2,
                 faults=[{"at": 2.0, "action": "crash", "target": "leader", "duration": 2},
                         {"at": 4.0, "action": "consumer_crash", "duration": 1}])
    plain = run_once(cfg).data
    picked = follow(cfg)  # runs it twice: once to pick, once following
    assert len(picked.journeys) >= 2
    for data in (plain, picked.result.data):
        data.pop("wall_s")
    assert picked.result.data == plain
    assert picked.result.outcomes["duplicated"] > 0  # the consumer crash redelivered some
    assert {j.outcome for j in picked.journeys} >= {"duplicated", "delivered"}


def test_nothing_is_wrapped_unless_a_tracer_is_attached():
    cluster = start(zombie())
    seams = ("allocate", "ack", "fail_send", "mark_processed", "classify")
    assert not any(name in vars(cluster.ledger) for name in seams)
    assert "send" not in vars(cluster.network) and "append" not in vars(cluster.brokers[0].logs[0])
    MessageTracer(cluster, [0])
    assert all(name in vars(cluster.ledger) for name in seams)


def test_each_message_explained_alone_adds_up_to_the_run_s_causes():
    cfg = config(producer__acks="1", workload__duration=4, workload__rate=300,
                 faults=[{"at": 1.0, "action": "isolate", "target": "leader", "from": ["brokers", "controller"],
                          "duration": 2}, {"at": 2.5, "action": "consumer_crash", "duration": 0.5}])
    cluster = simulate(cfg)
    from sim.result import RunResult
    captured = {}
    classify = cluster.ledger.classify

    def keep(*args):
        captured["outcome"] = out = classify(*args)
        return out
    cluster.ledger.classify = keep
    result = RunResult.from_cluster(cluster, 0.0)
    outcome = captured["outcome"]
    counts: dict = {}
    for k in range(outcome.n):
        cls, cause, _stage = outcome.explain(k)
        assert cls == CLASSES[outcome.cls[k]]
        counts.setdefault(cls, {}).setdefault(cause, 0)
        counts[cls][cause] += 1
    assert counts == result["causes"]
    assert len(counts) >= 2


def test_default_ids_are_the_worst_outcome_first_and_others_sent_nearest_to_it():
    delivered, lost, dup = CLASSES.index("delivered"), CLASSES.index("lost_acked"), CLASSES.index("duplicated")
    cls = np.array([delivered, dup, delivered, lost, delivered, dup, lost, delivered], np.int8)
    send_t = np.array([0.0, 1.0, 2.0, 3.0, 3.1, 9.0, 9.5, 10.0])
    assert pick_ids(cls, send_t) == [3, 1, 4]  # the first lost; the duplicate and the delivered nearest to 3.0
    copies = np.array([1, 1, 0, 1, 1, 1, 1, 1])
    only_delivered = np.full(8, delivered, np.int8)
    assert pick_ids(only_delivered, send_t, copies) == [2, 1]  # a phantom read (processed, then gone) first


# -- the swimlane ------------------------------------------------------------------------------------
def test_swimlane_has_its_lanes_bands_and_fate_labels_and_no_text_overlaps(followed):
    fig = swimlane(followed)
    assert problems(fig) == []
    ax = fig.axes[1]
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == ["application", "accumulator", "sender", "broker 0", "broker 1", "broker 2", "disk", "consumer",
                     "commits"]
    bands = [p for p in ax.patches if isinstance(p, (Polygon, Rectangle)) and p.get_alpha() is not None
             and p.get_alpha() < 0.5]
    assert bands, "the isolation is a shaded band"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "message 1: lost_acked (lost_storage: truncation, broker stage)" in legend
    assert "message 0: delivered (ok)" in legend
    texts = texts_of(fig)
    assert any("broker 0 cut off from brokers and controller" in t for t in texts)  # the fault, listed
    assert any("broker 1 becomes leader" in t for t in texts)  # the election
    assert any(t.startswith("#1") and "lost_acked" in t for t in texts)  # the fate at the end of its line
    red_x = [line for line in ax.get_lines() if line.get_marker() == "X" and line.get_color() == "tab:red"]
    assert len(red_x) == 2  # m1 and m2 lose their only copy
    assert [t.get_text() for t in fig.axes[0].texts] == ["1", "2"]  # numbered above the lanes


def test_swimlane_runs_a_config_itself_and_leaves_the_backend_and_pyplot_alone(tmp_path):
    script = f"""
import sys, matplotlib
matplotlib.use("svg")
sys.path.insert(0, "tests")
from simtest import config
from sim.plots.swimlane import swimlane
fig = swimlane(config(workload__duration=2, workload__rate=50), ids=[3])
fig.savefig(r"{tmp_path / 's.png'}")
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules, [t.get_text() for t in fig.legends[0].get_texts()][0])
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(maxsplit=2) == ["svg", "False", "message 3: delivered (ok)\n"]
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


# -- the command line --------------------------------------------------------------------------------
SCENARIO = """
[cluster]
brokers = 3
[topic]
partitions = 1
"replication.factor" = 3
"min.insync.replicas" = 1
[producer]
acks = "1"
[workload]
duration = 20
rate = 100
[[faults]]
at = 5
action = "isolate"
target = "leader"
from = ["brokers", "controller"]
duration = 8
"""


def kafkasim(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=180)


def test_run_follow_prints_each_story_and_plot_draws_the_swimlane_beside_the_timeline(tmp_path):
    (tmp_path / "s.toml").write_text(textwrap.dedent(SCENARIO))
    proc = kafkasim("run", "s.toml", "--follow", "auto", "--plot", "t.png", "--json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["outcomes"]["lost_acked"] > 0
    assert "outcome: lost_acked (lost_storage: truncation, broker stage)" in proc.stdout
    assert "outcome: delivered (ok)" in proc.stdout
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "t-swimlane.png").read_bytes()[:4] == b"\x89PNG"
    again = kafkasim("run", "s.toml", "--json", "-", cwd=tmp_path)
    plain = json.loads(again.stdout)
    assert plain["outcomes"] == data["outcomes"]  # following changed nothing


def test_run_follow_with_ids_and_with_bad_ids(tmp_path):
    (tmp_path / "s.toml").write_text(textwrap.dedent(SCENARIO))
    proc = kafkasim("run", "s.toml", "--follow", "3,999999", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("message 3 (partition 0)")  # --quiet: no summary, the stories
    assert "message 999999: never sent" in proc.stdout
    for bad in ("x", "-1", "1,,a", "", str(2**40)):
        out = kafkasim("run", "s.toml", "--follow", bad, "--plot", "t.png", cwd=tmp_path)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "--follow" in out.stderr and "Traceback" not in out.stderr
        assert not (tmp_path / "t.png").exists()


def test_run_scenario_follow_follows_the_same_sends_in_both_variants(tmp_path):
    proc = kafkasim("run", "--scenario", "kip101-hw-truncation", "--follow", "auto", "--quiet", "--plot", "k.png",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    unsafe, safe = proc.stdout.split("unsafe variant, followed messages:")[1].split("\nsafe variant, followed messages:")
    # m2, acknowledged at 2.004 s, is truncated away by the restarted follower (KIP-101 scenario 1) ...
    assert "message 2 (partition 0)" in unsafe and "outcome: lost_acked (lost_storage: truncation, broker stage)" \
        in unsafe.split("message 2 (partition 0)")[1]
    # ... and kept with leader epochs
    assert "outcome: delivered (ok)" in safe.split("message 2 (partition 0)")[1].split("message ")[0]
    assert {p.name for p in tmp_path.iterdir()} == {"k.png", "k-unsafe-swimlane.png", "k-safe-swimlane.png"}


def test_the_compressed_time_axis_keeps_the_order_and_shortens_long_quiet_stretches():
    from sim.plots.swimlane import TimeAxis

    axis = TimeAxis([2.0, 2.001, 2.002, 12.002, 12.003])
    xs = axis(np.array([2.0, 2.001, 2.002, 12.002, 12.003]))
    assert list(xs) == sorted(xs) and len(set(xs)) == 5
    ms = xs[1] - xs[0]
    ten_s = xs[3] - xs[2]
    assert ms < ten_s < 20 * ms  # 10,000 times longer, drawn less than 20 times wider
    assert [round(gap, 3) for _x, gap in axis.skips] == [10.0]  # the one stretch marked as skipped
    assert axis(7.002) == pytest.approx((xs[2] + xs[3]) / 2)  # linear inside a stretch


def test_swimlane_of_a_crowded_scenario_still_has_no_overlapping_text():
    from sim.api import follow_scenario

    seen = follow_scenario("last-replica-standing")  # five faults and two elections around the journeys
    assert [j.outcome for j in seen.journeys] == ["lost_acked", "delivered"]
    assert seen.journeys[0].gone == "power loss"
    fig = seen.swimlane()
    assert problems(fig) == []
    key = [t.get_text() for t in fig.axes[2].texts]
    assert len(key) >= 6 and any("loses power" in line for line in key)


def test_a_lost_message_that_diverged_replicas_still_hold_says_so():
    # S3: message 1975 was acknowledged at offset 1900 in epoch 1; broker 2, elected, holds another record
    # there, brokers 0 and 1 still hold it. No replica removed it: not "never written" but "diverged".
    from sim.api import follow_scenario

    seen = follow_scenario("kip320-unfenced-fetch", ids=[1975])
    (journey,) = seen.journeys
    assert (journey.outcome, journey.cause, journey.gone) == ("lost_acked", "lost_storage", "diverged")
