"""Settings: one frozen object per config section, built from the schema (sim/config/settings.py), and
every key of the schema read by something -- a key the model never reads would be a setting that
silently does nothing."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

import sim
from sim.config import SCHEMA, load_config
from sim.config import model as config_model
from sim.config import settings as settings_module
from sim.config.settings import attribute_name
from sim.run import run_once

# Keys whose whole meaning is a validation rule (sim/config/validate.py): they bound or check other
# keys and have no effect of their own once the configuration is valid.
VALIDATION_ONLY = {
    "broker.group.min.session.timeout.ms": "the coordinator's lower bound for consumer.session.timeout.ms",
    "broker.group.max.session.timeout.ms": "the coordinator's upper bound for consumer.session.timeout.ms",
    "consumer.group.protocol": "only the classic protocol is modelled; consumer (KIP-848) is refused",
    "cluster.kafka.version": "the version profile: it sets other keys' defaults (sim/config/versions.py)",
    "sim.max.messages": "a resource guard: refuses a configuration expected to send more messages",
    "sim.max.faults": "a resource guard: refuses chaos rates expected to draw more random faults",
}
SOURCE = Path(sim.__file__).parent

# Configurations that between them take every code path that reads a setting.
RUNS = [
    {},
    {"topic.partitions": 3, "topic.replication.factor": 3, "cluster.brokers": 3, "workload.keys": 10,
     "consumer.app.processing": "async", "consumer.app.members": 2, "producer.app.resend": True,
     "consumer.app.commit": "async+sync", "consumer.enable.auto.commit": False,
     "faults": [{"at": 0.5, "action": "crash", "target": "leader", "duration": 0.5},
                {"at": 1.0, "action": "consumer_error"}, {"at": 1.2, "action": "producer_crash", "duration": 0.2}]},
    {"cluster.brokers": 3, "topic.replication.factor": 3,
     **{f"chaos.{key}.mtbf": 0.7 for key in ("broker.crash", "broker.power_loss", "broker.disk_failure",
                                             "cluster.power_outage", "broker.partition", "broker.pause",
                                             "broker.latency_spike", "producer.crash", "consumer.crash")}},
]


def test_attributes_are_the_keys_own_names_time_keys_in_seconds():
    cfg = load_config(overrides={"producer.linger.ms": 7, "broker.vm.dirty_expire_centisecs": 1500,
                                 "broker.leader.imbalance.check.interval.seconds": 60})
    settings = cfg.settings
    assert settings.producer.linger == 0.007 and settings.producer.batch_size == 16384
    assert settings.broker.vm_dirty_expire == 15.0 and settings.broker.leader_imbalance_check_interval == 60
    assert settings.broker.log_flush_scheduler_interval == math.inf  # Long.MAX_VALUE: never
    assert settings.topic.flush == math.inf  # unset: inherited from the broker's, then the scheduler's
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.producer.linger = 1.0
    names = [(key.section, attribute_name(key)) for key in SCHEMA.values()]
    assert len(set(names)) == len(names)  # one attribute per key, none shared


def _recording(reads: set) -> dict:
    """Section classes that note every attribute read (section, attribute)."""
    classes = {}
    for section, cls in settings_module.SECTION_CLASSES.items():
        def getattribute(self, name, _section=section, _base=cls):
            if not name.startswith("__"):
                reads.add((_section, name))
            return object.__getattribute__(self, name)
        classes[section] = type(cls.__name__, (cls,), {"__slots__": (), "__getattribute__": getattribute})
    return classes


def test_every_key_is_read_by_the_model(monkeypatch):
    reads: set = set()
    monkeypatch.setattr(settings_module, "SECTION_CLASSES", _recording(reads))
    mapping_reads: set = set()
    getitem = config_model.Config.__getitem__
    monkeypatch.setattr(config_model.Config, "__getitem__",
                        lambda self, key: mapping_reads.add(key) or getitem(self, key))
    for overrides in RUNS:
        run_once(load_config(overrides={"workload.duration": 2, "workload.rate": 200, **overrides}))
    read = {key.name for key in SCHEMA.values()
            if (key.section, attribute_name(key)) in reads or key.name in mapping_reads}
    read |= {key.inherits for key in SCHEMA.values() if key.name in read and key.inherits}  # topic <- broker
    read |= {SCHEMA[name].inherits for name in list(read) if SCHEMA[name].inherits}
    # a setting read only on a path these short runs do not take (an error, a retry) must still be named
    # by the model's code: `.attribute` in a module outside sim/config/
    code = "\n".join(path.read_text(encoding="utf-8") for path in SOURCE.rglob("*.py")
                     if "config" not in path.relative_to(SOURCE).parts)
    unread = [key.name for key in SCHEMA.values() if key.name not in read and key.name not in VALIDATION_ONLY
              and not re.search(rf"\.{attribute_name(key)}\b", code)]
    assert unread == [], f"keys no part of the model reads: {unread}"
    assert len(read) > 0.8 * len(SCHEMA)  # most keys are read by these runs themselves


def test_validation_only_keys_are_used_by_validation():
    source = (config_model.__file__.rsplit("/", 1)[0] + "/validate.py")
    text = open(source, encoding="utf-8").read()
    for key in VALIDATION_ONLY:
        assert f'"{key}"' in text
