"""Kafka version profiles (cluster.kafka.version): an era's defaults and model switches at once, each
overridable, shown by `kafkasim config`; and the ZooKeeper-era ISR write that bounds acks=1 loss under
isolation."""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.config import SCHEMA, load_config
from sim.config.versions import PROFILES, VERSIONS
from sim.result import RunResult
from sim.run import simulate

from simtest import config


def test_the_newest_profile_is_the_schema_defaults():
    cfg = load_config()
    assert cfg["cluster.kafka.version"] == VERSIONS[-1] and cfg.from_profile == frozenset()
    assert all(cfg[name] == key.default for name, key in SCHEMA.items() if key.inherits is None)


def test_a_profile_sets_its_eras_defaults_and_a_users_value_wins():
    cfg = load_config(overrides={"cluster.kafka.version": "2.0", "producer.linger.ms": 7})
    assert cfg["broker.broker.session.timeout.ms"] == 6000 and cfg["broker.replica.lag.time.max.ms"] == 10000
    assert cfg["producer.acks"] == "1" and cfg["producer.enable.idempotence"] is False
    assert cfg["broker.model.isr.write"] == "zookeeper" and cfg["consumer.model.offset.validation"] is False
    assert cfg["producer.linger.ms"] == 7 and "producer.linger.ms" not in cfg.from_profile
    assert "producer.acks" in cfg.from_profile and "producer.acks" not in cfg.explicit
    # the profile's values are defaults, not choices: Kafka's implicit rules treat them so
    assert not any("enable.idempotence" in note for note in cfg.notes)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_profile_is_valid_and_names_only_schema_keys(version):
    assert set(PROFILES[version]) <= set(SCHEMA)
    assert all(SCHEMA[name].default != value for name, value in PROFILES[version].items())  # only what changed
    cfg = load_config(overrides={"cluster.kafka.version": version})
    assert cfg.from_profile == set(PROFILES[version])
    assert all(cfg[name] == value for name, value in PROFILES[version].items())


def test_kafkasim_config_says_which_values_came_from_the_profile(capsys):
    assert main(["config", "--set", "cluster.kafka.version=2.8", "--set", "producer.acks=all"]) == 0
    out = capsys.readouterr().out
    assert "broker.broker.session.timeout.ms = 18000  # kafka.version 2.8 profile" in out
    assert "producer.acks = 'all'\n" in out  # chosen on the command line, not from the profile


def _zombie(**overrides):
    # RF 3, acks=1, 500 msg/s; the leader is cut off from the other brokers and the controller (ZooKeeper)
    # from 10 s to 25 s while its clients still reach it
    return RunResult.from_cluster(simulate(config(
        cluster__brokers=3, topic__replication__factor=3, producer__acks="1", workload__rate=500,
        workload__duration=40, faults=[{"at": 10, "action": "isolate", "target": "leader",
                                        "from": ["brokers", "controller"], "duration": 15}], **overrides)), 0)


def test_before_2_7_an_isolated_leaders_isr_write_blocks_its_produce_requests():
    # Kafka 2.0: replica.lag.time.max.ms 10 s. At the first ISR check after the followers lag 10 s (checks every
    # 5 s: at 20 s) the leader tries to shrink the ISR in ZooKeeper, which it cannot reach: the write waits
    # holding the partition's lock, and acks=1 requests stop being acknowledged. The records acknowledged
    # meanwhile (10 s .. 20 s, about 5,000) are lost when the network heals and it truncates.
    zookeeper = _zombie(cluster__kafka__version="2.0")
    lost = zookeeper.outcomes["lost_acked"]
    assert 500 * 9 < lost < 500 * 11
    # the same era with KRaft's asynchronous AlterPartition: acknowledged until the heal, about 15 s' worth
    kraft = _zombie(cluster__kafka__version="2.0", broker__model__isr__write="alter-partition")
    assert 500 * 14 < kraft.outcomes["lost_acked"] < 500 * 16
