"""Checks and normalises values, then applies the cross-key rules, as Kafka's ``ConfigDef`` plus the
``postProcessParsedConfig`` / ``KafkaConfig.validateValues`` steps do.

``build_config`` is the single path to a ``Config``: per-key checks already happened when the inputs
were gathered (``coerce_all``); here come defaults, Kafka's implicit adjustments, cross-checks, faults.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .model import Config, Fault, Inputs
from ..faults.kinds import (ALL_PEERS, BROKERS, CHAOS_KINDS, CONSUMER, FAULT_KINDS, FORBIDDEN, PEERS, PER_BROKER,
                           PER_CONSUMER, PRODUCER, REQUIRED, TARGET_FORMS)
from .schema import FAULT_ACTIONS, FAULT_FIELDS, INT_MAX, SCHEMA, Key
from .versions import profile

# Values the model does not honour yet: rejected rather than silently ignored. Remove entries as
# the model learns them.
NOT_MODELLED_YET: dict[str, tuple[Any, ...]] = {
    "consumer.group.protocol": ("consumer",),
}

_INT_TEXT = re.compile(r"[+-]?\d+")
_MAX_DIGITS = 30  # Java's longest integer has 19 digits
_FLOAT_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DURATION_TEXT = re.compile(r"(?P<num>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)\s*(?P<unit>us|ms|s|m|h|d|y)?")
_DURATION_UNITS = {None: 1.0, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
                   "y": 365 * 86400.0}
_BROKER_TARGET = re.compile(r"broker:(\d+)")
_CONSUMER_TARGET = re.compile(r"consumer:(\d+)")


def suggest(name: str, candidates) -> str:
    """`` (did you mean X?)`` for the closest candidate, or an empty string."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


TRANSACTIONS = "not modelled (transactions: no transactional producer, no read_committed consumer)"
NOT_MODELLED_KEYS = {"producer.transactional.id": TRANSACTIONS, "producer.transaction.timeout.ms": TRANSACTIONS,
                     "consumer.isolation.level": TRANSACTIONS}


def unknown_key(name: str, value: Any, source: str | None = None) -> ConfigError:
    if name in NOT_MODELLED_KEYS:
        return ConfigError(name, value, NOT_MODELLED_KEYS[name], source)
    return ConfigError(name, value, "unknown key" + suggest(name, SCHEMA), source)


def parse_duration(value: Any, key: str = "duration") -> float:
    """Seconds from a number (seconds) or a string with a unit us, ms, s, m, h, d, y: ``"250ms"`` -> 0.25."""
    seconds = None
    if isinstance(value, str):
        match = _DURATION_TEXT.fullmatch(value.strip())
        seconds = float(match["num"]) * _DURATION_UNITS[match["unit"]] if match else None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= 0:
        seconds = float(value)
    if seconds is not None and math.isfinite(seconds):
        return seconds
    raise ConfigError(key, value, "expected a non-negative duration: seconds or a string such as 250ms, 10s, 2m, 30d")


def range_text(key: Key, big=str) -> str:
    """The allowed range in words, e.g. ``>= 0 and < 1``; ``big`` formats Java's int/long maxima."""
    parts = []
    if key.minimum is not None:
        parts.append(f"{'>' if key.min_exclusive else '>='} {key.minimum}")
    if key.maximum is not None:
        parts.append(f"{'<' if key.max_exclusive else '<='} {big(key.maximum)}")
    return " and ".join(parts)


def _in_range(key: Key, value: float) -> bool:
    lo, hi = key.minimum, key.maximum
    if lo is not None and (value <= lo if key.min_exclusive else value < lo):
        return False
    return hi is None or (value < hi if key.max_exclusive else value <= hi)


def _parse_int(key: Key, value: Any, text: bool) -> int:
    if text and _INT_TEXT.fullmatch(value):
        if len(value.lstrip("+-")) > _MAX_DIGITS:  # past any key's range (and Python's int-string limit)
            raise ConfigError(key.name, value, "must be " + range_text(key))
        return int(value)
    if not text and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if not text and isinstance(value, float) and value.is_integer():
        return int(value)
    raise ConfigError(key.name, value, "expected an integer")


def _parse_float(key: Key, value: Any, text: bool) -> float:
    if text and _FLOAT_TEXT.fullmatch(value):
        value = float(value)
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(key.name, value, "expected a finite number")
    return float(value)


def _parse_bool(key: Key, value: Any, text: bool) -> bool:
    if text and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, bool):
        return value
    raise ConfigError(key.name, value, "expected true or false")


def _parse_enum(key: Key, value: Any, text: bool) -> str:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = dict(key.aliases).get(value, value)
    if isinstance(value, str) and value in key.choices:
        return value
    raise ConfigError(key.name, value, "must be one of " + ", ".join(map(repr, key.choices)))


_PARSERS = {"int": _parse_int, "float": _parse_float, "bool": _parse_bool, "enum": _parse_enum,
            "duration": lambda key, value, text: parse_duration(value, key.name)}


def coerce(key: Key, value: Any, *, text: bool = False) -> Any:
    """The normalised value of one key, or a ConfigError. ``text``: the value is a string from a
    .properties file or --set and is parsed by the key's kind (Kafka trims such values)."""
    if value is None and not text:
        if key.optional:
            return None
        raise ConfigError(key.name, value, "must be set (this key cannot be unset)")
    try:
        parsed = _PARSERS[key.kind](key, value.strip() if text else value, text)
    except ConfigError as err:
        raise ConfigError(key.name, value, err.reason) from None
    if key.kind in ("int", "float", "duration") and not _in_range(key, parsed):
        raise ConfigError(key.name, value, "must be " + range_text(key))
    return parsed


def coerce_all(raw: Mapping[str, Any], *, text: bool = False, source: str | None = None) -> dict[str, Any]:
    """Check every key of ``raw`` exists and coerce its value; errors name ``source``."""
    out = {}
    for name, value in raw.items():
        if name not in SCHEMA:
            raise unknown_key(name, value, source)
        try:
            out[name] = coerce(SCHEMA[name], value, text=text)
        except ConfigError as err:
            raise err.with_source(source) from None
    return out


def apply_overrides(inputs: Inputs, overrides: Mapping[str, Any], *, text: bool = False,
                    source: str | None = None) -> Inputs:
    """``inputs`` with a later, higher-precedence layer on top; the key ``"faults"`` replaces the faults."""
    overrides = dict(overrides)
    faults, faults_source = inputs.faults, inputs.faults_source
    if "faults" in overrides:
        faults, faults_source = _fault_tables(overrides.pop("faults"), source), source
    values = {**inputs.values, **coerce_all(overrides, text=text, source=source)}
    sources = {**inputs.sources, **{name: source for name in overrides}}
    return Inputs(values, sources, faults, faults_source, inputs.notes)


def _fault_tables(tables: Any, source: str | None) -> tuple[dict[str, Any], ...]:
    if not isinstance(tables, (list, tuple)) or not all(isinstance(t, Mapping) for t in tables):
        raise ConfigError("faults", tables, "must be a list of tables ([[faults]])", source)
    return tuple(dict(t) for t in tables)


# --------------------------------------------------------------------------------------- rules


def build_config(inputs: Inputs) -> Config:
    """Defaults + inputs -> effective values, Kafka's implicit rules, cross-checks, faults."""
    values = {name: key.default for name, key in SCHEMA.items()}
    version = inputs.values.get("cluster.kafka.version", SCHEMA["cluster.kafka.version"].default)
    from_profile = {name: value for name, value in profile(version).items() if name not in inputs.values}
    values.update(from_profile)
    values.update(inputs.values)
    notes = list(inputs.notes)

    def fail(name: str, reason: str) -> ConfigError:
        return ConfigError(name, values[name], reason, inputs.sources.get(name))

    for name, unsupported in NOT_MODELLED_YET.items():
        if values[name] in unsupported:
            raise fail(name, "not modelled yet")
    _cluster_rules(values, fail, notes)
    _producer_rules(values, inputs.values, fail, notes)
    _consumer_rules(values, fail, notes)
    _resource_rules(values, fail)
    for name in SCHEMA:
        values[name] = _inherited(values, name)
    faults = [_check_fault(_parse_fault(i, t, inputs.faults_source), values, inputs.faults_source)
              for i, t in enumerate(inputs.faults)]
    faults.sort(key=lambda fault: fault.at)
    return Config(values, tuple(faults), frozenset(inputs.values), tuple(notes), inputs, frozenset(from_profile))


def expected_messages(values: Mapping[str, Any]) -> float:
    return values["workload.rate"] * values["workload.duration"]


def expected_faults(values: Mapping[str, Any]) -> float:
    """Random faults the chaos processes are expected to draw: rate x targets x production time."""
    targets = {PER_BROKER: values["cluster.brokers"], PER_CONSUMER: values["consumer.app.members"]}
    total = 0.0
    for key, (_kind, chaos) in CHAOS_KINDS.items():
        gap = values[f"chaos.{key}.mtbf"]
        gap = chaos.preset_mtbf(values["chaos.preset"]) if gap is None else gap
        if gap:
            total += targets.get(chaos.scope, 1) * values["workload.duration"] / gap
    return total


def _resource_rules(values, fail) -> None:
    """Guards on what a run would take, checked before it starts (sim.max.messages, sim.max.faults)."""
    messages, cap = expected_messages(values), values["sim.max.messages"]
    if messages > cap:
        raise fail("workload.rate", f"with workload.duration = {values['workload.duration']:g} s that is about "
                                    f"{messages:,.0f} messages, more than sim.max.messages = {cap:,} (raise it to run "
                                    "this)")
    faults, cap = expected_faults(values), values["sim.max.faults"]
    if faults > cap:
        raise fail("sim.max.faults", f"the chaos rates draw about {faults:,.0f} random faults in "
                                     f"workload.duration = {values['workload.duration']:g} s, more than "
                                     f"sim.max.faults = {cap:,} (raise it, or lengthen the chaos.*.mtbf)")


def _inherited(values: Mapping[str, Any], name: str) -> Any:
    """An unset optional key takes the effective value of the key it inherits from (topic <- broker)."""
    key = SCHEMA[name]
    if values[name] is None and key.inherits:
        return _inherited(values, key.inherits)
    return values[name]


def _cluster_rules(values, fail, notes) -> None:
    """Topic placement, KafkaConfig.validateValues' fetch-wait rule and its heartbeat warning."""
    if values["cluster.group.coordinator"] >= values["cluster.brokers"]:
        raise fail("cluster.group.coordinator", f"no such broker (cluster.brokers = {values['cluster.brokers']})")
    if values["topic.replication.factor"] > values["cluster.brokers"]:
        raise fail("topic.replication.factor", f"exceeds cluster.brokers = {values['cluster.brokers']}")
    if values["broker.eligible.leader.replicas.version"] and not values["broker.model.hw.frozen.below.min.isr"]:
        raise fail("broker.eligible.leader.replicas.version",
                   "Eligible Leader Replicas need broker.model.hw.frozen.below.min.isr = true (KIP-966)")
    if values["topic.min.insync.replicas"] > values["topic.replication.factor"]:
        raise fail("topic.min.insync.replicas",
                   f"exceeds topic.replication.factor = {values['topic.replication.factor']}")
    wait, lag = values["broker.replica.fetch.wait.max.ms"], values["broker.replica.lag.time.max.ms"]
    if wait > lag:
        raise fail("broker.replica.fetch.wait.max.ms", f"must be <= replica.lag.time.max.ms = {lag}")
    heartbeat, session = values["broker.broker.heartbeat.interval.ms"], values["broker.broker.session.timeout.ms"]
    if 2 * heartbeat > session:
        notes.append(f"broker.broker.heartbeat.interval.ms = {heartbeat}: more than half of "
                     f"broker.session.timeout.ms = {session}; Kafka logs an error and brokers risk being fenced")


def _producer_rules(values, explicit, fail, notes) -> None:
    """KafkaProducer.configureDeliveryTimeout and ProducerConfig's idempotence post-processing."""
    linger = min(values["producer.linger.ms"], INT_MAX)
    floor = min(linger + values["producer.request.timeout.ms"], INT_MAX)
    if values["producer.delivery.timeout.ms"] < floor:
        if "producer.delivery.timeout.ms" in explicit:
            raise fail("producer.delivery.timeout.ms", f"must be >= linger.ms + request.timeout.ms = {floor}")
        notes.append(f"producer.delivery.timeout.ms = {floor}: raised from the default "
                     f"{values['producer.delivery.timeout.ms']} to linger.ms + request.timeout.ms")
        values["producer.delivery.timeout.ms"] = floor

    if values["producer.enable.idempotence"]:
        in_flight = "producer.max.in.flight.requests.per.connection"
        conflicts = [(name, requirement) for name, broken, requirement in (
            ("producer.acks", values["producer.acks"] != "all", "acks=all"),
            ("producer.retries", values["producer.retries"] == 0, "retries > 0"),
            (in_flight, values[in_flight] > 5, "max.in.flight.requests.per.connection <= 5"),
        ) if broken]
        if conflicts and "producer.enable.idempotence" in explicit:
            name, requirement = conflicts[0]
            raise fail(name, f"enable.idempotence=true requires {requirement}")
        if conflicts:
            values["producer.enable.idempotence"] = False
            because = ", ".join(f"{SCHEMA[name].kafka_name}={values[name]}" for name, _ in conflicts)
            notes.append(f"producer.enable.idempotence = false: implicitly disabled because {because}")

    for name in ("producer.app.resend", "producer.app.resend.on.restart"):
        if values[name] and values["producer.app.callback"] != "checked":
            raise fail(name, "needs producer.app.callback = 'checked' (the application must see the results)")

    backoff, backoff_max = values["producer.retry.backoff.ms"], values["producer.retry.backoff.max.ms"]
    if backoff > backoff_max:
        notes.append(f"producer.retry.backoff.max.ms = {backoff_max}: below retry.backoff.ms = {backoff}, "
                     f"so Kafka retries after a constant {backoff_max} ms")


def _consumer_rules(values, fail, notes) -> None:
    """The classic consumer's Heartbeat check, the coordinator's session-timeout bounds, and notes."""
    session, heartbeat = values["consumer.session.timeout.ms"], values["consumer.heartbeat.interval.ms"]
    if heartbeat >= session:
        raise fail("consumer.heartbeat.interval.ms", f"must be lower than session.timeout.ms = {session}")
    low, high = values["broker.group.min.session.timeout.ms"], values["broker.group.max.session.timeout.ms"]
    if not low <= session <= high:
        raise fail("consumer.session.timeout.ms", f"outside the coordinator's group.min/max.session.timeout.ms "
                                                  f"= {low} .. {high} (JoinGroup fails with INVALID_SESSION_TIMEOUT)")
    commit, auto = values["consumer.app.commit"], values["consumer.enable.auto.commit"]
    if commit == "auto" and not auto:
        notes.append("consumer.app.commit = 'auto' with enable.auto.commit = false: the application never commits")
    elif commit != "auto" and auto:
        notes.append(f"consumer.app.commit = {commit!r} with enable.auto.commit = true: "
                     "poll() auto-commits as well as the application")


# -------------------------------------------------------------------------------------- faults


def _parse_fault(index: int, table: Mapping[str, Any], source: str | None) -> Fault:
    """One [[faults]] table -> Fault, checking each field on its own."""
    def name(field: str) -> str:
        return f"faults[{index}].{field}"

    def error(field: str, reason: str) -> ConfigError:
        return ConfigError(name(field), table[field], reason, source)

    for field in table:
        if field not in FAULT_FIELDS:
            raise ConfigError(name(field), table[field], "unknown field" + suggest(field, FAULT_FIELDS), source)
    for field in ("at", "action"):
        if field not in table:
            raise ConfigError(name(field), reason="required", source=source)
    try:
        at = parse_duration(table["at"], name("at"))
        duration = None if "duration" not in table else parse_duration(table["duration"], name("duration"))
    except ConfigError as err:
        raise err.with_source(source) from None

    action = table["action"]
    if action not in FAULT_ACTIONS:
        hint = suggest(action, FAULT_ACTIONS) if isinstance(action, str) else ""
        raise error("action", "unknown action" + (hint or " (one of " + ", ".join(FAULT_ACTIONS) + ")"))
    kind = FAULT_KINDS[action]
    if duration is not None and duration <= 0:
        raise error("duration", "must be > 0")
    if duration is not None and kind.duration == FORBIDDEN:
        raise error("duration", f"not allowed for {action}")
    if duration is None and kind.duration == REQUIRED:
        raise ConfigError(name("duration"), reason=f"required for {action}", source=source)

    target = table.get("target", kind.default_target)
    if target is None:
        raise ConfigError(name("target"), reason=f"required for {action}", source=source)
    target = _check_target(kind, target, error)

    if "from" in table and not kind.network:
        raise error("from", "only for " + ", ".join(k.action for k in FAULT_KINDS.values() if k.network))
    isolate_from = _isolate_from(table.get("from", "all"), error) if kind.network else ()

    partition = table.get("partition", 0)
    if not isinstance(partition, numbers.Integral) or isinstance(partition, bool) or partition < 0:
        raise error("partition", "expected an integer >= 0")

    def missing(field: str) -> ConfigError:
        return ConfigError(name(field), reason=f"required for {action}", source=source)

    rate = _kind_number(table, "rate", kind, error, missing)
    extra_ms = _kind_number(table, "extra_ms", kind, error, missing)
    return Fault(at, action, target, duration, isolate_from, int(partition), index, rate, extra_ms)


def _kind_number(table, field: str, kind, error, missing) -> float | None:
    """A number field that belongs to some kinds: required there, refused elsewhere."""
    param = kind.param(field)
    if param is None:
        if field in table:
            owners = ", ".join(k.action for k in FAULT_KINDS.values() if k.param(field) is not None)
            raise error(field, f"only for {owners}")
        return None
    if field not in table:
        raise missing(field)
    value = table[field]
    maximum = param.maximum
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= maximum \
            or not math.isfinite(value):
        bound = f" and <= {maximum:g}" if maximum < math.inf else ""
        raise error(field, f"expected a finite number >= 0{bound}")
    return float(value)


def _target_class(target: str) -> str:
    if target == "producer":
        return PRODUCER
    return CONSUMER if target.startswith("consumer:") else BROKERS


def _check_target(kind, target: Any, error) -> str:
    match = _BROKER_TARGET.fullmatch(target) if isinstance(target, str) else None
    member = _CONSUMER_TARGET.fullmatch(target) if isinstance(target, str) else None
    if match:
        target = f"broker:{int(match[1])}"
    elif member or target == "consumer":
        target = f"consumer:{int(member[1]) if member else 0}"
    elif target not in ("leader", "followers", "all-brokers", "producer"):
        raise error("target", "must be broker:N, leader, followers, all-brokers, producer, consumer or consumer:N")
    if _target_class(target) not in kind.targets:
        if kind.targets == (BROKERS,):
            raise error("target", f"{kind.action} targets brokers ({TARGET_FORMS[BROKERS]})")
        raise error("target", f"{kind.action} only targets " + " or ".join(TARGET_FORMS[t] for t in kind.targets))
    return target


def _isolate_from(value: Any, error) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    allowed = ("all",) + PEERS
    if not isinstance(names, (list, tuple)) or not names or not all(n in allowed for n in names):
        raise error("from", "must be all or one or a list of " + ", ".join(PEERS))
    return ALL_PEERS if "all" in names else tuple(n for n in PEERS if n in names)


def _check_fault(fault: Fault, values: Mapping[str, Any], source: str | None) -> Fault:
    """Checks of a fault against the rest of the configuration."""
    def error(field: str, value: Any, reason: str) -> ConfigError:
        return ConfigError(f"faults[{fault.index}].{field}", value, reason, source)

    if fault.target.startswith("broker:") and int(fault.target[7:]) >= values["cluster.brokers"]:
        raise error("target", fault.target, f"no such broker (cluster.brokers = {values['cluster.brokers']})")
    members = values["consumer.app.members"]
    if fault.target.startswith("consumer:") and int(fault.target[9:]) >= members:
        raise error("target", fault.target, f"no such group member (consumer.app.members = {members})")
    end, partitions = values["workload.duration"], values["topic.partitions"]
    if fault.at > end:
        raise error("at", fault.at, f"after the end of production (workload.duration = {end} s)")
    if fault.partition >= partitions:
        raise error("partition", fault.partition, f"no such partition (topic.partitions = {partitions})")
    return fault

