"""Reproducibility (design.md, "Randomness and reproducibility"): the same config and the same seed give
byte-identical results -- in one process, across processes, with faults -- and the model reads no wall
clock and no global random number generator. Only `wall_s` (the measured run time) may differ.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from sim.config import load_config
from sim.result import RunResult
from sim.run import run_once, simulate

# Small, but touching every random stream: Poisson arrivals, lognormal network delays with packet
# loss (retries), three partitions, consumer processing times.
SMALL = """
[cluster]
brokers = 3

[topic]
partitions = 3
"replication.factor" = 3
"min.insync.replicas" = 2

[network]
"packet.loss" = 0.002

[workload]
duration = 3
rate = 500

[sim]
seed = 7
"""

# A leader crash (3 brokers, replication factor 3) and a consumer crash after the new leader took over.
FAULTS = """
[cluster]
brokers = 3

[topic]
partitions = 1
"replication.factor" = 3
"min.insync.replicas" = 2

[producer]
acks = "all"

[workload]
duration = 16
rate = 300

[sim]
seed = 11

[[faults]]
at = 3
action = "crash"
target = "leader"
duration = 8

[[faults]]
at = 14
action = "consumer_crash"
duration = 2
"""


def scenario(tmp_path, text: str, name: str = "scenario.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def without_wall(data: dict) -> dict:
    data = dict(data)
    assert "wall_s" in data
    del data["wall_s"]
    return data


def json_without_wall_line(text: str) -> str:
    lines = text.splitlines(keepends=True)
    wall = [line for line in lines if line.lstrip().startswith('"wall_s"')]
    assert len(wall) == 1, "expected the indented JSON to hold wall_s on a line of its own"
    return "".join(line for line in lines if line not in wall)


def assert_identical(a: RunResult, b: RunResult) -> None:
    assert without_wall(a.data) == without_wall(b.data)
    assert json_without_wall_line(a.to_json()) == json_without_wall_line(b.to_json())


def kafkasim_json(cwd, *args: str, hashseed: str) -> str:
    """`python -m sim run ARGS --json -` in a fresh interpreter; the JSON text it printed."""
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", *args, "--json", "-"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ------------------------------------------------------------------------------ same seed


def test_same_config_and_seed_give_identical_results_in_process(tmp_path):
    cfg = load_config(scenario(tmp_path, SMALL))
    first, second = run_once(cfg), run_once(cfg)
    assert first["sent"] > 0
    assert_identical(first, second)


def test_a_reloaded_config_gives_the_identical_result(tmp_path):
    path = scenario(tmp_path, SMALL)
    assert_identical(run_once(load_config(path)), run_once(load_config(path)))


def test_same_scenario_and_seed_give_identical_json_across_processes(tmp_path):
    scenario(tmp_path, SMALL)
    # different hash seeds: any dependence on set/dict-of-str iteration order would show
    first = kafkasim_json(tmp_path, "scenario.toml", "--seed", "3", hashseed="1")
    second = kafkasim_json(tmp_path, "scenario.toml", "--seed", "3", hashseed="2")
    assert without_wall(json.loads(first)) == without_wall(json.loads(second))
    assert json_without_wall_line(first) == json_without_wall_line(second)
    # and the command line computes what the library computes
    in_process = run_once(load_config(tmp_path / "scenario.toml", seed=3))
    assert json_without_wall_line(in_process.to_json()) == json_without_wall_line(first)


def test_a_run_with_a_leader_crash_and_a_consumer_crash_is_deterministic(tmp_path):
    cfg = load_config(scenario(tmp_path, FAULTS))
    first, second = run_once(cfg), run_once(cfg)
    # the faults really happened: a new leader was elected and the consumer restarted once
    assert [f[1] for f in first["faults"]] == ["crash", "consumer_crash"]
    assert first["brokers"]["elections"] >= 1
    assert first["consumer"]["restarts"] == 1
    assert_identical(first, second)


def test_a_run_with_faults_is_deterministic_across_processes(tmp_path):
    scenario(tmp_path, FAULTS)
    first = kafkasim_json(tmp_path, "scenario.toml", hashseed="0")
    second = kafkasim_json(tmp_path, "scenario.toml", hashseed="12345")
    assert json_without_wall_line(first) == json_without_wall_line(second)
    assert without_wall(json.loads(first)) == without_wall(json.loads(second))


# ------------------------------------------------------------------------- different seeds


def test_a_different_seed_gives_different_results(tmp_path):
    cfg = load_config(scenario(tmp_path, SMALL))
    a, b = run_once(cfg), run_once(cfg.replace({"sim.seed": 8}))
    assert a["seed"] == 7 and b["seed"] == 8
    # Poisson arrivals and random network delays: the number sent or the latencies differ
    assert (a["sent"], a["latency"]) != (b["sent"], b["latency"])
    # ...while the configuration, apart from the seed, is the same
    assert {k: v for k, v in a["config"].items() if k != "sim.seed"} == \
           {k: v for k, v in b["config"].items() if k != "sim.seed"}


def test_replications_differ_by_spawn_key_and_each_is_reproducible(tmp_path):
    cfg = load_config(scenario(tmp_path, SMALL))
    one, two = run_once(cfg, spawn_key=(1,)), run_once(cfg, spawn_key=(2,))
    assert (one["sent"], one["latency"]) != (two["sent"], two["latency"])
    assert_identical(one, run_once(cfg, spawn_key=(1,)))


# --------------------------------------------------------------- no global RNG, no wall clock


def test_the_global_random_generators_do_not_influence_a_run(tmp_path):
    cfg = load_config(scenario(tmp_path, FAULTS))
    random.seed(1)
    np.random.seed(1)
    first = run_once(cfg)
    random.seed(987654321)
    np.random.seed(2**32 - 1)
    random.random(), np.random.random(1000)  # move the global streams along as well
    second = run_once(cfg)
    assert_identical(first, second)


def test_a_run_does_not_draw_from_the_global_random_generators(tmp_path):
    cfg = load_config(scenario(tmp_path, SMALL))
    random.seed(5)
    np.random.seed(5)
    py_state, np_state = random.getstate(), np.random.get_state()
    run_once(cfg)
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]


def test_the_model_never_reads_the_wall_clock(tmp_path, monkeypatch):
    cfg = load_config(scenario(tmp_path, FAULTS))
    reference = run_once(cfg)

    def no_clock(*_args, **_kwargs):
        raise AssertionError("the model read the wall clock")

    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
                 "process_time", "process_time_ns", "thread_time", "thread_time_ns"):
        monkeypatch.setattr(time, name, no_clock)
    # run_once itself measures wall_s; the model underneath it is simulate() + the accounting
    cluster = simulate(cfg)
    result = RunResult.from_cluster(cluster, wall_s=0.0)
    monkeypatch.undo()
    assert_identical(reference, result)


def test_the_default_scenario_is_reproducible_from_the_command_line_and_the_library(tmp_path):
    from sim.scenarios import default_path

    cfg = load_config(default_path())
    library = run_once(cfg)
    command_line = kafkasim_json(tmp_path, hashseed="99")
    assert json_without_wall_line(library.to_json()) == json_without_wall_line(command_line)


@pytest.mark.parametrize("seed", [0, 2**63 - 1])
def test_extreme_seeds_are_reproducible(tmp_path, seed):
    cfg = load_config(scenario(tmp_path, SMALL), seed=seed)
    first, second = run_once(cfg), run_once(cfg)
    assert first["seed"] == seed
    assert_identical(first, second)
