"""The validated, immutable configuration handed to the model, and the scripted faults it carries.

``Config`` plays the role of Kafka's ``AbstractConfig`` after ``postProcessParsedConfig``: every
key has its effective value, implicit adjustments already applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..faults.fault import Fault
from .schema import SCHEMA, to_seconds
from .settings import build_settings

__all__ = ["Config", "Fault", "Inputs"]


@dataclass(frozen=True)
class Inputs:
    """What the user supplied, kept so that ``Config.replace`` can re-run every rule from scratch."""

    values: Mapping[str, Any]  # key -> typed value, already checked one by one
    sources: Mapping[str, str | None]  # key -> file it came from (None: defaults, --set, overrides)
    faults: tuple[Mapping[str, Any], ...] = ()  # raw [[faults]] tables
    faults_source: str | None = None
    notes: tuple[str, ...] = ()  # notes from loading (ignored .properties keys)


class Config(Mapping[str, Any]):
    """Immutable mapping from full dotted key to effective value, in schema order."""

    __slots__ = ("_values", "faults", "explicit", "notes", "_inputs", "_settings", "from_profile")

    def __init__(self, values: Mapping[str, Any], faults: tuple[Fault, ...], explicit: frozenset[str],
                 notes: tuple[str, ...], inputs: Inputs, from_profile: frozenset[str] = frozenset()):
        setter = object.__setattr__
        setter(self, "_values", MappingProxyType({name: values[name] for name in SCHEMA}))
        setter(self, "faults", tuple(faults))
        setter(self, "explicit", frozenset(explicit))
        setter(self, "notes", tuple(notes))
        setter(self, "_inputs", inputs)
        setter(self, "_settings", None)
        setter(self, "from_profile", frozenset(from_profile))  # keys whose value the kafka.version profile set

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Config is immutable; use .replace({...}) for a modified copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Config is immutable")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return dict(self._values) == dict(other._values) and self.faults == other.faults
        return Mapping.__eq__(self, other)

    def __hash__(self) -> int:
        return hash((tuple(self._values.items()), self.faults))

    def __reduce__(self):
        return (Config, (dict(self._values), self.faults, self.explicit, self.notes, self._inputs, self.from_profile))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={self._values[k]!r}" for k in self if k in self.explicit)
        return f"Config({shown}{', ' if shown else ''}faults={len(self.faults)})"

    def seconds(self, key: str) -> float | None:
        """The value of a time key in seconds; Kafka's "never" (>= 2**62) becomes ``math.inf``."""
        return to_seconds(key, self._values[key])

    @property
    def settings(self):
        """Every effective value as attributes, one frozen object per section (sim/config/settings.py)."""
        if self._settings is None:
            object.__setattr__(self, "_settings", build_settings(self._values))
        return self._settings

    def to_dict(self) -> dict[str, Any]:
        """Every effective value (JSON-serialisable, schema order) plus ``"faults"``."""
        data: dict[str, Any] = dict(self._values)
        data["faults"] = [fault.to_dict() for fault in self.faults]
        return data

    def replace(self, overrides: Mapping[str, Any]) -> Config:
        """A new validated Config with typed overrides (``{"producer.acks": "1"}``) applied."""
        from .validate import apply_overrides, build_config

        return build_config(apply_overrides(self._inputs, overrides))

    def without(self, prefix: str, overrides: Mapping[str, Any] = ()) -> Config:
        """This Config as if the user had set no key starting with `prefix`, then `overrides` applied."""
        from .validate import apply_overrides, build_config

        inputs = self._inputs
        kept = Inputs({name: value for name, value in inputs.values.items() if not name.startswith(prefix)},
                      {name: src for name, src in inputs.sources.items() if not name.startswith(prefix)},
                      inputs.faults, inputs.faults_source, inputs.notes)
        return build_config(apply_overrides(kept, dict(overrides)))
