"""The Poisson fault processes of a configuration, as the rare-event estimators see them.

Each chaos kind with a rate (its chaos.<key>.mtbf or the preset's) is one Poisson process per target
(per broker, per group member, or one for the cluster), as sim/faults/chaos.py draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..faults.chaos import chaos_targets, mtbf
from ..faults.kinds import CHAOS_KINDS

YEAR_S = 365.25 * 86400.0


@dataclass(frozen=True)
class FaultProcess:
    """One chaos kind: its action, its targets, the mean time between its faults per target."""

    key: str  # the chaos key, e.g. "cluster.power_outage"
    action: str  # the [[faults]] action it draws
    targets: tuple[str, ...]
    mtbf: float  # s, per target
    mean_duration: float  # s
    extra_ms: float | None  # latency spikes only

    @property
    def rate(self) -> float:
        """Faults per second, all targets together."""
        return len(self.targets) / self.mtbf

    def fault(self, at: float, target: str, duration: float) -> dict:
        """A [[faults]] table for one fault of this kind."""
        table = {"at": at, "action": self.action, "target": target, "duration": duration}
        if self.extra_ms is not None:
            table["extra_ms"] = self.extra_ms
        return table


def fault_processes(cfg) -> list[FaultProcess]:
    """Every chaos kind with a rate in cfg, in the order of the chaos keys."""
    out = []
    brokers = cfg.settings.cluster.brokers
    for key, (kind, chaos) in CHAOS_KINDS.items():
        gap = mtbf(cfg, key)
        if gap is None:
            continue
        duration = getattr(cfg.settings.chaos, f"{key.replace('.', '_')}_duration")
        extra = cfg[f"chaos.{key}.extra.ms"] if chaos.spike_ms is not None else None
        out.append(FaultProcess(key, kind.action, tuple(chaos_targets(chaos, cfg, brokers)), gap, duration, extra))
    return out
