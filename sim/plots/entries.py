"""The configurations a picture compares: a label, a stage (or none) and an estimate each."""

from __future__ import annotations

from dataclasses import dataclass

from ..experiment.report import point_label


@dataclass(frozen=True)
class Entry:
    label: str
    estimate: dict  # sim.experiment.summary.summarize() output
    stage: str = ""


def entries(results) -> list[Entry]:
    """Entries from sweep or demo results ({index: {"point", "estimate"[, "label", "stage"]}})."""
    out = []
    for entry in results.values():
        label = entry.get("label") or point_label(entry.get("point", {}))
        out.append(Entry(label, entry["estimate"], entry.get("stage", "")))
    return out


def numbered(items: list[Entry]) -> list[str]:
    """`1  producer: acks=0`: the number the other panels use for the same configuration."""
    return [f"{n}  {e.stage + ': ' if e.stage else ''}{e.label}" for n, e in enumerate(items, 1)]
