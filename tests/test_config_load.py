"""Loading scenarios: TOML spellings, faults, precedence, and one-line errors for every kind of bad input."""

import json
import pickle
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import SCHEMA, ConfigError, Fault, KafkasimInputError, ScenarioError, load_config

SCENARIO_QUOTED = """
[cluster]
brokers = 3

[topic]
partitions = 2
"replication.factor" = 3
"min.insync.replicas" = 2

[producer]
acks = "all"
"linger.ms" = 20
"app.callback" = "fire-and-forget"

[consumer]
"enable.auto.commit" = false
"app.commit" = "sync"

[workload]
duration = "2m"
rate = 500
"""

SCENARIO_NESTED = """
[cluster]
brokers = 3

[topic]
partitions = 2
replication.factor = 3
min.insync.replicas = 2

[producer]
acks = "all"
linger.ms = 20

[producer.app]
callback = "fire-and-forget"

[consumer.enable.auto]
commit = false

[consumer.app]
commit = "sync"

[workload]
duration = 120
rate = 500.0
"""


def write(tmp_path, text, name="scenario.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_quoted_and_nested_spellings_give_the_same_config(tmp_path):
    quoted = load_config(write(tmp_path, SCENARIO_QUOTED, "a.toml"))
    nested = load_config(write(tmp_path, SCENARIO_NESTED, "b.toml"))
    assert quoted == nested
    assert quoted.explicit == nested.explicit
    assert quoted["producer.linger.ms"] == 20 and quoted["producer.app.callback"] == "fire-and-forget"
    assert quoted["consumer.enable.auto.commit"] is False and quoted["workload.duration"] == 120.0


def test_design_md_example_scenario_loads(tmp_path):
    cfg = load_config(write(tmp_path, """
        [cluster]
        brokers = 3
        [topic]
        partitions = 1
        "replication.factor" = 3
        "min.insync.replicas" = 2
        "unclean.leader.election.enable" = false
        [broker]
        "log.flush.interval.messages" = 9223372036854775807
        [producer]
        acks = "all"
        "linger.ms" = 5
        [consumer]
        "enable.auto.commit" = true
        [workload]
        duration = 60
        rate = 1000
        [sim]
        seed = 1
        [[faults]]
        at = 20
        action = "crash"
        target = "leader"
        duration = 10
        """))
    assert cfg.faults == (Fault(20.0, "crash", "leader", 10.0, (), 0, 0),)
    assert cfg.notes == ()


def test_faults_parse_sort_and_normalise(tmp_path):
    cfg = load_config(write(tmp_path, """
        [cluster]
        brokers = 5
        [topic]
        partitions = 3
        [workload]
        duration = "3m"
        [[faults]]
        at = "2m"
        action = "power_loss"
        target = "all-brokers"
        [[faults]]
        at = "250ms"
        action = "isolate"
        target = "broker:04"
        from = ["clients", "brokers"]
        partition = 2
        [[faults]]
        at = 30
        action = "pause"
        target = "followers"
        [[faults]]
        at = "2m"
        action = "consumer_crash"
        duration = "1.5s"
        [[faults]]
        at = 30
        action = "isolate"
        target = "leader"
        [[faults]]
        at = 31
        action = "isolate"
        target = "leader"
        from = "controller"
        """))
    assert cfg.faults == (
        Fault(0.25, "isolate", "broker:4", None, ("brokers", "clients"), 2, 1),
        Fault(30.0, "pause", "followers", None, (), 0, 2),
        Fault(30.0, "isolate", "leader", None, ("brokers", "controller", "clients"), 0, 4),
        Fault(31.0, "isolate", "leader", None, ("controller",), 0, 5),
        Fault(120.0, "power_loss", "all-brokers", None, (), 0, 0),
        Fault(120.0, "consumer_crash", "consumer:0", 1.5, (), 0, 3),
    )


def test_network_faults_take_a_rate_or_extra_ms_and_may_target_a_client(tmp_path):
    cfg = load_config(write(tmp_path, """
        [[faults]]
        at = 1
        action = "packet_loss"
        target = "leader"
        from = "producer"
        rate = 0.25
        duration = 2
        [[faults]]
        at = 2
        action = "latency_spike"
        target = "producer"
        extra_ms = 40
        [[faults]]
        at = 3
        action = "isolate"
        target = "consumer"
        [[faults]]
        at = 4
        action = "heal"
        target = "consumer"
        """))
    assert cfg.faults == (
        Fault(1.0, "packet_loss", "leader", 2.0, ("producer",), 0, 0, 0.25, None),
        Fault(2.0, "latency_spike", "producer", None, ("brokers", "controller", "clients"), 0, 1, None, 40.0),
        Fault(3.0, "isolate", "consumer:0", None, ("brokers", "controller", "clients"), 0, 2),
        Fault(4.0, "heal", "consumer:0", None, (), 0, 3),
    )


def test_fault_at_the_very_end_of_production_is_allowed():
    cfg = load_config(overrides={"faults": [{"at": "1m", "action": "producer_crash"}]})
    assert cfg.faults[0].at == 60.0 and cfg.faults[0].target == "producer"


def test_precedence_lowest_first(tmp_path):
    scenario = write(tmp_path, '[producer]\n"linger.ms" = 7\n[sim]\nseed = 3\n')
    props = tmp_path / "producer.properties"
    props.write_text("linger.ms=8\n")
    assert load_config(scenario)["producer.linger.ms"] == 7
    assert load_config(scenario, producer_config=props)["producer.linger.ms"] == 8
    assert load_config(scenario, producer_config=props, sets=["producer.linger.ms=9"])["producer.linger.ms"] == 9
    cfg = load_config(scenario, producer_config=props, sets=["producer.linger.ms=9"],
                      overrides={"producer.linger.ms": 10})
    assert cfg["producer.linger.ms"] == 10


def test_seed_override_wins_over_everything(tmp_path):
    scenario = write(tmp_path, "[sim]\nseed = 3\n")
    assert load_config(scenario)["sim.seed"] == 3
    assert load_config(scenario, sets=["sim.seed=4"])["sim.seed"] == 4
    assert load_config(scenario, sets=["sim.seed=4"], overrides={"sim.seed": 5})["sim.seed"] == 5
    cfg = load_config(scenario, sets=["sim.seed=4"], overrides={"sim.seed": 5}, seed=6)
    assert cfg["sim.seed"] == 6 and "sim.seed" in cfg.explicit
    assert load_config(seed=0)["sim.seed"] == 0


def test_explicit_collects_every_source(tmp_path):
    scenario = write(tmp_path, "[cluster]\nbrokers = 4\n")
    props = tmp_path / "consumer.properties"
    props.write_text("max.poll.records=10\n")
    cfg = load_config(scenario, consumer_config=props, sets=["producer.acks=1"],
                      overrides={"network.packet.loss": 0.01}, seed=9)
    assert cfg.explicit == {"cluster.brokers", "consumer.max.poll.records", "producer.acks",
                            "network.packet.loss", "sim.seed"}


def test_set_values_are_parsed_by_kind():
    cfg = load_config(sets=["producer.acks=-1", "producer.enable.idempotence=TRUE", "workload.rate=20",
                            "workload.duration=90s", "network.latency.ms=1e-1", "topic.partitions= 4 ",
                            "producer.app.callback=fire-and-forget"])
    assert cfg["producer.acks"] == "all" and cfg["producer.enable.idempotence"] is True
    assert cfg["workload.rate"] == 20.0 and cfg["workload.duration"] == 90.0
    assert cfg["network.latency.ms"] == 0.1 and cfg["topic.partitions"] == 4


def test_set_splits_at_the_first_equals_sign():
    with pytest.raises(ConfigError) as info:
        load_config(sets=["producer.acks=all=1"])
    assert str(info.value) == "producer.acks = 'all=1': must be one of '0', '1', 'all'"


@pytest.mark.parametrize("value, expected", [(-1, "all"), ("-1", "all"), (0, "0"), (1, "1"), ("1", "1"), ("all", "all")])
def test_acks_numeric_forms(value, expected):
    assert load_config(overrides={"producer.acks": value, "producer.enable.idempotence": False})["producer.acks"] == expected


def test_overrides_accept_integral_floats_for_ints():
    assert load_config(overrides={"producer.linger.ms": 5.0})["producer.linger.ms"] == 5


# ------------------------------------------------------------------------------ the bad-input table

_FAULT = '[[faults]]\nat = {at}\naction = "{action}"\ntarget = "{target}"\n'

BAD_INPUTS = [
    # (id, how, expected message (fragment), error class)
    ("unknown-key", dict(overrides={"producer.lingr.ms": 5}),
     "producer.lingr.ms = 5: unknown key (did you mean producer.linger.ms?)", ConfigError),
    ("unknown-key-toml", dict(toml="[producer]\nlingr.ms = 5\n"),
     "scenario.toml: producer.lingr.ms = 5: unknown key (did you mean producer.linger.ms?)", ConfigError),
    ("unknown-section", dict(toml="[prodcer]\nacks = 1\n"),
     "scenario.toml: [prodcer]: unknown section (did you mean producer?)", ConfigError),
    ("key-outside-section", dict(toml="seed = 3\n"),
     "scenario.toml: seed = 3: keys belong in a [section] (did you mean sim.seed?)", ConfigError),
    ("section-not-table", dict(toml="producer = 3\n"),
     "scenario.toml: producer = 3: must be a table ([producer])", ConfigError),
    ("twice", dict(toml='[producer]\n"linger.ms" = 5\n[producer.linger]\nms = 6\n'),
     "producer.linger.ms = 6: given twice, as \"linger.ms\" and linger.ms", ConfigError),
    ("bool-for-int", dict(toml="[producer]\nretries = true\n"),
     "scenario.toml: producer.retries = true: expected an integer", ConfigError),
    ("string-for-int", dict(toml='[producer]\n"linger.ms" = "5"\n'),
     "producer.linger.ms = '5': expected an integer", ConfigError),
    ("fraction-for-int", dict(sets=["producer.retries=1.5"]),
     "producer.retries = '1.5': expected an integer", ConfigError),
    ("int-for-bool", dict(overrides={"producer.enable.idempotence": 1}),
     "producer.enable.idempotence = 1: expected true or false", ConfigError),
    ("bad-bool-text", dict(sets=["consumer.enable.auto.commit=yes"]),
     "consumer.enable.auto.commit = 'yes': expected true or false", ConfigError),
    ("nan", dict(overrides={"workload.rate": float("nan")}),
     "workload.rate = nan: expected a finite number", ConfigError),
    ("unset-required", dict(overrides={"producer.linger.ms": None}),
     "producer.linger.ms = None: must be set", ConfigError),
    ("below-range", dict(overrides={"cluster.brokers": 0}),
     "cluster.brokers = 0: must be >= 1 and <= 64", ConfigError),
    ("above-range", dict(sets=["producer.retries=2147483648"]),
     "producer.retries = '2147483648': must be >= 0 and <= 2147483647", ConfigError),
    ("exclusive-range", dict(overrides={"network.packet.loss": 1.0}),
     "network.packet.loss = 1.0: must be >= 0 and < 1", ConfigError),
    ("zero-duration", dict(overrides={"workload.duration": 0}),
     "workload.duration = 0: must be > 0", ConfigError),
    ("negative-duration", dict(sets=["workload.duration=-5"]),
     "workload.duration = '-5': expected a non-negative duration", ConfigError),
    ("enum", dict(overrides={"producer.acks": "2"}),
     "producer.acks = '2': must be one of '0', '1', 'all'", ConfigError),
    ("enum-case", dict(sets=["consumer.auto.offset.reset=Earliest"]),
     "consumer.auto.offset.reset = 'Earliest': must be one of 'latest', 'earliest', 'none'", ConfigError),
    ("rf-above-brokers", dict(overrides={"cluster.brokers": 2, "topic.replication.factor": 3}),
     "topic.replication.factor = 3: exceeds cluster.brokers = 2", ConfigError),
    ("min-isr-above-rf", dict(toml='[topic]\n"replication.factor" = 2\n"min.insync.replicas" = 3\n'),
     "scenario.toml: topic.min.insync.replicas = 3: exceeds topic.replication.factor = 2", ConfigError),
    ("fetch-wait-above-lag", dict(overrides={"broker.replica.fetch.wait.max.ms": 40000}),
     "broker.replica.fetch.wait.max.ms = 40000: must be <= replica.lag.time.max.ms = 30000", ConfigError),
    ("explicit-delivery-timeout", dict(overrides={"producer.delivery.timeout.ms": 1000}),
     "producer.delivery.timeout.ms = 1000: must be >= linger.ms + request.timeout.ms = 30005", ConfigError),
    ("idempotence-acks", dict(toml='[producer]\nacks = 1\n"enable.idempotence" = true\n'),
     "scenario.toml: producer.acks = '1': enable.idempotence=true requires acks=all", ConfigError),
    ("idempotence-retries", dict(sets=["producer.enable.idempotence=true", "producer.retries=0"]),
     "producer.retries = 0: enable.idempotence=true requires retries > 0", ConfigError),
    ("idempotence-in-flight", dict(overrides={"producer.enable.idempotence": True,
                                              "producer.max.in.flight.requests.per.connection": 6}),
     "producer.max.in.flight.requests.per.connection = 6: enable.idempotence=true requires "
     "max.in.flight.requests.per.connection <= 5", ConfigError),
    ("fault-no-such-broker", dict(toml=_FAULT.format(at=1, action="crash", target="broker:7")),
     "scenario.toml: faults[0].target = 'broker:7': no such broker (cluster.brokers = 3)", ConfigError),
    ("fault-after-end", dict(toml=_FAULT.format(at='"61s"', action="crash", target="leader")),
     "faults[0].at = 61.0: after the end of production (workload.duration = 60.0 s)", ConfigError),
    ("fault-partition", dict(toml=_FAULT.format(at=1, action="crash", target="leader") + "partition = 1\n"),
     "faults[0].partition = 1: no such partition (topic.partitions = 1)", ConfigError),
    ("fault-bad-partition", dict(toml=_FAULT.format(at=1, action="crash", target="leader") + "partition = -1\n"),
     "faults[0].partition = -1: expected an integer >= 0", ConfigError),
    ("fault-bad-action", dict(toml=_FAULT.format(at=1, action="crsh", target="leader")),
     "faults[0].action = 'crsh': unknown action (did you mean crash?)", ConfigError),
    ("fault-unknown-action", dict(toml=_FAULT.format(at=1, action="explode", target="leader")),
     "faults[0].action = 'explode': unknown action (one of crash, power_loss,", ConfigError),
    ("fault-unknown-field", dict(toml='[[faults]]\nat = 1\naction = "crash"\ntagret = "leader"\n'),
     "faults[0].tagret = 'leader': unknown field (did you mean target?)", ConfigError),
    ("fault-missing-at", dict(toml='[[faults]]\naction = "crash"\ntarget = "leader"\n'),
     "scenario.toml: faults[0].at: required", ConfigError),
    ("fault-missing-target", dict(toml='[[faults]]\nat = 1\naction = "crash"\n'),
     "faults[0].target: required for crash", ConfigError),
    ("fault-bad-at", dict(toml=_FAULT.format(at='"soon"', action="crash", target="leader")),
     "scenario.toml: faults[0].at = 'soon': expected a non-negative duration", ConfigError),
    ("fault-bad-target", dict(toml=_FAULT.format(at=1, action="crash", target="broker-1")),
     "faults[0].target = 'broker-1': must be broker:N, leader, followers, all-brokers, producer, consumer or "
     "consumer:N",
     ConfigError),
    ("fault-producer-crash-target", dict(toml=_FAULT.format(at=1, action="producer_crash", target="leader")),
     "faults[0].target = 'leader': producer_crash only targets producer", ConfigError),
    ("fault-broker-action-on-client", dict(toml=_FAULT.format(at=1, action="crash", target="producer")),
     "faults[0].target = 'producer': crash targets brokers", ConfigError),
    ("fault-from-not-isolate", dict(toml=_FAULT.format(at=1, action="crash", target="leader") + 'from = "all"\n'),
     "faults[0].from = 'all': only for isolate, packet_loss, latency_spike", ConfigError),
    ("fault-bad-from", dict(toml=_FAULT.format(at=1, action="isolate", target="leader") + 'from = ["clients", "disk"]\n'),
     "faults[0].from = ['clients', 'disk']: must be all or one or a list of brokers, controller, clients, producer, "
     "consumer", ConfigError),
    ("fault-loss-without-rate", dict(toml=_FAULT.format(at=1, action="packet_loss", target="producer")),
     "scenario.toml: faults[0].rate: required for packet_loss", ConfigError),
    ("fault-loss-rate-above-one", dict(toml=_FAULT.format(at=1, action="packet_loss", target="leader") + "rate = 1.5\n"),
     "faults[0].rate = 1.5: expected a finite number >= 0 and <= 1", ConfigError),
    ("fault-rate-on-spike", dict(toml=_FAULT.format(at=1, action="latency_spike", target="leader")
                                 + "rate = 0.5\nextra_ms = 5\n"),
     "faults[0].rate = 0.5: only for packet_loss", ConfigError),
    ("fault-spike-without-extra", dict(toml=_FAULT.format(at=1, action="latency_spike", target="broker:1")),
     "faults[0].extra_ms: required for latency_spike", ConfigError),
    ("fault-negative-extra", dict(toml=_FAULT.format(at=1, action="latency_spike", target="producer")
                                  + "extra_ms = -3\n"),
     "faults[0].extra_ms = -3: expected a finite number >= 0", ConfigError),
    ("fault-pause-the-producer", dict(toml=_FAULT.format(at=1, action="pause", target="producer")),
     "faults[0].target = 'producer': pause targets brokers", ConfigError),
    ("fault-zero-duration", dict(toml=_FAULT.format(at=1, action="pause", target="leader") + "duration = 0\n"),
     "faults[0].duration = 0: must be > 0", ConfigError),
    ("fault-duration-on-restart", dict(toml=_FAULT.format(at=1, action="restart", target="leader") + "duration = 5\n"),
     "faults[0].duration = 5: not allowed for restart", ConfigError),
    ("second-fault-index", dict(toml=_FAULT.format(at=1, action="crash", target="leader")
                                + _FAULT.format(at=2, action="crash", target="broker:3")),
     "faults[1].target = 'broker:3': no such broker", ConfigError),
    ("faults-not-array", dict(toml="faults = 5\n"),
     "scenario.toml: faults = 5: must be a list of tables ([[faults]])", ConfigError),
    ("not-modelled-group-protocol", dict(toml='[consumer.group]\nprotocol = "consumer"\n'),
     "scenario.toml: consumer.group.protocol = 'consumer': not modelled yet", ConfigError),
    ("heartbeat-not-below-session", dict(sets=["consumer.heartbeat.interval.ms=45000"]),
     "consumer.heartbeat.interval.ms = 45000: must be lower than session.timeout.ms = 45000", ConfigError),
    ("session-below-group-min", dict(sets=["consumer.session.timeout.ms=5000"]),
     "consumer.session.timeout.ms = 5000: outside the coordinator's group.min/max.session.timeout.ms = 6000 .. "
     "1800000", ConfigError),
    ("fault-no-such-member", dict(toml=_FAULT.format(at=1, action="consumer_crash", target="consumer:1")),
     "faults[0].target = 'consumer:1': no such group member (consumer.app.members = 1)", ConfigError),
    ("fault-consumer-error-on-broker", dict(toml=_FAULT.format(at=1, action="consumer_error", target="leader")),
     "faults[0].target = 'leader': consumer_error only targets consumer or consumer:N", ConfigError),
    ("fault-consumer-error-duration", dict(toml=_FAULT.format(at=1, action="consumer_error", target="consumer")
                                          + "duration = 1\n"),
     "faults[0].duration = 1: not allowed for consumer_error", ConfigError),
    ("coordinator-not-a-broker", dict(sets=["cluster.group.coordinator=3"]),
     "cluster.group.coordinator = 3: no such broker (cluster.brokers = 3)", ConfigError),
    ("fault-stall-without-duration", dict(toml=_FAULT.format(at=1, action="consumer_stall", target="consumer:0")),
     "faults[0].duration: required for consumer_stall", ConfigError),
    ("fault-crash-on-member", dict(toml=_FAULT.format(at=1, action="crash", target="consumer:0")),
     "faults[0].target = 'consumer:0': crash targets brokers", ConfigError),
    ("resend-fire-and-forget", dict(overrides={"producer.app.resend": True,
                                              "producer.app.callback": "fire-and-forget"}),
     "producer.app.resend = true: needs producer.app.callback = 'checked'", ConfigError),
    ("resend-on-restart-fire-and-forget", dict(sets=["producer.app.resend.on.restart=true",
                                                     "producer.app.callback=fire-and-forget"]),
     "producer.app.resend.on.restart = true: needs producer.app.callback = 'checked'", ConfigError),
    ("set-without-equals", dict(sets=["producer.acks"]),
     "producer.acks: --set needs section.key=value", ConfigError),
    ("set-unknown-key", dict(sets=["producer.ack=all"]),
     "producer.ack = 'all': unknown key (did you mean producer.acks?)", ConfigError),
    ("malformed-toml", dict(toml="[producer\nacks = 1\n"),
     "scenario.toml: malformed TOML: ", ScenarioError),
    ("missing-file", dict(missing="nope.toml"), "nope.toml: file not found", ScenarioError),
]


def _load(tmp_path, how):
    kwargs = {k: v for k, v in how.items() if k in ("sets", "overrides")}
    if "toml" in how:
        kwargs["scenario"] = write(tmp_path, how["toml"])
    if "missing" in how:
        kwargs["scenario"] = tmp_path / how["missing"]
    return load_config(**kwargs)


@pytest.mark.parametrize("how, expected, error", [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input(tmp_path, how, expected, error):
    with pytest.raises(error) as info:
        _load(tmp_path, how)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert isinstance(info.value, KafkasimInputError)
    if "toml" in how or "missing" in how:
        assert message.startswith(str(tmp_path)), "errors from a file name the file first"
    else:
        assert message.startswith(expected)


def test_malformed_toml_keeps_tomllib_position(tmp_path):
    with pytest.raises(ScenarioError, match=r"malformed TOML: .*\(at line 1, column \d+\)"):
        load_config(write(tmp_path, "[producer\nacks = 1\n"))


def test_unreadable_scenario(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_config(tmp_path)  # a directory
    (tmp_path / "latin1.toml").write_bytes(b'[sim]\n# caf\xe9\nseed = 1\n')
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        load_config(tmp_path / "latin1.toml")


def test_errors_carry_key_value_reason_and_pickle():
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"producer.acks": "2"})
    err = info.value
    assert (err.key, err.value, err.source) == ("producer.acks", "2", None)
    assert err.reason == "must be one of '0', '1', 'all'"
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is ConfigError and str(clone) == str(err)
    scenario_error = ScenarioError("file not found", "x.toml")
    assert str(pickle.loads(pickle.dumps(scenario_error))) == "x.toml: file not found"


def test_long_values_are_shortened_in_messages():
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"producer.acks": "x" * 500})
    assert len(str(info.value)) < 200


_any_value = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.integers(), st.floats(),
                       st.sampled_from(["all", "1", "-1", "sync", "async", "latest", "5", "1.5", "250ms", ""]),
                       st.text(max_size=10))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(SCHEMA)), _any_value, max_size=6))
def test_any_overrides_give_a_config_or_a_one_line_error(overrides):
    try:
        cfg = load_config(overrides=overrides)
    except KafkasimInputError as err:
        assert "\n" not in str(err) and str(err)
        return
    json.dumps(cfg.to_dict())
    # Effective values are a fixed point: feeding them back explicitly changes nothing.
    assert load_config(overrides=dict(cfg)) == cfg


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(SCHEMA)), st.text(max_size=8)), max_size=4))
def test_any_set_strings_give_a_config_or_a_one_line_error(pairs):
    try:
        load_config(sets=[f"{name}={value}" for name, value in pairs])
    except KafkasimInputError as err:
        assert "\n" not in str(err)
