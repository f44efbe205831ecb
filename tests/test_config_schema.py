"""The schema's defaults and the Config object: Kafka 4.x defaults, implicit rules, immutability, units."""

import dataclasses
import itertools
import json
import math
import pickle
from collections.abc import Mapping

import pytest

from sim.config import SCHEMA, SECTIONS, Config, ConfigError, Fault, Key, load_config, parse_duration
from sim.config.validate import coerce

# Typed out from ../shared/reference/kafka-internals.md section 0 (Kafka 4.x), not read from SCHEMA.
KAFKA_4_DEFAULTS = {
    "producer.acks": "all",
    "producer.enable.idempotence": True,
    "producer.retries": 2147483647,
    "producer.max.in.flight.requests.per.connection": 5,
    "producer.delivery.timeout.ms": 120000,
    "producer.request.timeout.ms": 30000,
    "producer.linger.ms": 5,
    "producer.batch.size": 16384,
    "producer.buffer.memory": 33554432,
    "producer.max.block.ms": 60000,
    "producer.max.request.size": 1048576,
    "producer.retry.backoff.ms": 100,
    "producer.retry.backoff.max.ms": 1000,
    "topic.min.insync.replicas": 1,
    "topic.replication.factor": 1,
    "topic.partitions": 1,
    "topic.unclean.leader.election.enable": False,
    "broker.log.flush.interval.messages": 9223372036854775807,
    "broker.log.flush.scheduler.interval.ms": 9223372036854775807,
    "broker.replica.lag.time.max.ms": 30000,
    "broker.replica.fetch.wait.max.ms": 500,
    "broker.replica.fetch.min.bytes": 1,
    "broker.replica.fetch.max.bytes": 1048576,
    "broker.replica.fetch.backoff.ms": 1000,
    "broker.broker.heartbeat.interval.ms": 2000,
    "broker.broker.session.timeout.ms": 9000,
    "broker.vm.dirty_writeback_centisecs": 500,
    "broker.vm.dirty_expire_centisecs": 3000,
    "broker.vm.dirty_background_ratio": 10,
    "consumer.enable.auto.commit": True,
    "consumer.auto.commit.interval.ms": 5000,
    "consumer.auto.offset.reset": "latest",
    "consumer.max.poll.records": 500,
    "consumer.fetch.min.bytes": 1,
    "consumer.fetch.max.wait.ms": 500,
    "consumer.default.api.timeout.ms": 60000,
}


@pytest.fixture(scope="module")
def defaults() -> Config:
    return load_config()


@pytest.mark.parametrize("name, expected", KAFKA_4_DEFAULTS.items())
def test_defaults_match_kafka_4(defaults, name, expected):
    assert defaults[name] == expected
    assert type(defaults[name]) is type(expected)


def test_unset_flush_settings_inherit_the_broker_values(defaults):
    assert SCHEMA["topic.flush.messages"].default is None
    assert defaults["topic.flush.messages"] == 2**63 - 1
    assert defaults["broker.log.flush.interval.ms"] == 2**63 - 1  # from log.flush.scheduler.interval.ms
    cfg = load_config(overrides={"broker.log.flush.scheduler.interval.ms": 1000, "broker.log.flush.interval.messages": 50})
    assert cfg["broker.log.flush.interval.ms"] == 1000
    assert cfg["topic.flush.ms"] == 1000
    assert cfg["topic.flush.messages"] == 50
    assert load_config(overrides={"topic.flush.ms": 10})["topic.flush.ms"] == 10


def test_schema_shape():
    assert SECTIONS == ("cluster", "topic", "broker", "producer", "consumer", "workload", "network", "chaos", "sim")
    assert [k.section for k in SCHEMA.values()] == sorted((k.section for k in SCHEMA.values()), key=SECTIONS.index)
    assert SCHEMA["broker.broker.heartbeat.interval.ms"].kafka_name == "broker.heartbeat.interval.ms"
    for name, key in SCHEMA.items():
        assert isinstance(key, Key) and key.name == name and name.startswith(key.section + ".")
        assert key.kind in ("int", "float", "bool", "enum", "duration")
        assert key.origin in ("kafka", "linux", "model")
        assert key.doc and "\n" not in key.doc and key.doc.endswith(".")
        assert (key.kind == "enum") == bool(key.choices)
        assert key.optional == (key.default is None)
        if key.inherits:
            assert key.inherits in SCHEMA and SCHEMA[key.inherits].unit == key.unit


@pytest.mark.parametrize("name", list(SCHEMA))
def test_every_default_passes_its_own_checks(name):
    key = SCHEMA[name]
    assert coerce(key, key.default) == key.default


def test_model_keys_are_marked_as_such():
    model = {name for name, key in SCHEMA.items() if key.origin == "model"}
    assert {"producer.app.callback", "consumer.app.commit", "network.packet.loss", "sim.seed", "cluster.brokers"} <= model
    assert {k for k, key in SCHEMA.items() if key.origin == "linux"} == {
        "broker.vm.dirty_writeback_centisecs", "broker.vm.dirty_expire_centisecs", "broker.vm.dirty_background_ratio"}


# --------------------------------------------------------------------------- Kafka's implicit rules


def test_default_delivery_timeout_is_raised_silently_with_a_note():
    cfg = load_config(overrides={"producer.linger.ms": 100000})
    assert cfg["producer.delivery.timeout.ms"] == 130000
    assert "producer.delivery.timeout.ms" not in cfg.explicit
    assert ("producer.delivery.timeout.ms = 130000: raised from the default 120000 to linger.ms + request.timeout.ms"
            in cfg.notes)


def test_delivery_timeout_floor_is_clamped_to_java_int_max():
    cfg = load_config(overrides={"producer.linger.ms": 2**63 - 1})
    assert cfg["producer.delivery.timeout.ms"] == 2**31 - 1


def test_explicit_delivery_timeout_equal_to_the_floor_is_fine():
    cfg = load_config(overrides={"producer.delivery.timeout.ms": 30005})
    assert cfg["producer.delivery.timeout.ms"] == 30005 and cfg.notes == ()


def test_idempotence_implicitly_disabled_by_acks_1():
    cfg = load_config(overrides={"producer.acks": "1"})
    assert cfg["producer.enable.idempotence"] is False
    assert cfg.notes == ("producer.enable.idempotence = false: implicitly disabled because acks=1",)


def test_idempotence_note_lists_every_conflict():
    cfg = load_config(sets=["producer.retries=0", "producer.max.in.flight.requests.per.connection=6"])
    assert cfg.notes == ("producer.enable.idempotence = false: implicitly disabled because "
                         "retries=0, max.in.flight.requests.per.connection=6",)


def test_explicit_idempotence_conflict_is_an_error():
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"producer.enable.idempotence": True, "producer.acks": "1"})
    assert str(info.value) == "producer.acks = '1': enable.idempotence=true requires acks=all"


def test_idempotence_rule_matrix():
    """Kafka's ProducerConfig rule over every combination, against an independent statement of it."""
    for acks, retries, in_flight, idem in itertools.product(
            ("0", "1", "all"), (0, 3), (1, 5, 6), ("unset", True, False)):
        overrides = {"producer.acks": acks, "producer.retries": retries,
                     "producer.max.in.flight.requests.per.connection": in_flight}
        if idem != "unset":
            overrides["producer.enable.idempotence"] = idem
        conflict = acks != "all" or retries == 0 or in_flight > 5
        case = f"{overrides}"
        if idem is True and conflict:
            with pytest.raises(ConfigError, match="enable.idempotence=true requires"):
                load_config(overrides=overrides)
            continue
        cfg = load_config(overrides=overrides)
        expected = idem is not False and not conflict
        assert cfg["producer.enable.idempotence"] is expected, case
        implicit = idem == "unset" and conflict
        assert any("implicitly disabled" in n for n in cfg.notes) == implicit, case


def test_replace_reapplies_rules_from_the_user_inputs():
    cfg = load_config(overrides={"producer.acks": "1"})
    back = cfg.replace({"producer.acks": "all"})
    assert back["producer.enable.idempotence"] is True and back.notes == ()
    raised = load_config(overrides={"producer.linger.ms": 100000}).replace({"producer.linger.ms": 0})
    assert raised["producer.delivery.timeout.ms"] == 120000


def test_notes_for_kafka_warnings():
    cfg = load_config(overrides={"producer.retry.backoff.ms": 2000, "broker.broker.heartbeat.interval.ms": 5000,
                                 "consumer.enable.auto.commit": False})
    assert len(cfg.notes) == 3
    assert any(n.startswith("producer.retry.backoff.max.ms = 1000: below retry.backoff.ms = 2000") for n in cfg.notes)
    assert any(n.startswith("broker.broker.heartbeat.interval.ms = 5000: more than half") for n in cfg.notes)
    assert any("the application never commits" in n for n in cfg.notes)
    assert all("\n" not in n for n in cfg.notes)


# ------------------------------------------------------------------------------------ Config object


def test_config_is_an_ordered_immutable_mapping(defaults):
    assert isinstance(defaults, Mapping)
    assert list(defaults) == list(SCHEMA) and len(defaults) == len(SCHEMA)
    with pytest.raises(TypeError):
        defaults["producer.acks"] = "1"
    with pytest.raises(AttributeError):
        defaults.faults = ()
    with pytest.raises(AttributeError):
        del defaults.notes
    with pytest.raises(AttributeError):
        defaults._values = {}
    assert isinstance(defaults.faults, tuple) and isinstance(defaults.explicit, frozenset)
    assert isinstance(defaults.notes, tuple)


def test_fault_is_frozen():
    fault = Fault(at=1.0, action="crash", target="leader")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fault.at = 2.0
    assert fault.duration is None and fault.isolate_from == () and fault.partition == 0


def test_seconds_uses_the_unit_and_maps_never_to_inf(defaults):
    assert defaults.seconds("producer.linger.ms") == 0.005
    assert defaults.seconds("producer.delivery.timeout.ms") == 120.0
    assert defaults.seconds("broker.vm.dirty_writeback_centisecs") == 5.0
    assert defaults.seconds("workload.duration") == 60.0
    assert defaults.seconds("consumer.app.record.processing.ms") == pytest.approx(1e-4)
    assert defaults.seconds("broker.log.flush.scheduler.interval.ms") == math.inf
    assert defaults.seconds("topic.flush.ms") == math.inf
    assert defaults.seconds("producer.max.block.ms") == 60.0
    cfg = load_config(overrides={"producer.linger.ms": 2**62})
    assert cfg.seconds("producer.linger.ms") == math.inf
    with pytest.raises(ValueError, match="not a time"):
        defaults.seconds("producer.batch.size")
    with pytest.raises(KeyError):
        defaults.seconds("producer.lingr.ms")


def test_to_dict_is_json_and_complete(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[faults]]\nat = "1s"\naction = "isolate"\ntarget = "leader"\nfrom = "clients"\n')
    cfg = load_config(path)
    data = cfg.to_dict()
    assert list(data) == list(SCHEMA) + ["faults"]
    assert json.loads(json.dumps(data)) == data
    assert data["faults"] == [{"at": 1.0, "action": "isolate", "target": "leader", "duration": None,
                               "isolate_from": ["clients"], "partition": 0, "index": 0, "rate": None,
                               "extra_ms": None}]


def test_replace_gives_a_new_validated_config(defaults):
    changed = defaults.replace({"producer.acks": 0, "workload.rate": 50})
    assert changed["producer.acks"] == "0" and changed["workload.rate"] == 50.0
    assert defaults["producer.acks"] == "all"
    assert {"producer.acks", "workload.rate"} <= changed.explicit
    with pytest.raises(ConfigError, match="must be one of"):
        defaults.replace({"producer.acks": "2"})
    with_fault = defaults.replace({"faults": [{"at": 3, "action": "crash", "target": "broker:2"}]})
    assert with_fault.faults == (Fault(3.0, "crash", "broker:2"),)


def test_config_equality_hash_and_pickle(defaults):
    same = load_config()
    assert same == defaults and hash(same) == hash(defaults)
    assert defaults == dict(defaults)
    assert defaults != defaults.replace({"sim.seed": 2})
    clone = pickle.loads(pickle.dumps(defaults.replace({"producer.acks": "1"})))
    assert clone["producer.acks"] == "1" and clone.notes and clone.replace({"producer.acks": "all"})["producer.enable.idempotence"]


# --------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize("text, seconds", [
    ("250ms", 0.25), ("2m", 120.0), ("1.5h", 5400.0), ("10us", 1e-5), ("3 s", 3.0), (" 5 ", 5.0), (5, 5.0),
    (0.5, 0.5), ("0", 0.0), ("1e3ms", 1.0),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)
    assert type(parse_duration(text)) is float


@pytest.mark.parametrize("bad", ["-1s", -1, "abc", "5 days", "", True, float("nan"), float("inf"), "1e400s", None, [1]])
def test_parse_duration_rejects(bad):
    with pytest.raises(ConfigError, match="expected a non-negative duration"):
        parse_duration(bad)
