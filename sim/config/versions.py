"""Kafka version profiles: `cluster.kafka.version` sets the defaults and model switches of an era at once.

Each profile lists the keys whose default differs from the newest modelled version (the schema's own
defaults are Kafka 4.0's). A value the user gives wins over the profile's; `kafkasim config` shows which
values came from it. Sources: KafkaConfig / ProducerConfig / ConsumerConfig at each tag, and the KIPs
named below.

- before 2.1: producer `retries` 0 (KIP-91 made it Integer.MAX_VALUE with delivery.timeout.ms), no
  consumer position validation and no fenced replica fetches (both KIP-320, 2.1);
- before 2.5: replica.lag.time.max.ms 10 s and the ZooKeeper session 6 s (KIP-537 made them 30 s, 18 s);
- before 2.7: a leader writes ISR changes to ZooKeeper itself, holding the partition's lock (AlterIsr,
  KIP-497, is 2.7);
- ZooKeeper mode (2.x): the broker session is the ZooKeeper session, and a broker that restarts before it
  expires keeps its ISR memberships;
- before 3.0: acks=1 and no idempotence by default (KIP-679); consumer session.timeout.ms 10 s (KIP-735);
- before 3.5: no broker epochs in AlterPartition (KIP-903); before 3.7: the HW follows a shrunken ISR
  (KAFKA-15583); before 4.0: linger.ms 0 (KIP-1030).

The 3.x profiles model KRaft mode (the broker session is the KRaft one, 9 s).
"""

from __future__ import annotations

VERSIONS = ("2.0", "2.8", "3.5", "3.9", "4.0")
NEWEST = VERSIONS[-1]

_ZOOKEEPER_2_5 = {
    "broker.broker.session.timeout.ms": 18000,  # zookeeper.session.timeout.ms (2.5+)
    "broker.model.quick.restart.keeps.isr": True,
    "broker.model.isr.broker.epochs": False,
    "broker.model.hw.frozen.below.min.isr": False,
    "producer.acks": "1",
    "producer.enable.idempotence": False,
    "producer.linger.ms": 0,
    "consumer.session.timeout.ms": 10000,
}

PROFILES: dict[str, dict[str, object]] = {
    "2.0": {**_ZOOKEEPER_2_5,
            "broker.broker.session.timeout.ms": 6000,  # zookeeper.session.timeout.ms before 2.5
            "broker.replica.lag.time.max.ms": 10000,
            "broker.model.isr.write": "zookeeper",
            "producer.retries": 0,
            "consumer.model.offset.validation": False,
            "broker.model.replica.fetch.fencing": False},
    "2.8": dict(_ZOOKEEPER_2_5),
    "3.5": {"broker.model.hw.frozen.below.min.isr": False, "producer.linger.ms": 0},
    "3.9": {"producer.linger.ms": 0},
    "4.0": {},
}

assert tuple(PROFILES) == VERSIONS


def profile(version: str) -> dict[str, object]:
    """The defaults a version changes (typed as the schema expects)."""
    return dict(PROFILES[version])
