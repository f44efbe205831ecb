"""The notebook API: HTML views and DataFrames of runs, estimates and sweeps; re-running a sweep."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sim import api
from sim.experiment.executors import InProcessExecutor
from sim.experiment.store import StoreError
from sim.experiment.summary import RATES
from sim.ledger import CLASSES, STAGES
from sim.result import RunResult

SHORT = {"workload.duration": 6, "workload.rate": 500,
         "faults": [{"at": 2, "action": "power_loss", "target": "leader", "duration": 1},
                    {"at": 3, "action": "consumer_crash", "duration": 1}]}
EXPERIMENT = {"experiment": {"name": "nb", "replications": 3, "batch": 2},
              "base": {"workload.duration": 2, "workload.rate": 300, "topic.replication.factor": 3, "faults": []},
              "points": [{"producer.acks": "0"}, {"producer.acks": "all", "topic.min.insync.replicas": 2}]}


@pytest.fixture(scope="module")
def run():
    return api.run(overrides={**SHORT, "producer.acks": "0", "topic.min.insync.replicas": 1})


def test_a_run_shows_its_outcome_table_durability_view_and_faults(run):
    html = run._repr_html_()
    for name in CLASSES:
        assert f">{name}<" in html
    assert f">{run.outcomes['duplicated']:,}<" in html and run.outcomes["duplicated"] > 0
    assert "durability view" in html and f">{run['acked_missing_from_log']['total']:,}<" in html
    assert "t=2s power_loss leader" in html
    assert "WARNING" not in html and "DIVERGED" not in html


def test_a_run_shows_its_flags():
    unsafe, _safe = api.scenario("kip101-divergence")
    assert "REPLICAS DIVERGED: 1 records" in unsafe.result._repr_html_()
    undrained = RunResult({**unsafe.result.data, "drained": False})
    assert "WARNING: the drain phase did not finish" in undrained._repr_html_()


def test_a_run_as_a_frame(run):
    frame = run.to_frame()
    assert list(frame.index) == list(CLASSES)
    assert frame["count"].to_dict() == run.outcomes and frame["count"].sum() == run["sent"]
    for stage in STAGES:
        assert {k: v for k, v in frame[stage].items() if v} == run["by_stage"][stage]
    assert frame["count"].dtype.kind == "i"
    assert frame.loc["duplicated", "causes"].startswith("dup_")


def test_an_estimate_is_still_its_dict_with_views_on_top():
    est = api.estimate(overrides={**SHORT, "producer.acks": "0", "topic.min.insync.replicas": 1}, replications=3,
                       jobs=1)
    assert json.loads(json.dumps(est))["runs"] == 3
    frame = est.to_frame()
    assert list(frame.index) == list(RATES)
    assert frame.loc["duplicated", "rate"] == est["duplicated"]["rate"] > 0
    rows = est.rows
    assert len(rows) == 3 and rows["sent"].sum() == est["messages"] and rows["sent"].dtype.kind == "i"
    html = est._repr_html_()
    assert "3 replications" in html and "silent_loss" in html


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return api.sweep(EXPERIMENT, out_dir=out, executor=InProcessExecutor(), progress=False), out


def test_sweep_rows_carry_every_points_settings_as_typed_values(sweep):
    result, _out = sweep
    rows = result.rows
    from sim.config import load_config
    default_min_isr = load_config(None, overrides={"topic.replication.factor": 3})["topic.min.insync.replicas"]
    by_point = rows.groupby("point")["topic.min.insync.replicas"].unique().to_dict()
    assert {p: list(v) for p, v in by_point.items()} == {0: [default_min_isr], 1: [2]}
    for key in ("producer.acks", "topic.min.insync.replicas", "workload.duration", "workload.rate",
                "topic.replication.factor"):
        assert rows[key].notna().all(), key
    for key in ("topic.min.insync.replicas", "topic.replication.factor", "sent", "lost_acked",
                "point", "rep"):
        assert rows[key].dtype.kind == "i", key
    assert len(rows) == 2 * 3


def test_sweep_frame_has_one_row_per_point_with_its_rates(sweep):
    result, _out = sweep
    frame = result.to_frame()
    assert list(frame.index) == [0, 1]
    assert list(frame["producer.acks"]) == ["0", "all"]
    assert frame.loc[1, "silent_loss_hi"] == result[1]["estimate"]["silent_loss"]["hi"]
    assert frame["runs"].tolist() == [3, 3] and frame["runs"].dtype.kind == "i"
    html = result._repr_html_()
    assert "acks=0" in html and "acks=all, min.insync.replicas=2" in html


def test_rerunning_a_sweep_needs_resume_or_overwrite(sweep):
    first, out = sweep
    with pytest.raises(StoreError, match="exist already"):
        api.sweep(EXPERIMENT, out_dir=out, executor=InProcessExecutor(), progress=False)
    calls = []

    class Counting(InProcessExecutor):
        def submit(self, fn, *args, **kwargs):
            calls.append(args[1:3])
            return super().submit(fn, *args, **kwargs)
    resumed = api.sweep(EXPERIMENT, out_dir=out, resume=True, executor=Counting(), progress=False)
    assert calls == [] and resumed[1]["estimate"] == first[1]["estimate"]
    again = api.sweep(EXPERIMENT, out_dir=out, overwrite=True, executor=Counting(), progress=False)
    assert len(calls) == 4  # 2 points x 2 batches, all run again
    assert again[0]["estimate"]["silent_loss"] == first[0]["estimate"]["silent_loss"]  # same seeds, same numbers
    assert len(again.rows) == 6  # replaced, not appended
    with pytest.raises(StoreError, match="exclude each other"):
        api.sweep(EXPERIMENT, out_dir=out, resume=True, overwrite=True, executor=InProcessExecutor(), progress=False)


EXPERIMENT_FILE = """
[experiment]
name = "tiny"
replications = 1
[base]
"workload.duration" = 1
[grid]
"producer.acks" = ["0", "all"]
"""


def test_cli_sweep_overwrite_and_its_bad_combination(tmp_path):
    exp_file = tmp_path / "tiny.toml"
    exp_file.write_text(EXPERIMENT_FILE)
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp_file), "--jobs", "1", "--no-progress", "--out", "out"]
    assert subprocess.run(cmd, cwd=tmp_path, capture_output=True).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out" / "tiny").iterdir()}
    assert {"rows.csv", "rates.png", "outcomes.png", "summary.txt"} <= set(before)
    bad = subprocess.run(cmd + ["--resume", "--overwrite"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and "--overwrite" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "out" / "tiny").iterdir()} == before  # nothing touched
    again = subprocess.run(cmd + ["--overwrite"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert len((tmp_path / "out" / "tiny" / "rows.csv").read_text().splitlines()) == 1 + 2


def test_demo_results_show_their_stages_and_labels(tmp_path):
    from sim.demo import experiment
    from sim.experiment.sweep import run_sweep

    exp, labels, stages = experiment(1, 1, quick=True)
    exp.points, labels, stages = exp.points[:2], labels[:2], stages[:2]
    exp.base["workload.duration"] = 2
    results = run_sweep(exp, out_dir=tmp_path, executor=InProcessExecutor(), progress=False)
    for i, entry in results.items():
        entry["label"], entry["stage"] = labels[i], stages[i]
    frame = results.to_frame()
    assert list(frame["label"]) == ["acks=0", "acks=1"] and set(frame["stage"]) == {"producer"}
    assert "producer: acks=0" in results._repr_html_()


def test_the_explorer_scales_its_faults_and_leaves_idempotence_to_kafka_by_default():
    from sim.explorer import Choices, overrides

    keys = overrides(Choices(acks="1", fault="followers fall behind, then the leader dies", duration_s=10))
    assert "producer.enable.idempotence" not in keys  # Kafka turns it off by itself with acks=1
    assert keys["faults"] == [{"at": 1.0, "action": "isolate", "target": "followers", "from": "brokers"},
                              {"at": 5.0, "action": "crash", "target": "leader", "duration": 3.0}]
    assert overrides(Choices(idempotence="off"))["producer.enable.idempotence"] is False
    assert overrides(Choices(commit="sync"))["consumer.enable.auto.commit"] is False


def test_the_explorer_runs_what_it_shows():
    from sim.explorer import explore

    result, figures = explore(acks="1", min_insync_replicas=1, unclean_election=True, duration_s=6,
                              fault="followers fall behind, then the leader dies")
    assert result["config"]["producer.acks"] == "1" and result["config"]["topic.min.insync.replicas"] == 1
    assert result.outcomes["lost_acked"] > 0  # the followers were behind: the new leader lacks what the old one acked
    assert len(figures) == 2
    key = [t.get_text() for t in figures[1].axes[-1].texts]  # the timeline's list of what happened
    assert any("3.000 s" in line and "(the leader) crashes" in line for line in key)


def test_the_explorer_widgets_build():
    from sim.explorer import explorer

    box = explorer()
    buttons = [w for w in box.children if getattr(w, "description", "") == "Run"]
    assert len(buttons) == 1
