"""The experiment scripts run in quick mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_acks_under_leader_failure_quick():
    out = subprocess.run([sys.executable, str(ROOT / "experiments" / "acks_under_leader_failure.py"),
                          "--seeds", "2", "--quick"], capture_output=True, text=True, check=True, cwd=ROOT)
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    assert set(rows) == {"0", "1", "all"}
    sent = {acks: int(r[2]) for acks, r in rows.items()}
    assert len(set(sent.values())) == 1  # the same workload for every setting (common random numbers)
    assert int(rows["all"][3]) == 0  # acks=all with RF 3 and min.insync.replicas 2 loses nothing acked
    assert int(rows["0"][3]) > 0  # acks=0 loses what was in flight to the dying leader


def test_demo_quick_prints_all_three_stages_and_saves_a_plot(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sim", "demo", "--quick", "--replications", "1", "--jobs", "1",
                          "--out", str(tmp_path / "res")], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    stages = [line.split()[0] for line in lines if line.split() and line.split()[0] in ("producer", "broker",
                                                                                          "consumer")]
    assert stages == ["producer"] * 3 + ["broker"] * 3 + ["consumer"] * 4
    assert (tmp_path / "res" / "demo" / "demo.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "res" / "demo" / "rows.csv").read_text().splitlines()) == 1 + 10


def test_every_experiment_file_loads_and_runs_at_a_tiny_size(tmp_path):
    from sim.experiment.executors import InProcessExecutor
    from sim.experiment.sweep import load_experiment, run_sweep

    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert {f.stem for f in files} >= {"producer_stage", "broker_stage", "tradeoff"}
    for f in files:
        exp = load_experiment(f, replications=1)
        assert len(exp.points) >= 3 and exp.description
        exp.base["workload.duration"] = 2
        exp.points = exp.points[:2]
        results = run_sweep(exp, out_dir=tmp_path, executor=InProcessExecutor(), progress=False)
        assert [e["estimate"]["runs"] for e in results.values()] == [1, 1]


def test_the_python_api_matches_the_command_line_functions():
    from sim import api
    from sim.run import run_once

    r = api.run(overrides={"workload.duration": 3, "faults": []})
    assert r.data["outcomes"] == run_once(api.config(overrides={"workload.duration": 3, "faults": []})).outcomes
    est = api.estimate(overrides={"workload.duration": 2, "faults": []}, replications=2, jobs=1)
    assert est["runs"] == 2 and est["silent_loss"]["upper_bound_only"]
    unsafe, safe = api.scenario("kip101-hw-truncation")
    assert unsafe.result.outcomes["lost_acked"] == 1 and safe.result.outcomes["lost_acked"] == 0


def test_consumer_commit_strategies_quick(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "experiments" / "consumer_commit_strategies.py"),
                          "--seeds", "1", "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    lines = out.stdout.splitlines()
    rows = {}
    for line in lines[1:-1]:
        label, numbers = line[:22].strip(), line[22:].split()
        runs, sent, lost, dup, delivered, failed = map(int, numbers[:6])
        rows[label] = {"sent": sent, "lost": lost, "dup": dup, "throughput": float(numbers[6])}
    assert list(rows) == ["auto", "auto hand-off", "sync", "async", "async+sync", "async+sync-processed",
                          "per-record"]
    assert len({r["sent"] for r in rows.values()}) == 1  # the same workload and faults for every strategy
    # the seed article: auto commit acknowledges handed-off records before they are processed, a crash
    # loses them; the hybrid (commitAsync in the loop, commitSync on error) does not lose on a crash and
    # re-reads less than auto commit's last five seconds
    assert rows["auto hand-off"]["lost"] > 10 * max(1, rows["async+sync"]["lost"])
    assert rows["async+sync"]["dup"] < rows["auto"]["dup"]
    # its gap: commitSync() of the positions after an error mid-batch skips the unprocessed rest
    assert rows["async+sync"]["lost"] > 0
    # committing the processed offsets closes it; so do the strategies that commit only after processing
    for label in ("async+sync-processed", "sync", "async", "per-record"):
        assert rows[label]["lost"] == 0, label
    assert rows["async+sync-processed"]["dup"] <= rows["async+sync"]["dup"]
    # committing every record costs a round trip per record
    assert rows["per-record"]["throughput"] < 0.6 * rows["async+sync"]["throughput"]
    assert (tmp_path / "table.csv").read_text().startswith("strategy,runs,sent,lost_skipped,duplicated")
    assert (tmp_path / "strategies.png").read_bytes()[:4] == b"\x89PNG"
