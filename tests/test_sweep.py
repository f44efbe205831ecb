"""Sweeps: the same numbers on every executor, resumable after a kill, one-line errors."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from sim.experiment.estimate import estimate
from sim.experiment.executors import InProcessExecutor, make_executor
from sim.experiment.sweep import experiment_from_dict, run_sweep

EXPERIMENT = """
[experiment]
name = "tiny"
replications = 4
batch = 2
seed = 7

[base]
"cluster.brokers" = 3
"topic.replication.factor" = 3
"workload.duration" = 3
"workload.rate" = 300

[[base.faults]]
at = 1
action = "crash"
target = "leader"
duration = 1

[grid]
"producer.acks" = ["0", "all"]
"""


def tiny(**head):
    import tomllib
    return experiment_from_dict(tomllib.loads(EXPERIMENT), **head)


def comparable(rows):
    """Rows without wall time, in a fixed order."""
    return sorted(tuple((k, v) for k, v in sorted(r.items()) if k != "wall_s") for r in rows)


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    run_sweep(tiny(), out_dir=out, executor=InProcessExecutor(), progress=False)
    return read_rows(out / "tiny" / "rows.csv")


def test_a_sweep_writes_one_row_per_replication_with_factor_columns(reference):
    assert len(reference) == 2 * 4
    assert {r["producer.acks"] for r in reference} == {"0", "all"}
    assert sorted((int(r["point"]), int(r["rep"])) for r in reference) == [(p, r) for p in (0, 1) for r in range(4)]


@pytest.mark.parametrize("jobs, scheduler", [(2, None), (2, "local")])
def test_every_executor_gives_the_same_numbers(tmp_path, reference, jobs, scheduler):
    if scheduler:
        pytest.importorskip("distributed")
    with make_executor(jobs, scheduler) as pool:
        run_sweep(tiny(), out_dir=tmp_path, executor=pool, progress=False)
    assert comparable(read_rows(tmp_path / "tiny" / "rows.csv")) == comparable(reference)


def test_resume_repairs_a_torn_line_and_recomputes_only_what_is_missing(tmp_path, reference):
    exp = tiny()
    run_sweep(exp, out_dir=tmp_path, executor=InProcessExecutor(), progress=False)
    rows_path = tmp_path / "tiny" / "rows.csv"
    lines = rows_path.read_text().splitlines(keepends=True)
    # keep the header, the first task's two rows, one row of the second task, and half a line
    rows_path.write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    calls = []

    class Counting(InProcessExecutor):
        def submit(self, fn, *args, **kwargs):
            calls.append(args[1:3])
            return super().submit(fn, *args, **kwargs)
    run_sweep(exp, out_dir=tmp_path, executor=Counting(), resume=True, progress=False)
    rows = read_rows(rows_path)
    assert comparable(rows) == comparable(reference)
    assert len(calls) == 3  # 4 tasks, the first was complete
    assert not rows_path.read_text().endswith(",\n") and rows_path.read_text().endswith("\n")


def test_killed_sweep_resumes_without_losing_or_repeating_anything(tmp_path, reference):
    exp_file = tmp_path / "tiny.toml"
    exp_file.write_text(EXPERIMENT)
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp_file), "--jobs", "1", "--no-progress", "--out", "out"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_path = tmp_path / "out" / "tiny" / "rows.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if rows_path.exists() and len(rows_path.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(read_rows(rows_path)) < 8  # killed part way
    out = subprocess.run(cmd + ["--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert comparable(read_rows(rows_path)) == comparable(reference)
    assert (tmp_path / "out" / "tiny" / "rates.png").exists()


def test_a_new_sweep_refuses_to_overwrite_results(tmp_path):
    exp_file = tmp_path / "tiny.toml"
    exp_file.write_text(EXPERIMENT.replace("replications = 4", "replications = 2"))
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp_file), "--jobs", "1", "--no-progress", "--out", "out"]
    assert subprocess.run(cmd, cwd=tmp_path, capture_output=True).returncode == 0
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize("text, fragment", [
    (EXPERIMENT.replace('"producer.acks" = ["0", "all"]', '"producer.acks" = ["0", "2"]'), "point 1"),
    (EXPERIMENT.replace("replications = 4", "replications = 0"), "experiment.replications"),
    (EXPERIMENT.replace('name = "tiny"', 'nam = "tiny"'), "experiment.nam"),
    (EXPERIMENT + "\n[[points]]\n\"producer.acks\" = \"1\"\n", "either [grid] or [[points]]"),
    ("[experiment\n", "malformed TOML"),
])
def test_bad_experiment_files_are_one_line_errors(tmp_path, text, fragment):
    exp_file = tmp_path / "bad.toml"
    exp_file.write_text(text)
    out = subprocess.run([sys.executable, "-m", "sim", "sweep", str(exp_file), "--jobs", "1", "--out", "out"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 2 and fragment in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "out").exists()


def test_estimate_stops_at_the_relative_error_or_the_replication_count():
    from simtest import config
    cfg = config(workload__duration=3, workload__rate=300, producer__acks="0", topic__replication__factor=3,
                 faults=[{"at": 1, "action": "crash", "target": "leader", "duration": 1}],
                 network__latency__distribution="lognormal")
    fixed = estimate(cfg, replications=3, jobs=1)
    assert fixed["runs"] == 3 and fixed["stopped_because"] == "replications"
    loose = estimate(cfg, rel_error=10.0, jobs=1)
    assert loose["stopped_because"] == "relative error reached" and loose["runs"] >= 2
    assert estimate(cfg, replications=3, jobs=1)["silent_loss"] == fixed["silent_loss"]  # deterministic


def test_estimate_to_a_relative_error_of_a_run_that_loses_nothing_stops_with_an_upper_bound():
    # acks=all, RF 3, no faults: nothing is lost, so no relative error can be reached; after
    # max(30, 3 / 0.05) = 60 replications without a loss the estimate stops and says why
    from simtest import config
    cfg = config(workload__duration=0.2, workload__rate=100, topic__replication__factor=3)
    result = estimate(cfg, rel_error=0.05, jobs=1)
    assert result["runs"] == 60 and result["silent_loss"]["rate"] == 0
    assert result["stopped_because"].startswith("bound reached: no silent_loss in 60 replications")


def test_rows_are_also_written_as_parquet(tmp_path, reference):
    import pandas as pd

    run_sweep(tiny(), out_dir=tmp_path, executor=InProcessExecutor(), progress=False)
    table = pd.read_parquet(tmp_path / "tiny" / "rows.parquet")
    assert len(table) == len(reference) and list(table.columns) == list(reference[0].keys())
    assert table["sent"].tolist() == [int(r["sent"]) for r in read_rows(tmp_path / "tiny" / "rows.csv")]


def test_rows_split_every_outcome_class_by_stage():
    from sim import api
    from sim.experiment.replicate import STAGE_COLUMNS, replication_row
    from sim.ledger import CLASSES

    faults = [{"at": 2, "action": "power_loss", "target": "leader", "duration": 1},
              {"at": 3, "action": "consumer_crash", "duration": 1}]
    rows = [replication_row(api.run(overrides={"workload.duration": 5, "producer.acks": acks, "faults": faults,
                                               "topic.min.insync.replicas": 1})) for acks in ("0", "1")]
    for row in rows:
        for cls in CLASSES:
            if cls != "delivered":
                assert sum(row[c] for c in STAGE_COLUMNS if c.startswith(cls + "_")) == row[cls], cls
        assert row["lost_acked_broker"] == row["silent_broker"]
    assert sum(r["lost_acked"] for r in rows) > 0 and sum(r["duplicated"] for r in rows) > 0  # something to split


@pytest.mark.parametrize("signum, seed", [(signal.SIGKILL, 1), (signal.SIGTERM, 2), (signal.SIGINT, 3)])
def test_a_sweep_signalled_at_a_random_moment_leaves_no_worker_and_resumes_row_for_row(tmp_path, reference, signum,
                                                                                         seed):
    import random

    import psutil

    exp_file = tmp_path / "tiny.toml"
    exp_file.write_text(EXPERIMENT)
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp_file), "--jobs", "2", "--no-progress", "--out", "out"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_path = tmp_path / "out" / "tiny" / "rows.csv"
    rows_before = random.Random(seed).randint(0, 5)  # rows written when the signal comes (of 8)
    parent = psutil.Process(proc.pid)
    workers = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        workers |= {p.pid for p in parent.children(recursive=True)}
        written = len(rows_path.read_text().splitlines()) - 1 if rows_path.exists() else -1
        if written >= rows_before and len(workers) >= 2:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signum)
    code = proc.wait(30)
    assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 130)
    alive = [pid for pid in workers if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    end = time.monotonic() + 10  # a worker of a SIGKILLed sweep notices its parent is gone within 0.5 s
    while alive and time.monotonic() < end:
        time.sleep(0.1)
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert workers and not alive, alive  # no orphaned pool worker
    out = subprocess.run(cmd + ["--resume"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert comparable(read_rows(rows_path)) == comparable(reference)
