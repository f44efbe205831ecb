"""Rare-event estimation (docs/rare-events.md): the likelihood ratios, the estimators against crude
Monte Carlo where crude reaches, and against closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sim import api
from sim.experiment.estimate import MethodError, estimate
from sim.faults.chaos import biased_faults
from sim.rare.choose import choose_method
from sim.rare.importance import balanced_bias
from sim.rare.processes import fault_processes
from sim.rare.weighted import effective_sample_size, weighted_rate
from sim.stats import ratio_rate

from simtest import config

OUTAGE = {"chaos.cluster.power_outage.mtbf": "25s", "chaos.cluster.power_outage.duration": "2s"}


def draws(cfg, bias, count, end):
    """(number of faults, likelihood ratio) of `count` independent draws of cfg's chaos faults."""
    out = []
    for seed in range(count):
        faults, log_weight = biased_faults(cfg, np.random.default_rng(seed), cfg["cluster.brokers"], end, bias)
        out.append((len(faults), math.exp(log_weight)))
    return np.array(out)


def test_the_likelihood_ratio_makes_biased_draws_unbiased():
    # One Poisson process (a cluster-wide outage, 0.2 expected in 10 s) drawn 8 times as often: the weights
    # average to 1, and the weighted frequency of "two or more outages" is the Poisson probability.
    # (outages of 1 ms: none is dropped for overlapping an earlier one)
    cfg = config(chaos__cluster__power_outage__mtbf="50s", chaos__cluster__power_outage__duration="1ms")
    sample = draws(cfg, {"cluster.power_outage": 8.0}, 4000, 10.0)
    counts, weights = sample[:, 0], sample[:, 1]
    assert counts.mean() == pytest.approx(1.6, rel=0.06)  # what was drawn: 8 x 0.2
    assert weights.mean() == pytest.approx(1.0, abs=4 * weights.std() / math.sqrt(len(weights)))
    mean = 0.2
    exact = 1 - math.exp(-mean) * (1 + mean)
    estimate_two = float((weights * (counts >= 2)).mean())
    spread = float((weights * (counts >= 2)).std()) / math.sqrt(len(weights))
    assert abs(estimate_two - exact) < 4 * spread
    assert float((counts >= 2).mean()) > 10 * exact  # the biased draws see it far more often


def test_unbiased_draws_weigh_one_and_match_the_unbiased_faults():
    cfg = config(chaos__broker__crash__mtbf="20s")
    rng = np.random.default_rng(3)
    plain, _ = biased_faults(cfg, np.random.default_rng(3), 3, 60.0)
    same, log_weight = biased_faults(cfg, rng, 3, 60.0, {"broker.crash": 1.0})
    assert log_weight == 0.0 and [f.at for f in plain] == [f.at for f in same]


def test_weighted_rate_with_unit_weights_is_the_crude_ratio_estimate():
    events, messages = [0, 3, 0, 7, 1], [100, 120, 90, 110, 100]
    crude = ratio_rate(events, messages)
    weighted = weighted_rate(events, messages, np.ones(5), 1.0)
    assert (weighted["rate"], weighted["lo"], weighted["hi"]) == pytest.approx((crude.rate, crude.lo, crude.hi))
    assert weighted["variance_reduction"] == pytest.approx(1.0)
    assert effective_sample_size(np.ones(5)) == pytest.approx(5.0)


def test_balanced_biasing_gives_each_kind_the_same_expected_faults():
    cfg = config(chaos__preset="datacenter", workload__duration=60)
    processes = fault_processes(cfg)
    bias = balanced_bias(processes, 60.0, faults_per_run=1.0)
    expected = [bias[p.key] * p.rate * 60.0 for p in processes]
    assert expected == pytest.approx([1.0 / len(processes)] * len(processes))


def test_auto_says_which_method_and_why():
    assert choose_method(config())[0] == "crude"  # no chaos
    assert choose_method(config(chaos__broker__crash__mtbf="5s"))[0] == "crude"  # faults are common
    method, reason = choose_method(config(chaos__preset="datacenter"))
    assert method == "conditional" and "window" in reason
    assert choose_method(config(chaos__preset="datacenter",
                                faults=[{"at": 1, "action": "crash", "target": "broker:0"}]))[0] == "is"


def test_methods_that_need_chaos_faults_refuse_a_configuration_without_them():
    with pytest.raises(MethodError, match="no chaos faults"):
        estimate(config(), method="is", replications=2, jobs=1)
    with pytest.raises(MethodError, match="scripted"):
        estimate(config(chaos__preset="datacenter", faults=[{"at": 1, "action": "crash", "target": "broker:0"}]),
                 method="conditional", replications=2, jobs=1)


def outage_config(**extra):
    """Outages every 25 s on average, 5 s runs: nothing is written back yet (dirty pages expire after
    30 s), so an outage loses every acknowledged record written before it."""
    overrides = {"faults": [], "topic.partitions": 1, "workload.rate": 100, "workload.duration": 5, **OUTAGE,
                 **extra}
    return api.config(None, overrides)


def test_importance_sampling_agrees_with_crude_monte_carlo_where_crude_reaches():
    cfg = outage_config()
    crude = estimate(cfg, method="crude", replications=40, jobs=1, metric="acked_missing")
    biased = estimate(cfg, method="is", replications=20, jobs=1, metric="acked_missing")
    c, b = crude["acked_missing"], biased["acked_missing"]
    assert c["rate"] > 0 and b["rate"] > 0
    assert b["lo"] <= c["hi"] and c["lo"] <= b["hi"]  # the intervals overlap
    assert b["hi"] - b["lo"] < c["hi"] - c["lo"]  # with half the runs, a narrower interval
    assert biased["method"] == "is" and biased["effective_sample_size"] > 3


def test_the_loss_of_a_rare_fault_is_linear_in_its_rate():
    # Halve the outage rate: importance sampling draws the same biased faults (balanced biasing aims at
    # the same expected number), and the weights halve the estimate within its interval.
    full = estimate(outage_config(), method="is", replications=12, jobs=1, metric="acked_missing")
    half = estimate(outage_config(**{"chaos.cluster.power_outage.mtbf": "50s"}), method="is", replications=12,
                    jobs=1, metric="acked_missing")
    ratio = full["acked_missing"]["rate"] / half["acked_missing"]["rate"]
    assert 1.7 < ratio < 2.3


RARE_OUTAGE = """
[topic]
partitions = 1
"replication.factor" = 3

[workload]
duration = 5
rate = 50

[chaos]
"cluster.power_outage.mtbf" = "365d"
"cluster.power_outage.duration" = "5s"
"""


def test_the_command_line_estimates_a_rare_outage_by_fault_windows(tmp_path, capsys):
    from sim.cli import main
    scenario = tmp_path / "outage.toml"
    scenario.write_text(RARE_OUTAGE)
    out = tmp_path / "estimate.json"
    assert main(["estimate", str(scenario), "--method", "auto", "--metric", "acked_missing", "--replications", "4",
                 "--jobs", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "method: conditional" in text and "windows: fault-free 2, cluster.power_outage 2" in text
    result = json.loads(out.read_text())
    missing = result["acked_missing"]
    assert result["method"] == "conditional" and set(missing) >= {"rate", "lo", "hi", "relative_half_width"}
    # an outage loses what no replica has written back yet: tens of seconds of records, once a year
    per_outage_s = missing["rate"] * 365 * 86400
    assert 1.0 < per_outage_s < 60.0


def test_the_command_line_refuses_a_method_that_cannot_apply(tmp_path, capsys):
    from sim.cli import main
    scenario = tmp_path / "plain.toml"
    scenario.write_text(RARE_OUTAGE.replace('"cluster.power_outage.mtbf" = "365d"', ""))
    assert main(["estimate", str(scenario), "--method", "is", "--replications", "2", "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no chaos faults" in err[0]


def test_a_whole_cluster_outage_loses_the_write_back_window_of_each_message():
    # Theory (docs/rare-events.md): a continuously appended segment file is written back whole every
    # P * (floor(E / P) + 1) seconds (E = vm.dirty_expire 30 s, P = the flusher's 5 s period), so at an
    # outage at a random moment the acknowledged records of the last U seconds are on no disk, U uniform
    # on [0, 35 s): per message, lambda x 17.5 s. Fault windows estimate it; the theory lies in the interval.
    expire, period = 30.0, 5.0
    window = period * (expire // period + 1) / 2
    mtbf = 365 * 86400.0
    cfg = api.config(None, {"faults": [], "topic.partitions": 1, "workload.rate": 20, "workload.duration": 5,
                            "chaos.cluster.power_outage.mtbf": "365d", "chaos.cluster.power_outage.duration": "5s"})
    result = estimate(cfg, method="conditional", replications=14, jobs=1, metric="acked_missing")
    missing = result["acked_missing"]
    assert missing["lo"] <= window / mtbf <= missing["hi"]
    assert missing["relative_half_width"] < 0.6


def test_a_notebook_shows_the_method_and_the_rates_of_a_rare_event_estimate():
    result = api.estimate(overrides={"faults": [], "workload.rate": 50, "workload.duration": 5,
                                     "chaos.cluster.power_outage.mtbf": "365d",
                                     "chaos.cluster.power_outage.duration": "2s"},
                          method="conditional", replications=4, jobs=1, metric="acked_missing",
                          window={"warmup": 5, "spread": 5, "tail": 5})
    html = result._repr_html_()
    assert "method: conditional" in html and "variance reduction" in html
    frame = result.to_frame()
    assert frame.loc["acked_missing", "rate"] == result["acked_missing"]["rate"] > 0
    assert len(result.rows) == 4 and set(result.rows["kind"]) == {"fault-free", "cluster.power_outage"}


@pytest.mark.parametrize("buffer_bytes", [65536, 262144])
def test_acks_0_loses_a_socket_buffer_of_records_when_its_leader_is_cut_off(buffer_bytes):
    # Theory (docs/rare-events.md): with acks=0 a record counts as sent once written to the socket. When the
    # leader is cut off there is no reset; the producer keeps writing until send.buffer.bytes of unacknowledged
    # bytes fill the socket, and all of that is lost: about send.buffer.bytes / (bytes per record) per
    # isolation of a leader, whatever the rate (plus what was on the wire and in part-filled batches).
    from sim.records import record_bytes
    result = api.run(None, {"producer.acks": "0", "topic.partitions": 1, "workload.rate": 2000,
                            "workload.duration": 25, "producer.send.buffer.bytes": buffer_bytes,
                            "faults": [{"at": 5, "action": "isolate", "target": "leader", "duration": 15}]}, seed=1)
    expected = buffer_bytes / record_bytes(1024)
    assert expected <= result.outcomes["lost_acked"] <= 1.25 * expected + 20


def test_acks_1_loses_the_replication_lag_when_its_leader_crashes():
    # Theory (docs/rare-events.md): acks=1 loses, per leader crash, what the leader acknowledged and no
    # follower fetched yet: rate x (replication lag). With replica.fetch.min.bytes out of reach a follower's
    # fetch returns every replica.fetch.wait.max.ms (500 ms), so the lag at a crash is uniform on [0, 500 ms)
    # and the loss averages 1,000 msg/s x 0.25 s. Six crashes spread over one fetch cycle.
    lost = []
    for step in range(6):
        result = api.run(None, {"producer.acks": "1", "topic.partitions": 1, "workload.rate": 1000,
                                "workload.duration": 20, "broker.replica.fetch.min.bytes": 10**9,
                                "producer.linger.ms": 0,
                                "faults": [{"at": 10 + 0.5 * step / 6, "action": "crash", "target": "leader",
                                            "duration": 5}]}, seed=step)
        lost.append(result.outcomes["lost_acked"])
    assert 200 <= sum(lost) / len(lost) <= 320
    assert min(lost) < 150 and max(lost) > 400  # the lag sweeps the whole fetch wait


def test_fault_windows_are_the_same_whatever_the_number_of_workers():
    # windows are chosen round by round from earlier rounds only, never from what a wave of workers returned
    cfg = api.config(None, {"faults": [], "workload.rate": 50, "workload.duration": 5,
                            "chaos.cluster.power_outage.mtbf": "365d", "chaos.cluster.power_outage.duration": "2s",
                            "chaos.broker.crash.mtbf": "30d"})
    shape = {"warmup": 5, "spread": 5, "tail": 5}
    one = estimate(cfg, method="conditional", replications=10, jobs=1, metric="acked_missing", window=shape)
    two = estimate(cfg, method="conditional", replications=10, jobs=2, metric="acked_missing", window=shape)
    assert one["windows"] == two["windows"] and one["acked_missing"] == two["acked_missing"]
    assert one["windows"]["cluster.power_outage"] >= 2 and one["windows"]["broker.crash"] >= 2


def test_a_weighted_probability_names_its_interval_for_what_it_is():
    # A weighted (importance-sampling) estimate has a normal interval, not a Clopper-Pearson or Wilson one;
    # the per-year figure reads the interval it is given, whichever estimator made it.
    from sim.rare.weighted import weighted_probability, year_probability
    from sim.stats import proportion

    weighted = weighted_probability([0, 1, 0, 1], [0.5, 0.25, 0.5, 0.25], fault_weight_max=0.5)
    assert "clopper_pearson" not in weighted and "wilson" not in weighted
    assert weighted["p"] == pytest.approx(0.125) and weighted["interval"][0] < 0.125 < weighted["interval"][1]
    crude = proportion(3, 10)
    assert crude["interval"] == crude["clopper_pearson"]
    year = year_probability(weighted, horizon_s=3600.0, year_s=3600.0)  # a year of one run: the same figures
    assert (year["p"], year["lo"], year["hi"]) == pytest.approx((0.125, *weighted["interval"]))
