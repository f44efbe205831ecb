"""Generates docs/config.md, the key reference, from the schema (Kafka documents its configs the same
way, from ``ConfigDef.toHtml``).

    python -m sim.config.docs            # print
    python -m sim.config.docs --write    # rewrite docs/config.md
    python -m sim.config.docs --check    # exit 1 when docs/config.md is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .load import BROKER_TOPIC_DEFAULTS
from ..faults.kinds import FAULT_KINDS, FORBIDDEN, REQUIRED, TARGET_FORMS
from .schema import FAULT_FIELDS, INT_MAX, LONG_MAX, SCHEMA, SECTIONS, Key
from .versions import PROFILES, VERSIONS
from .validate import NOT_MODELLED_YET, range_text

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "config.md"

HEADER = """\
# Configuration reference

Generated from `sim/config/schema.py` by `python -m sim.config.docs --write`; do not edit by hand.
The test suite fails when this file is stale (`python -m sim.config.docs --check`).

Defaults are those of Kafka 4.x (and Linux for the `vm.*` write-back keys); what they mean:
[kafka-background.md](kafka-background.md).
Every key is named `section.key`, where `key` is Kafka's own name for Kafka configs. In a scenario
file a key can be quoted (`"linger.ms" = 5` under `[producer]`) or nested (`linger.ms = 5`).

Inputs, lowest precedence first: these defaults, the TOML scenario, Kafka `.properties` files
(broker, producer, consumer), `--set section.key=value`, Python overrides, an explicit seed.
In a broker file, {topic_defaults} set the `topic` section. Real Kafka
configs the model does not use (`bootstrap.servers`, `ssl.*`, ...) are ignored with a note; any other
unknown key is an error.

Origin: `kafka` = Kafka config, `linux` = kernel sysctl, `model` = how the application, the
environment or the simulation behaves. Time units: `ms`, `s`, `centisecs` (1/100 s).
`2^63-1` is Java's Long.MAX_VALUE, which Kafka uses for "never".
"""

RULES = """\
## Cross-checks and Kafka's implicit rules

- `cluster.group.coordinator` must be a broker of the cluster. `topic.replication.factor` must not exceed
  `cluster.brokers`; `topic.min.insync.replicas` must not exceed
  `topic.replication.factor`.
- `broker.replica.fetch.wait.max.ms` must not exceed `broker.replica.lag.time.max.ms` (Kafka refuses to start).
- `producer.delivery.timeout.ms` must be at least `linger.ms + request.timeout.ms`. When it was not set,
  Kafka silently raises it to that sum instead (a note says so).
- `producer.enable.idempotence` needs `acks=all`, `retries > 0` and `max.in.flight.requests.per.connection <= 5`.
  Left at its default, a conflict silently disables it (a note says so); set explicitly, a conflict is an error.
- Unset `topic.flush.messages` / `topic.flush.ms` take the broker's value; unset
  `broker.log.flush.interval.ms` takes `broker.log.flush.scheduler.interval.ms`. The config holds the
  effective value.
- `consumer.heartbeat.interval.ms` must be lower than `consumer.session.timeout.ms` (the consumer refuses to
  start), and `consumer.session.timeout.ms` must lie within `broker.group.min.session.timeout.ms` ..
  `broker.group.max.session.timeout.ms` (the coordinator rejects the JoinGroup).
- Notes, not errors: `retry.backoff.ms > retry.backoff.max.ms` (constant backoff), a broker heartbeat
  interval above half the session timeout, `consumer.app.commit` disagreeing with `enable.auto.commit`.
"""


def _big(number) -> str:
    return {INT_MAX: "2^31-1", LONG_MAX: "2^63-1"}.get(number, _num(number))


def _num(number) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _value(value) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{_big(value)}`"


def _default(key: Key) -> str:
    if key.default is None:
        return f"unset (`{key.inherits}`)" if key.inherits else "unset"
    return _value(key.default) + (" (never)" if key.default == LONG_MAX else "")


def _allowed(key: Key) -> str:
    unsupported = NOT_MODELLED_YET.get(key.name, ())
    if key.kind in ("enum", "bool"):
        choices = key.choices or (True, False)
        text = " / ".join(_value(c) for c in choices)
        if key.name == "producer.acks":
            text += " (also `-1` = `all`)"
    else:
        text = range_text(key, _big)
        text += "; seconds or `250ms`, `2m`" if key.kind == "duration" else ""
    if unsupported:
        text += "; not modelled yet: " + ", ".join(_value(v) for v in unsupported)
    return text + ("; or unset" if key.optional else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _section(section: str) -> list[str]:
    rows = [f"## [{section}]", "", "| key | default | unit | allowed | origin | description |",
            "|---|---|---|---|---|---|"]
    for key in SCHEMA.values():
        if key.section == section:
            cells = (f"`{key.kafka_name}`", _default(key), key.unit or "", _allowed(key), key.origin, key.doc)
            rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows + [""]


def _duration(kind) -> str:
    if kind.duration == FORBIDDEN:
        return "not allowed"
    return ("required" if kind.duration == REQUIRED else "optional") + (f", then {kind.ended_by}" if kind.ended_by
                                                                        else "")


def _faults() -> list[str]:
    rows = ["## [[faults]]", "", "Scripted faults, one `[[faults]]` table each, applied in order of `at`.", "",
            "| field | meaning |", "|---|---|"]
    rows += [f"| `{name}` | {_cell(doc)} |" for name, doc in FAULT_FIELDS.items()]
    rows += ["", "Actions, from the table of fault kinds (`sim/faults/kinds.py`); the chaos keys draw the same kind "
             "at random (section [chaos]):", "",
             "| action | targets | duration | fields | chaos | effect |", "|---|---|---|---|---|---|"]
    for kind in FAULT_KINDS.values():
        targets = "; ".join(TARGET_FORMS[target] for target in kind.targets)
        fields = ", ".join(f"`{param.name}`" for param in kind.params)
        chaos = ", ".join(f"`chaos.{chaos.key}`" for chaos in kind.chaos)
        rows.append(f"| `{kind.action}` | {targets} | {_duration(kind)} | {fields} | {chaos} | {_cell(kind.doc)} |")
    rows += ["", "Errors: a `broker:N` beyond `cluster.brokers`, `at` after `workload.duration`, a `partition` beyond",
             "`topic.partitions`, a target that does not fit the action, a field the action does not take.",
             "Without `duration` a fault lasts until a later restart or heal, or until the drain phase heals",
             "everything.", ""]
    return rows


def _versions() -> list[str]:
    names = sorted({name for values in PROFILES.values() for name in values}, key=list(SCHEMA).index)
    rows = ["## Kafka version profiles", "",
            "`cluster.kafka.version` sets the defaults below at once (a value set in the scenario, a .properties "
            "file or `--set` still wins; `kafkasim config` marks the values that came from the profile). Empty: the "
            "key's default above. The 3.x profiles model KRaft mode.", "",
            "| key | " + " | ".join(VERSIONS) + " |", "|---|" + "---|" * len(VERSIONS)]
    for name in names:
        cells = [_value(PROFILES[version][name]) if name in PROFILES[version] else "" for version in VERSIONS]
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return rows + [""]


def render_markdown() -> str:
    """The full text of docs/config.md."""
    topic_defaults = ", ".join(f"`{k}`" for k in BROKER_TOPIC_DEFAULTS)
    lines = [HEADER.format(topic_defaults=topic_defaults)]
    for section in SECTIONS:
        lines += _section(section)
    lines += [RULES] + _faults() + _versions()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.config.docs", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"rewrite {DOC_PATH}")
    mode.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(text, encoding="utf-8")
    elif args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m sim.config.docs --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
