"""Configuration layer: one schema of Kafka (4.x defaults), Linux and model keys; loaders for TOML
scenarios, Kafka .properties files and --set strings; validation including Kafka's implicit rules.

    cfg = load_config("scenario.toml", sets=["producer.acks=1"])
    cfg["producer.linger.ms"], cfg.seconds("producer.linger.ms"), cfg.faults, cfg.notes
"""

from .errors import ConfigError, KafkasimInputError, ScenarioError
from .load import load_config, load_properties_text
from .model import Config, Fault
from .schema import SCHEMA, SECTIONS, Key
from .validate import parse_duration

__all__ = [
    "KafkasimInputError", "ConfigError", "ScenarioError", "SCHEMA", "Key", "SECTIONS", "Config", "Fault",
    "load_config", "parse_duration", "load_properties_text",
]
