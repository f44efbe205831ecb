"""Built-in named scenarios: the documented ways Kafka has lost acknowledged data.

Each pairs an unsafe (or historical) configuration with the safe (or fixed) one under the same
workload and the same faults. docs/scenarios.md tells each trace step by step, with its sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    label: str
    overrides: dict


@dataclass(frozen=True)
class NamedScenario:
    name: str
    title: str  # one line for `kafkasim scenarios`
    notice: str  # what a learner should notice
    source: str
    base: dict  # config overrides shared by both variants, faults included
    unsafe: Variant
    safe: Variant
    partition: int = 0  # whose replicas the timeline shows
    sends: tuple | None = None  # scripted send times; None = the Poisson workload
    extra: dict = field(default_factory=dict)
    # what tells the two sides apart: "loss" (acknowledged records lost on the unsafe side only) or
    # "divergence" (replicas left holding different records at the same offsets on the unsafe side only)
    contrast: str = "loss"


def _steady(start: float, stop: float, step: float) -> tuple:
    steps = int(round((stop - start) / step))
    return tuple(round(start + step * i, 6) for i in range(steps))


RF3 = {"cluster.brokers": 3, "topic.partitions": 1, "topic.replication.factor": 3}
CONSTANT_1MS = {"network.latency.distribution": "constant", "network.latency.ms": 1.0}

CATALOG: dict[str, NamedScenario] = {}


def _add(scenario: NamedScenario) -> None:
    CATALOG[scenario.name] = scenario


_add(NamedScenario(
    name="jepsen-2013",
    title="S0 Jepsen 2013: the ISR shrinks to the leader, the leader is cut off, an out-of-sync replica is elected",
    notice="With unclean election on and min.insync.replicas=1, acks=all means 'acked by the leader alone' once "
           "the ISR has shrunk: everything acknowledged between the shrink and the election is gone. With "
           "unclean election off and min.insync.replicas=2 those writes are refused (NOT_ENOUGH_REPLICAS) and "
           "retried instead: no acknowledged loss, at the price of unavailability.",
    source="https://aphyr.com/posts/293-jepsen-kafka",
    base={**RF3, "producer.acks": "all", "broker.replica.lag.time.max.ms": 10000, "workload.duration": 45,
          "workload.rate": 100, "consumer.auto.offset.reset": "earliest",
          "faults": [
              {"at": 5, "action": "isolate", "target": "followers", "from": "brokers"},
              {"at": 22, "action": "isolate", "target": "leader", "from": "all"},
              {"at": 1, "action": "consumer_crash", "duration": 42},
          ]},
    unsafe=Variant("unclean election on, min.insync.replicas=1 (Kafka 0.8)",
                   {"topic.unclean.leader.election.enable": True, "topic.min.insync.replicas": 1}),
    safe=Variant("unclean election off, min.insync.replicas=2",
                 {"topic.unclean.leader.election.enable": False, "topic.min.insync.replicas": 2}),
))

_add(NamedScenario(
    name="kip101-hw-truncation",
    title="S1 KIP-101: a restarted follower truncates to its stale HW, then the leader dies and it is elected",
    notice="The follower had the last record but did not yet know it was committed (it learns the HW one fetch "
           "later). Truncating to its own HW on restart (Kafka < 0.11) throws the record away, and the leader dies "
           "before it is fetched again. Truncating by leader epoch (KIP-101) keeps it.",
    source="KIP-101 scenario 1",
    base={"cluster.brokers": 2, "topic.partitions": 1, "topic.replication.factor": 2, **CONSTANT_1MS,
          "producer.linger.ms": 0, "workload.duration": 40, "consumer.auto.offset.reset": "earliest",
          "broker.model.quick.restart.keeps.isr": True, "broker.model.startup.ms": 50,
          "broker.replica.high.watermark.checkpoint.interval.ms": 100,
          "faults": [
              {"at": 2.1, "action": "crash", "target": "broker:1", "duration": 0.05},
              {"at": 2.2025, "action": "crash", "target": "broker:0"},
              {"at": 0.05, "action": "consumer_crash", "duration": 30},
          ]},
    unsafe=Variant("truncate to the high watermark (before KIP-101)",
                   {"broker.model.truncation": "high-watermark"}),
    safe=Variant("truncate by leader epoch (KIP-101)", {"broker.model.truncation": "leader-epoch"}),
    sends=(0.1, 1.0, 2.0),
))

_add(NamedScenario(
    name="kip101-divergence",
    title="S2 KIP-101: both replicas lose power; the one back first leads and writes where the other kept a record",
    notice="Broker 0 (leader) and broker 1 both had record 1, but the OS had written it back to disk only on "
           "broker 0 when the power failed, so broker 1 comes back without it, is elected, and takes the next "
           "record at offset 1. Losing record 1 is within Kafka's durability contract (every replica lost "
           "power). The bug is what follows: truncating to its own HW (2), broker 0 keeps its record 1 and "
           "fetches on from offset 2 -- the two logs now differ at offset 1 for good, and whichever leads "
           "decides what consumers see. Truncating by leader epoch (KIP-101), broker 0 learns that epoch 0 "
           "ended at offset 1 on the leader and drops its copy: the replicas agree.",
    source="KIP-101 scenario 2",
    # 1 ms links; the flusher wakes on the second on both machines and writes back a segment file dirty for
    # a second or more. Record 1 is sent at 1.9985 s: broker 0 appends it at 1.9995 s, broker 1 at
    # 2.0005 s, so the write-back at 2 s of the files dirty since 0.1 s takes broker 0's copy and not
    # broker 1's, whose file, dirty again from 2.0005 s, is due at 4 s. Both lose power at 3.5 s; broker 1 is
    # back at 4.5 s (quick restart: it stays in the ISR, as before KRaft); broker 0 is fenced at 11 s, which
    # makes broker 1 the leader, and is back at 23.5 s. Record 2 (sent at 15 s) first goes to the dead
    # machine, times out after request.timeout.ms (2 s here) and is retried against broker 1.
    base={"cluster.brokers": 2, "topic.partitions": 1, "topic.replication.factor": 2, **CONSTANT_1MS,
          "producer.linger.ms": 0, "producer.acks": "all", "producer.request.timeout.ms": 2000,
          "workload.duration": 30, "consumer.auto.offset.reset": "earliest",
          "broker.model.quick.restart.keeps.isr": True, "broker.model.startup.ms": 50,
          "broker.replica.high.watermark.checkpoint.interval.ms": 100,
          "broker.vm.dirty_writeback_centisecs": 100, "broker.vm.dirty_expire_centisecs": 100,
          "broker.model.writeback.phase.ms": 0,
          "faults": [
              {"at": 3.5, "action": "power_loss", "target": "broker:0", "duration": 20},
              {"at": 3.5, "action": "power_loss", "target": "broker:1", "duration": 1},
              {"at": 0.05, "action": "consumer_crash", "duration": 28},
          ]},
    unsafe=Variant("truncate to the high watermark (before KIP-101)",
                   {"broker.model.truncation": "high-watermark"}),
    safe=Variant("truncate by leader epoch (KIP-101)", {"broker.model.truncation": "leader-epoch"}),
    sends=(0.1, 1.9985, 15.0, 27.0),
    contrast="divergence",
))

_add(NamedScenario(
    name="kip320-unfenced-fetch",
    title="S3 KIP-320: a follower that missed two leader changes fetches on unchecked, joins the ISR, is elected",
    notice="Broker 2 heard of no leader change: to it broker 0 still led epoch 0. Before KIP-320 (Kafka < 2.1) a "
           "follower's fetch named no leader epoch, and a follower looked for a divergence only when it learned of "
           "a new epoch -- so when broker 0 led again (epoch 2) it served broker 2 from broker 2's own log end, past "
           "the offsets where broker 2 kept records that failed and the others hold records acknowledged in epoch "
           "1. Broker 2 caught up, joined the ISR, and was the clean choice when broker 0 left: those acknowledged "
           "records are gone, and the replicas disagree at their offsets for good. With KIP-320 broker 0 refuses a "
           "fetch in a stale epoch (FENCED_LEADER_EPOCH): broker 2 stays out of the ISR and the partition waits "
           "for broker 0 instead.",
    source="KIP-320; hachikuji/kafka-specification Kip320FirstTry.tla (loss after fast leader changes)",
    # 1 ms links, 200 sends a second plus a burst of 100 at 9.75 s; acks=all, min.insync.replicas=2, no retries
    # (Kafka 2.0's default) so a failed request's records are not written again. Broker 2's link to the
    # controller is 5 s slow from 8 s: it learns every change 5 s late. Broker 1 is cut off from the brokers
    # from 9.7 s to 10.1 s, so the burst's first request reaches broker 0 (leader) and broker 2 only, and waits.
    # Broker 0 shuts down at 10 s: broker 1 leads epoch 1 without those records, which fail; broker 0 is back
    # at 10.55 s, truncates, follows broker 1; broker 2, fetching from broker 0, leaves the ISR at 11.5 s.
    # Broker 1 shuts down at 12 s (back at 32 s): broker 0 leads epoch 2. Broker 0 shuts down at 15 s (back
    # at 35 s): the controller elects broker 2 if it is in the ISR, which it learns at 20 s.
    base={**RF3, **CONSTANT_1MS, "producer.linger.ms": 0, "producer.acks": "all", "producer.retries": 0,
          "producer.enable.idempotence": False, "topic.min.insync.replicas": 2,
          "broker.replica.lag.time.max.ms": 1000, "broker.model.startup.ms": 50, "workload.duration": 40,
          "consumer.auto.offset.reset": "earliest",
          "faults": [
              {"at": 8.0, "action": "latency_spike", "target": "broker:2", "from": "controller", "extra_ms": 5000,
               "duration": 20.0},
              {"at": 9.7, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 0.4},
              {"at": 10.0, "action": "shutdown", "target": "broker:0", "duration": 0.5},
              {"at": 12.0, "action": "shutdown", "target": "broker:1", "duration": 20.0},
              {"at": 15.0, "action": "shutdown", "target": "broker:0", "duration": 20.0},
              {"at": 0.05, "action": "consumer_crash", "duration": 38},
          ]},
    unsafe=Variant("unfenced replica fetches (before KIP-320, Kafka < 2.1)",
                   {"broker.model.replica.fetch.fencing": False}),
    safe=Variant("fenced replica fetches (KIP-320)", {"broker.model.replica.fetch.fencing": True}),
    sends=_steady(0.1, 9.6, 0.005) + (9.75,) * 100 + _steady(10.2, 18.0, 0.005),
    contrast="divergence",  # the acknowledged records lost from the leader's log stay on the other two
))

_add(NamedScenario(
    name="last-replica-standing",
    title="S4 KIP-966: the last ISR member loses its page cache, is re-elected, and the others truncate to it",
    notice="With the ISR down to one broker the HW is frozen, so the two replicas cut off earlier still hold every "
           "committed record. Without Eligible Leader Replicas the last ISR member stays in the ISR through its "
           "power loss, is elected again with an empty log, and the others truncate to it. With ELR the replica "
           "that left the ISR below min.insync.replicas is elected instead.",
    source="KIP-966; Vanlightly kafka-tlaplus 5_recovery.md section 5.2",
    base={**RF3, **CONSTANT_1MS, "topic.min.insync.replicas": 2, "producer.linger.ms": 0, "workload.duration": 30,
          "broker.replica.lag.time.max.ms": 1000, "consumer.auto.offset.reset": "earliest",
          "faults": [
              {"at": 1.0, "action": "isolate", "target": "broker:2", "from": "brokers", "duration": 4.5},
              {"at": 3.0, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 2.5},
              {"at": 5.0, "action": "power_loss", "target": "broker:0", "duration": 1.0},
              {"at": 0.05, "action": "consumer_crash", "duration": 25},
          ]},
    unsafe=Variant("no Eligible Leader Replicas (Kafka 3.x, 4.0 default)",
                   {"broker.eligible.leader.replicas.version": 0}),
    safe=Variant("Eligible Leader Replicas on (KIP-966)", {"broker.eligible.leader.replicas.version": 1}),
    sends=_steady(0.1, 5.0, 0.1),
))

_add(NamedScenario(
    name="kip903-stale-broker-epoch",
    title="S5 KIP-903: a delayed AlterPartition puts a broker that restarted with an empty disk back in the ISR",
    notice="Broker 1 fell out of the ISR, caught up, and broker 0 (the leader) asked the controller to add it "
           "back; that request was slow. Meanwhile broker 1's disk failed and it came back empty. Before Kafka "
           "3.5 the controller cannot tell the request is stale and adds the empty broker 1 to the ISR; when "
           "broker 0 dies, broker 1 is a clean choice for leader, and everything broker 0 acknowledged is gone. "
           "With KIP-903 the request names the broker epoch broker 1 fetched with, which its new registration "
           "has replaced, and the controller refuses it: the partition waits for broker 0 instead.",
    source="KIP-903",
    # 1 ms links, ten sends a second, RF 2, ZooKeeper-era quick re-registration (as in KIP-903's example):
    # broker 1 is cut off from broker 0 from 1 s to 3 s and leaves the ISR; it catches up at 3.003 s, when
    # broker 0 sends the AlterPartition, which a latency spike on broker 0's controller link delays by 2 s.
    # Broker 1's disk fails at 3.5 s; it restarts on an empty disk at 4 s and registers again, but cannot
    # fetch (cut off from broker 0 from 3.9 s to 40 s). The request arrives at 5.003 s. Broker 0 dies at
    # 6 s; the controller fences it 9 s after its last heartbeat; it is back at 45 s.
    base={"cluster.brokers": 2, "topic.partitions": 1, "topic.replication.factor": 2, **CONSTANT_1MS,
          "producer.linger.ms": 0, "producer.acks": "all", "workload.duration": 60,
          "broker.replica.lag.time.max.ms": 1000, "consumer.auto.offset.reset": "earliest",
          "broker.model.quick.restart.keeps.isr": True, "broker.model.startup.ms": 50,
          "faults": [
              {"at": 1.0, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 2.0},
              {"at": 2.9, "action": "latency_spike", "target": "broker:0", "from": "controller",
               "extra_ms": 2000, "duration": 10.0},
              {"at": 3.5, "action": "disk_failure", "target": "broker:1", "duration": 0.5},
              {"at": 3.9, "action": "isolate", "target": "broker:1", "from": "brokers", "duration": 36.1},
              {"at": 6.0, "action": "crash", "target": "broker:0", "duration": 39.0},
              {"at": 0.05, "action": "consumer_crash", "duration": 55},
          ]},
    unsafe=Variant("no broker epochs in AlterPartition (before Kafka 3.5)", {"broker.model.isr.broker.epochs": False}),
    safe=Variant("broker epochs checked (KIP-903, Kafka 3.5+)", {"broker.model.isr.broker.epochs": True}),
    sends=_steady(0.1, 6.0, 0.1),
))

_add(NamedScenario(
    name="unclean-wrong-replica",
    title="S7 an unclean election takes the first live replica, not the one holding the committed data",
    notice="Broker 1 fell out of sync early, broker 2 much later: broker 2 holds records broker 1 never saw. When "
           "the last in-sync leader dies, an unclean election picks the first live replica in assignment order -- "
           "broker 1 -- and those committed records are truncated from broker 2. With unclean election off the "
           "partition waits for the old leader instead and nothing acknowledged is lost.",
    source="ocadaruma/kafka-spec result.txt (S7), simplified to Kafka's assignment-order rule",
    base={**RF3, **CONSTANT_1MS, "producer.linger.ms": 0, "producer.acks": "all", "workload.duration": 40,
          "broker.replica.lag.time.max.ms": 1000, "consumer.auto.offset.reset": "earliest",
          "faults": [
              {"at": 1.0, "action": "isolate", "target": "broker:1", "from": "brokers"},
              {"at": 4.0, "action": "isolate", "target": "broker:2", "from": "brokers"},
              {"at": 6.0, "action": "crash", "target": "broker:0", "duration": 20},
              {"at": 7.0, "action": "heal", "target": "broker:1"},
              {"at": 7.0, "action": "heal", "target": "broker:2"},
              {"at": 0.05, "action": "consumer_crash", "duration": 35},
          ]},
    unsafe=Variant("unclean election on", {"topic.unclean.leader.election.enable": True}),
    safe=Variant("unclean election off", {"topic.unclean.leader.election.enable": False}),
    sends=_steady(0.1, 6.0, 0.1),
))

_add(NamedScenario(
    name="phantom-read",
    title="S8 phantom read: a consumer processes records that a later power loss removes",
    notice="The broker process crashes and restarts: the page cache survived, recovery looks clean, and the "
           "consumer reads on. Then the machine loses power and every record not yet written back (a segment "
           "file goes to disk once it has been dirty for 30 s) vanishes -- after the consumer acted on it. Only "
           "an fsync per message (flush.messages=1) closes that window.",
    source="KAFKA-10101 discussion (apache/kafka#8812)",
    base={"cluster.brokers": 1, "topic.partitions": 1, "topic.replication.factor": 1, "producer.acks": "1",
          "workload.duration": 40, "workload.rate": 200,
          "faults": [
              {"at": 10, "action": "crash", "target": "broker:0", "duration": 2},
              {"at": 20, "action": "power_loss", "target": "broker:0", "duration": 5},
          ]},
    unsafe=Variant("default flush policy (never fsync; the OS writes back after 30 s)", {}),
    safe=Variant("flush.messages=1 (fsync every message)", {"topic.flush.messages": 1}),
))

_add(NamedScenario(
    name="correlated-power-outage",
    title="All brokers lose power at once: replication cannot save what no disk holds",
    notice="acks=all with three replicas and min.insync.replicas=2 is the textbook safe setup, yet a power outage of "
           "the whole cluster loses every record written since each replica's last write-back (up to 35 s), "
           "committed or not, because each replica kept it only in its page cache. fsync per message keeps it, "
           "and costs latency.",
    source="Kafka's flush policy (log.flush.*, never by default) and Linux write-back; Vanlightly, 'Why Apache "
           "Kafka doesn't need fsync to be safe'",
    base={**RF3, "topic.partitions": 3, "topic.min.insync.replicas": 2, "producer.acks": "all",
          "workload.duration": 60, "workload.rate": 500,
          "faults": [{"at": 40, "action": "power_loss", "target": "all-brokers", "duration": 10}]},
    unsafe=Variant("default flush policy", {}),
    safe=Variant("flush.messages=1 (fsync every message)", {"topic.flush.messages": 1}),
    partition=0,
))

_add(NamedScenario(
    name="zombie-leader",
    title="A leader cut off from the controller and the other brokers keeps acknowledging acks=1 writes for 15 s",
    notice="The isolated leader still reaches its clients and never hears that it was replaced, so with acks=1 "
           "it keeps acknowledging writes that no other replica will ever have; when the network heals it "
           "truncates them. With acks=all the same writes wait for replicas that never answer, time out and are "
           "retried against the new leader: nothing acknowledged is lost.",
    source="Kafka's ISR and leader election (docs/kafka-background.md); a leader cut off from the controller",
    base={**RF3, "topic.min.insync.replicas": 2, "workload.duration": 40, "workload.rate": 500,
          "faults": [{"at": 10, "action": "isolate", "target": "leader", "from": ["brokers", "controller"],
                      "duration": 15}]},
    unsafe=Variant("acks=1", {"producer.acks": "1"}),
    safe=Variant("acks=all", {"producer.acks": "all"}),
))

_add(NamedScenario(
    name="preferred-leader",
    title="Leader balancing moves leadership back to a preferred replica that is in the ISR but behind",
    notice="auto.leader.rebalance.enable (on by default) hands leadership back to the first replica once it is "
           "in the ISR -- a clean election. But the ISR only promises that the replica caught up within "
           "replica.lag.time.max.ms, not that it has every record: the old leader truncates what the slower "
           "preferred replica had not fetched yet. With acks=1 those writes had been acknowledged and are lost; "
           "with acks=all they had not (the HW had not passed them) and are retried against the new leader.",
    source="auto.leader.rebalance.enable (QuorumController.maybeBalancePartitionLeaders)",
    # broker 0, the preferred leader, crashes at 2 s and restarts at 7 s; fenced at 11 s (9 s after its last
    # heartbeat), it loses the partition to broker 1 and rejoins the ISR. The check runs 30 s after that
    # failover, at 41 s (300 s in Kafka: shortened here), while a latency spike from 38 s keeps broker 0's
    # fetches 0.6 s behind.
    base={**RF3, "topic.min.insync.replicas": 2, "workload.duration": 60, "workload.rate": 500,
          "broker.leader.imbalance.check.interval.seconds": 30,
          "faults": [{"at": 2, "action": "crash", "target": "broker:0", "duration": 5},
                     {"at": 38, "action": "latency_spike", "target": "broker:0", "from": "brokers",
                      "extra_ms": 300, "duration": 5}]},
    unsafe=Variant("acks=1", {"producer.acks": "1"}),
    safe=Variant("acks=all", {"producer.acks": "all"}),
))


def names() -> list[str]:
    return list(CATALOG)
