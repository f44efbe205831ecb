"""Reads the user's inputs -- a TOML scenario, real Kafka .properties files, --set strings, Python
overrides -- and layers them, lowest precedence first, into one validated ``Config``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, ScenarioError
from .model import Config, Inputs
from .schema import SCHEMA, SECTIONS
from .validate import TRANSACTIONS, apply_overrides, build_config, suggest

PathLike = str | Path

# Broker-level defaults of topic configs: in a broker file they set the simulated topic.
BROKER_TOPIC_DEFAULTS = {
    "num.partitions": "topic.partitions",
    "default.replication.factor": "topic.replication.factor",
    "min.insync.replicas": "topic.min.insync.replicas",
    "unclean.leader.election.enable": "topic.unclean.leader.election.enable",
}
_TOPIC_DEFAULT_NAMES = {full: short for short, full in BROKER_TOPIC_DEFAULTS.items()}

# Real Kafka configs the model does not use: ignored with a note when a .properties file holds them.
_CLIENT_KEYS = (
    "bootstrap.servers", "client.id", "client.dns.lookup", "client.rack", "connections.max.idle.ms",
    "metadata.max.age.ms", "metadata.max.idle.ms", "receive.buffer.bytes",
    "security.protocol", "security.providers", "interceptor.classes",
    "metric.reporters", "auto.include.jmx.reporter", "enable.metrics.push", "config.providers",
)
_CLIENT_PREFIXES = ("ssl.", "sasl.", "metrics.", "metadata.recovery.", "schema.registry.", "basic.auth.",
                    "confluent.")
# Real Kafka configs whose values switch on what the model lacks: refused, as group.protocol = consumer is
NOT_MODELLED = {
    ("producer", "transactional.id"): lambda value: value != "",
    ("consumer", "isolation.level"): lambda value: value == "read_committed",
}
UNMODELLED_KEYS = {
    "producer": _CLIENT_KEYS + (
        "key.serializer", "value.serializer", "compression.type", "partitioner.class",
        "partitioner.adaptive.partitioning.enable", "partitioner.availability.timeout.ms", "transactional.id",
        "transaction.timeout.ms",
    ),
    "consumer": _CLIENT_KEYS + (
        "key.deserializer", "value.deserializer", "group.id", "group.instance.id",
        "group.remote.assignor", "partition.assignment.strategy", "isolation.level", "check.crcs",
        "exclude.internal.topics", "allow.auto.create.topics", "retry.backoff.max.ms",
        "reconnect.backoff.max.ms", "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms", "send.buffer.bytes",
    ),
    "broker": (
        "node.id", "broker.id", "process.roles", "listeners", "advertised.listeners", "listener.security.protocol.map",
        "inter.broker.listener.name", "security.inter.broker.protocol", "log.dir", "log.dirs", "num.network.threads",
        "num.io.threads", "num.recovery.threads.per.data.dir", "num.replica.fetchers", "background.threads",
        "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "socket.request.max.bytes",
        "socket.listen.backlog.size", "queued.max.requests", "message.max.bytes", "compression.type",
        "auto.create.topics.enable", "delete.topic.enable", "broker.rack",
        "unclean.leader.election.interval.ms", "producer.id.expiration.ms",
        "replica.selector.class", "replica.socket.timeout.ms", "replica.socket.receive.buffer.bytes",
        "log.flush.offset.checkpoint.interval.ms", "log.flush.start.offset.checkpoint.interval.ms",
        "log.cleanup.policy", "log.preallocate", "initial.broker.registration.timeout.ms", "authorizer.class.name",
        "super.users", "allow.everyone.if.no.acl.found", "connections.max.idle.ms", "max.connections",
        "max.connections.per.ip", "metric.reporters", "auto.include.jmx.reporter", "config.providers",
        "principal.builder.class", "log.segment.delete.delay.ms", "log.segment.ms",
        "leader.imbalance.per.broker.percentage",  # ZooKeeper controller only; removed in Kafka 4.0
    ),
}
UNMODELLED_PREFIXES = {
    "producer": _CLIENT_PREFIXES + ("compression.",),
    "consumer": _CLIENT_PREFIXES,
    "broker": ("ssl.", "sasl.", "metrics.", "confluent.", "log.retention.", "log.roll.",
               "log.cleaner.", "log.index.", "log.message.", "log.local.", "remote.log.", "controller.", "metadata.",
               "group.coordinator.", "group.consumer.", "group.share.", "group.streams.", "group.max.size", "offsets.",
               "transaction.", "share.", "quota.", "zookeeper.", "listener.name.",
               "delegation.token.", "compression.", "kafka.metrics."),
}


# ------------------------------------------------------------------------------------- scenario


def load_config(scenario: PathLike | None = None, *, sets: Iterable[str] = (),
                overrides: Mapping[str, Any] | None = None, producer_config: PathLike | None = None,
                broker_config: PathLike | None = None, consumer_config: PathLike | None = None,
                seed: int | None = None) -> Config:
    """Defaults < TOML < .properties (broker, producer, consumer) < --set < overrides < seed -> Config."""
    inputs = Inputs({}, {})
    if scenario is not None:
        inputs = apply_overrides(inputs, load_toml(scenario), source=str(scenario))
    for role, path in (("broker", broker_config), ("producer", producer_config), ("consumer", consumer_config)):
        if path is not None:
            values, note = load_properties_file(path, role)
            inputs = apply_overrides(inputs, values, text=True, source=str(path))
            inputs = dataclasses.replace(inputs, notes=inputs.notes + ((note,) if note else ()))
    inputs = apply_overrides(inputs, parse_sets(sets), text=True)
    inputs = apply_overrides(inputs, overrides or {})
    if seed is not None:
        inputs = apply_overrides(inputs, {"sim.seed": seed})
    return build_config(inputs)


def load_toml(path: PathLike) -> dict[str, Any]:
    """A scenario file flattened to ``{"section.key": value, ..., "faults": [tables]}``."""
    source = str(path)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ScenarioError("file not found", source) from None
    except OSError as err:
        raise ScenarioError(f"cannot read file: {err.strerror or err}", source) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text", source) from None
    except (tomllib.TOMLDecodeError, ValueError) as err:  # ValueError: an integer past Python's digit limit
        raise ScenarioError(f"malformed TOML: {err}", source) from None
    return flatten_toml(data, source)


def flatten_toml(data: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
    """Quoted dotted keys and nested tables both become full dotted keys; ``[[faults]]`` stays a list."""
    flat: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for top, body in data.items():
        if top == "faults":
            flat["faults"] = body
            continue
        if top not in SECTIONS:
            if isinstance(body, Mapping):
                reason = "unknown section" + suggest(top, SECTIONS + ("faults",))
                raise ConfigError(f"[{top}]", reason=reason, source=source)
            same = [key.name for key in SCHEMA.values() if key.kafka_name == top]
            hint = f" (did you mean {same[0]}?)" if same else suggest(top, SCHEMA)
            raise ConfigError(top, body, "keys belong in a [section]" + hint, source)
        if not isinstance(body, Mapping):
            raise ConfigError(top, body, f"must be a table ([{top}])", source)
        for parts, value in _leaves(body):
            name, spelling = ".".join((top, *parts)), ".".join(_toml_key(p) for p in parts)
            if name in flat:
                raise ConfigError(name, value, f"given twice, as {spelled[name]} and {spelling}", source)
            flat[name], spelled[name] = value, spelling
    return flat


def _leaves(table: Mapping[str, Any], prefix: tuple[str, ...] = ()):
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def _toml_key(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'


def parse_sets(sets: Iterable[str] | str) -> dict[str, str]:
    """The CLI's repeatable ``--set section.key=value``, split at the first ``=``."""
    parsed = {}
    for item in [sets] if isinstance(sets, str) else sets:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(item, reason="--set needs section.key=value")
        parsed[name.strip()] = value
    return parsed


# ----------------------------------------------------------------------------------- properties


def load_properties_file(path: PathLike, role: str) -> tuple[dict[str, str], str | None]:
    """A Kafka producer/consumer/broker .properties file -> ({full key: text value}, note or None)."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ScenarioError("file not found", source) from None
    except OSError as err:
        raise ScenarioError(f"cannot read file: {err.strerror or err}", source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # what java.util.Properties.load(InputStream) assumes
    try:
        props = load_properties_text(text)
    except ScenarioError as err:
        raise err.with_source(source) from None
    values, ignored = {}, []
    for key, value in props.items():
        name = _full_name(role, key)
        if (role, key) in NOT_MODELLED and NOT_MODELLED[role, key](value.strip()):
            raise ConfigError(key, value, TRANSACTIONS, source)
        if name in SCHEMA and SCHEMA[name].origin == "kafka":
            values[name] = value
        elif key in UNMODELLED_KEYS[role] or key.startswith(UNMODELLED_PREFIXES[role]):
            ignored.append(key)
        elif name in SCHEMA:
            reason = f"not a Kafka {role} config; set {name} in the scenario or with --set"
            raise ConfigError(key, value, reason, source)
        else:
            known = list(UNMODELLED_KEYS[role]) + [_kafka_name(role, name) for name in SCHEMA]
            raise ConfigError(key, value, f"unknown {role} config" + suggest(key, filter(None, known)), source)
    if not ignored:
        return values, None
    return values, f"{source}: ignored {len(ignored)} Kafka configs the model does not use: {', '.join(ignored)}"


def _full_name(role: str, key: str) -> str:
    """A .properties key as a schema key: ``linger.ms`` in a producer file is ``producer.linger.ms``."""
    return BROKER_TOPIC_DEFAULTS.get(key, f"broker.{key}") if role == "broker" else f"{role}.{key}"


def _kafka_name(role: str, name: str) -> str | None:
    """The inverse of ``_full_name`` for the Kafka keys a ``role`` file may hold, else None."""
    key = SCHEMA[name]
    if key.origin != "kafka":
        return None
    if role == "broker" and name in _TOPIC_DEFAULT_NAMES:
        return _TOPIC_DEFAULT_NAMES[name]
    return key.kafka_name if key.section == role else None


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_WHITESPACE = " \t\f"


def load_properties_text(text: str) -> dict[str, str]:
    """``java.util.Properties.load`` for the subset real Kafka files use: comments (# !), separators
    (= : whitespace), backslash continuation, escapes (\\t \\n \\r \\f \\uXXXX, \\x -> x). Last key wins."""
    props = {}
    for number, line in _logical_lines(text):
        key, value = _split_key_value(line)
        props[_unescape(key, number)] = _unescape(value, number)
    return props


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _logical_lines(text: str):
    lines = re.split(r"\r\n|\r|\n", text)
    pos = 0
    while pos < len(lines):
        number, line = pos + 1, lines[pos].lstrip(_WHITESPACE)
        pos += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and pos < len(lines):
            line = line[:-1] + lines[pos].lstrip(_WHITESPACE)
            pos += 1
        yield number, line[:-1] if _continues(line) else line


def _split_key_value(line: str) -> tuple[str, str]:
    """Java's rule: the key ends at the first unescaped '=', ':' or whitespace."""
    end, start, separator, backslash = 0, len(line), False, False
    while end < len(line):
        char = line[end]
        if char in "=:" and not backslash:
            start, separator = end + 1, True
            break
        if char in _WHITESPACE and not backslash:
            start = end + 1
            break
        backslash = char == "\\" and not backslash
        end += 1
    while start < len(line) and (line[start] in _WHITESPACE or (not separator and line[start] in "=:")):
        separator = separator or line[start] in "=:"
        start += 1
    return line[:end], line[start:]


def _unescape(text: str, number: int) -> str:
    out, pos = [], 0
    while pos < len(text):
        char = text[pos]
        pos += 1
        if char != "\\" or pos == len(text):
            out.append(char if char != "\\" else "")
            continue
        char = text[pos]
        pos += 1
        if char == "u":
            digits = text[pos:pos + 4]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise ScenarioError(f"line {number}: malformed \\uXXXX escape: " + repr("\\u" + digits))
            out.append(chr(int(digits, 16)))
            pos += 4
        else:
            out.append(_ESCAPES.get(char, char))
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
