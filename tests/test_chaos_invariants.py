"""Invariants of the replication protocol under every kind of fault, checked on whole chaos runs.

No busy loops: a follower sends a fetch when it has an answer to its last one. A leader holds a
fetch until it has data (replica.fetch.wait.max.ms, 500 ms), so each batch a leader appends answers
at most one fetch per follower, and an idle follower fetches twice a second; after an error it backs
off (replica.fetch.backoff.ms, 1 s). A protocol bug that answers a fetch at once with something the
follower cannot act on -- a divergence that truncates nothing, say -- makes the pair fetch every
round trip instead (about 500 times a second here), which the bound below catches: two such bugs in
the leader-epoch cache were found this way.

No divergence: with truncation by leader epoch (KIP-101/279/320), once the run has drained every
replica holds the leader's records at every offset it has (brokers.diverged_records = 0) -- whatever
was lost, replicas never disagree. (Truncation to the HW can diverge: the kip101-divergence scenario.)
"""

from __future__ import annotations

import pytest

from sim.config import load_config
from sim.result import diverged_records
from sim.run import finish, start

CHAOS = {
    "crash": {"chaos.preset": "datacenter", "chaos.broker.crash.mtbf": 20},
    "crash+partition, 60 partitions": {"topic.partitions": 60, "chaos.broker.crash.mtbf": 15,
                                       "chaos.broker.partition.mtbf": 30},
    "power loss, acks=1": {"topic.partitions": 12, "chaos.broker.power_loss.mtbf": 20, "producer.acks": "1"},
    "pause+latency": {"topic.partitions": 12, "chaos.broker.pause.mtbf": 5, "chaos.broker.pause.duration": 20,
                      "chaos.broker.latency_spike.mtbf": 5},
    "HW truncation (pre-0.11)": {"topic.partitions": 6, "broker.model.truncation": "high-watermark",
                                 "chaos.broker.power_loss.mtbf": 15, "producer.acks": "1"},
    "unclean election": {"topic.partitions": 24, "topic.unclean.leader.election.enable": True,
                         "chaos.broker.crash.mtbf": 10, "chaos.broker.partition.mtbf": 20},
    "cluster power outage": {"topic.partitions": 30, "chaos.cluster.power_outage.mtbf": 30,
                             "chaos.broker.crash.mtbf": 20},
    "ELR": {"topic.partitions": 24, "broker.eligible.leader.replicas.version": 1, "topic.min.insync.replicas": 2,
            "chaos.broker.crash.mtbf": 8, "chaos.broker.power_loss.mtbf": 20},
    "disk failure": {"topic.partitions": 12, "chaos.broker.disk_failure.mtbf": 15,
                     "chaos.broker.disk_failure.duration": 5, "chaos.broker.crash.mtbf": 20},
    "packet loss 2% + crash": {"topic.partitions": 12, "network.packet.loss": 0.02, "chaos.broker.crash.mtbf": 20},
}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("faults", list(CHAOS))
def test_no_busy_fetch_loops_and_no_diverged_replicas(faults, seed):
    cfg = load_config(overrides={"topic.replication.factor": 3, **CHAOS[faults], "workload.duration": 30,
                                 "sim.seed": seed})
    c = start(cfg)
    finish(c)
    fetches = sum(b.counters.replica_fetches for b in c.brokers)
    appends = sum(b.counters.appended_batches for b in c.brokers)
    n = cfg["cluster.brokers"]
    followers = cfg["topic.replication.factor"] - 1
    pairs = n * (n - 1)  # (follower, leader) fetcher pairs
    idle = pairs * c.env.now * 3  # two long polls a second, one backed-off retry a second
    assert appends > 0
    assert c.drained  # every partition led again and caught up (with ELR: the last known leader, if need be)
    assert fetches <= followers * appends + idle, (fetches, appends, c.env.now)
    if cfg["broker.model.truncation"] == "leader-epoch":
        assert diverged_records(c) == 0
