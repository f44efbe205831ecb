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
    assert stages == ["producer"] * 3 + ["broker"] * 3 + ["consumer"] * 2
    assert (tmp_path / "res" / "demo" / "demo.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "res" / "demo" / "rows.csv").read_text().splitlines()) == 1 + 8


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
