"""Settings: the validated configuration as one frozen object per config section, built from the schema.

Components read their settings as attributes, ``settings.producer.linger``, never by string key. The
attribute is the key's name inside its section with dots and dashes as underscores
(``producer.batch.size`` -> ``settings.producer.batch_size``); a time key is in seconds, and its name
drops the unit (``producer.linger.ms`` -> ``settings.producer.linger``, ``broker.vm.dirty_expire_centisecs``
-> ``settings.broker.vm_dirty_expire``), with Kafka's "never" (Long.MAX_VALUE) as ``math.inf``. The
classes are generated from sim/config/schema.py, so a key added there is a setting at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, make_dataclass
from typing import Any

from .schema import SCHEMA, SECTIONS, TIME_UNITS, Key, to_seconds

_UNIT_SUFFIX = re.compile(r"[._](ms|seconds|centisecs)$")


def attribute_name(key: Key) -> str:
    """The settings attribute of a key (see the module docstring)."""
    name = key.kafka_name
    if key.unit in TIME_UNITS:
        name = _UNIT_SUFFIX.sub("", name)
    return re.sub(r"[.\-]", "_", name)


def _section_class(section: str) -> type:
    fields = [(attribute_name(key), Any) for key in SCHEMA.values() if key.section == section]
    return make_dataclass(f"{section.capitalize()}Settings", fields, frozen=True, slots=True)


SECTION_CLASSES: dict[str, type] = {section: _section_class(section) for section in SECTIONS}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every section's settings."""

    cluster: Any
    topic: Any
    broker: Any
    producer: Any
    consumer: Any
    workload: Any
    network: Any
    chaos: Any
    sim: Any


assert tuple(Settings.__dataclass_fields__) == SECTIONS


def build_settings(values: dict, classes: dict[str, type] | None = None) -> Settings:
    """The Settings of a validated Config's values (time keys in seconds)."""
    classes = classes or SECTION_CLASSES
    sections = {}
    for section in SECTIONS:
        fields = {attribute_name(key): to_seconds(key.name, values[key.name]) if key.unit in TIME_UNITS
                  else values[key.name] for key in SCHEMA.values() if key.section == section}
        sections[section] = classes[section](**fields)
    return Settings(**sections)
