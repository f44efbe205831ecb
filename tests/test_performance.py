"""A tripwire against performance regressions (see docs/performance.md for the targets)."""

from __future__ import annotations

import pytest

from sim.bench import bench


def test_simulated_messages_per_raw_simpy_event_stays_above_the_tripwire():
    # Measured 0.069-0.073 on the benchmark workload (docs/performance.md). The tripwire sits at well
    # under half of that, so a noisy machine does not fail it; the milestone (0.2) is not
    # reached yet, so it cannot be the bar here.
    r = bench(60_000)
    assert r["drained"]
    assert r["messages_per_raw_simpy_event"] > 0.03, r
    assert r["ledger_bytes_per_message"] <= 32
    # SimPy events per message do not depend on the machine: 0.748 when every produce response woke
    # the sender's loop, 0.678 once only responses that can change what it sends did, 0.629 since a
    # partitioner switch that makes nothing ready no longer wakes it either.
    assert r["events_per_message"] < 0.66, r["events_per_message"]


def test_many_partitions_do_not_multiply_the_cost_per_message():
    # Measured 1.4x for 600 vs 6 partitions (docs/performance.md; 10.9x before fetch sessions).
    # The bar is loose for a noisy machine, but far below the old walk-every-partition cost.
    few = bench(40_000)
    many = bench(40_000, {"topic.partitions": 600})
    per_message = [r["wall_s"] / r["messages"] for r in (few, many)]
    assert per_message[1] < 3.0 * per_message[0], per_message


def test_a_run_leaves_no_reference_cycles_behind_per_message():
    # Each reference cycle the model leaves (a parked produce request and its purgatory deadline
    # once did) is work for the cyclic garbage collector, which cost a quarter of the run time.
    # With the collector off, everything a run throws away must be freed by reference counting.
    import gc

    from sim.bench import DEFAULT
    from sim.config import load_config
    from sim.run import finish, start

    for extra in ({}, {"chaos.broker.crash.mtbf": 2, "producer.acks": "1", "consumer.enable.auto.commit": False}):
        cluster = start(load_config(overrides={**DEFAULT, **extra, "workload.duration": 1.5}))
        gc.collect()
        gc.disable()
        try:
            finish(cluster)
            assert cluster.ledger.n > 10_000
            assert gc.collect() < 200, extra  # a few per fault are fine, none per message
        finally:
            gc.enable()


def test_bench_command_caps_or_turns_off_the_trace(capsys):
    import json

    from sim.cli import main

    for limit, kept in ((0, 0), (3, 3)):
        assert main(["bench", "--workload", "bench", "--messages", "20000", "--trace-limit", str(limit),
                     "--json", "-"]) == 0
        r = json.loads(capsys.readouterr().out)
        assert r["workload"]["sim.trace.limit"] == limit
        assert r["trace_events"] == kept and r["trace_dropped"] > 0  # the faults of a 1 s run trace more than 3
        assert r["messages"] > 15_000 and r["drained"]


def test_bench_bad_arguments_are_one_line_and_exit_2(capsys):
    from sim.cli import main

    for args, fragment in ((["--trace-limit", "-1"], "--trace-limit = -1"), (["--messages", "10"], "--messages = 10"),
                           (["--sweep", "--jobs", "1"], "--jobs = 1"), (["--workload", "demo"], "--workload = 'demo'")):
        assert main(["bench", *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and fragment in err, err


def test_bench_reports_the_cost_per_request_of_every_workload(capsys):
    # The bench workload, the default scenario and the demo-like one, each timed on both clocks; the
    # bench workload's figures stay at the top level, as before there were workloads.
    import json

    from sim.cli import main

    assert main(["bench", "--messages", "3000", "--json", "-"]) == 0
    r = json.loads(capsys.readouterr().out)
    rows = r["workloads"]
    assert list(rows) == ["bench", "default", "demo-like"]
    for name, row in rows.items():
        assert row["drained"] and 2_500 < row["messages"] <= 3_000, (name, row["messages"])
        assert row["produce_requests"] > 100 and row["wall_s"] > 0 and row["cpu_s"] > 0
        rounding = 1e6 * 0.0005 / row["produce_requests"]  # wall_s and cpu_s are rounded to the millisecond
        assert row["us_per_request_wall"] == pytest.approx(1e6 * row["wall_s"] / row["produce_requests"], rel=0.01,
                                                           abs=rounding)
        assert row["us_per_request_cpu"] == pytest.approx(1e6 * row["cpu_s"] / row["produce_requests"], rel=0.01,
                                                          abs=rounding)
        assert row["messages_per_request"] == pytest.approx(row["messages"] / row["produce_requests"], rel=0.01)
        assert row["raw_simpy_events_per_wall_s"] == r["raw_simpy_events_per_wall_s"]  # one measurement for all
    # a low rate on few partitions makes smaller requests than 20,000 msg/s on six
    assert rows["demo-like"]["messages_per_request"] < rows["bench"]["messages_per_request"] / 1.5
    for key in ("messages", "simpy_events", "events_per_message", "messages_per_wall_s",
                "messages_per_raw_simpy_event", "ledger_bytes_per_message", "drained"):
        assert r[key] == rows["bench"][key], key
    assert r["workload"]["workload.rate"] == 20_000
    assert {"peak_rss_bytes", "rss_growth_bytes_per_message", "trace_events", "trace_dropped"} <= set(r)

    assert main(["bench", "--messages", "2000", "--workload", "demo-like"]) == 0
    table = capsys.readouterr().out
    assert "demo-like" in table and "default" not in table.split("---")[-1] and "peak RSS" not in table


def test_the_default_workload_is_the_default_scenario_shortened_only_when_asked():
    from sim.bench import workload_config
    from sim.config import load_config
    from sim.scenarios import default_path

    assert workload_config("default").to_dict() == load_config(default_path()).to_dict()
    assert workload_config("default", 600_000).to_dict() == load_config(default_path()).to_dict()
    short = workload_config("default", 6_000)  # a tenth of its 60,000 messages: a tenth of its timeline
    assert short["workload.duration"] == pytest.approx(3.0)
    assert [(f.at, f.action, f.duration) for f in short.faults] == [
        (pytest.approx(0.8), "crash", pytest.approx(1.0)), (pytest.approx(2.2), "consumer_crash", pytest.approx(0.2))]


def test_each_workload_simulates_the_same_events_for_the_same_seed():
    from sim.bench import WORKLOADS, run_workload

    raw = (1e6, 1e6)  # no raw SimPy measurement needed here
    runs = {}
    for name in WORKLOADS:
        first, second = runs[name] = run_workload(name, 2_000, raw=raw), run_workload(name, 2_000, raw=raw)
        counts = [{key: r[key] for key in ("messages", "produce_requests", "simpy_events", "replica_fetches_per_request")}
                  for r in (first, second)]
        assert counts[0] == counts[1], name
        assert counts[0]["simpy_events"] > counts[0]["produce_requests"] > 0
    other_seed = run_workload("demo-like", 2_000, {"sim.seed": 2}, raw=raw)
    assert other_seed["simpy_events"] != runs["demo-like"][0]["simpy_events"]  # the seed reaches the workload


def _without_wakeup_shortcuts(monkeypatch):
    """The sender loop as it was before its shortcuts: every produce response wakes it, every batch
    completion appends the pending sends first, and a sticky switch is always looked at."""
    from sim.producer.accumulator import RecordAccumulator
    from sim.producer.sender import Sender

    release = RecordAccumulator.release

    def release_after_catching_up(self, batch, now):
        self.catch_up(now)
        release(self, batch, now)

    def no_look_ahead(self):
        sticky = self.sticky
        return self._sticky_change(sticky.partition(), 0, sticky.until_switch())[0]

    monkeypatch.setattr(Sender, "_quiet", lambda self, req, results: False)
    monkeypatch.setattr(RecordAccumulator, "release", release_after_catching_up)
    monkeypatch.setattr(RecordAccumulator, "_next_change_sticky", no_look_ahead)


@pytest.mark.parametrize("overrides", [
    # buffer.memory far below what the rate needs: send() blocks and unblocks all the time
    {"producer.buffer.memory": 65536, "producer.linger.ms": 20, "workload.rate": 5000},
    {"producer.buffer.memory": 32768, "producer.linger.ms": 0, "workload.rate": 3000},
    # keyed sends under memory pressure
    {"producer.buffer.memory": 65536, "producer.linger.ms": 10, "workload.rate": 5000, "workload.keys": 50,
     "topic.partitions": 6},
    # re-sends after failures (no retries, crashes)
    {"producer.retries": 0, "producer.enable.idempotence": False, "producer.app.resend": True,
     "chaos.broker.crash.mtbf": 2, "workload.rate": 3000},
    # the benchmark's faults, with flushes of every kind of wait
    {"topic.partitions": 12, "chaos.broker.crash.mtbf": 2, "chaos.broker.partition.mtbf": 3,
     "chaos.broker.latency_spike.mtbf": 1, "workload.rate": 8000},
], ids=["memory-linger", "memory-no-linger", "keyed-memory", "resend", "faults"])
def test_the_sender_loop_shortcuts_change_no_result(monkeypatch, overrides):
    # The shortcuts only skip passes of the sender loop that could not change anything, so every
    # outcome, metric and trace event must be what the loop without them gives.
    import json

    from sim import api

    def result():
        faults = [{"at": 2, "action": "crash", "target": "leader", "duration": 2},
                  {"at": 3.5, "action": "consumer_crash", "duration": 1}]
        data = json.loads(api.run(overrides={"workload.duration": 6, "faults": faults, **overrides}).to_json())
        del data["wall_s"]
        return data

    fast = result()
    with monkeypatch.context() as m:
        _without_wakeup_shortcuts(m)
        slow = result()
    assert fast["sent"] > 2_000 and fast["drained"]
    assert fast == slow


def test_an_answered_consumer_request_leaves_no_timeout_waiting():
    # Every fetch, group request and commit has a request.timeout.ms (30 s) deadline; one left in the
    # queue after the answer woke the consumer's deadline process 30 s later, once per request.
    from simtest import cluster

    c = cluster([0.01 * i for i in range(1, 1500)], workload__duration=20)
    c.env.run(until=15.0)
    member = c.consumer.members[0].client
    assert member.fetcher.assigned and c.ledger.n > 1000
    assert member.deadlines.live() <= 4  # the fetch on the wire, a heartbeat, a commit: not hundreds
