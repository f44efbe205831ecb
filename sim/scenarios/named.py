"""Run a named scenario: both variants, their outcome tables side by side, replica timelines."""

from __future__ import annotations

from ..config import ConfigError, load_config
from ..ledger import CLASSES
from ..result import RunResult
from ..timeline import ReplicaTimeline, run_with_timeline
from ..workload import ArrivalStream
from .catalog import CATALOG, NamedScenario


class NamedRun:
    """One variant of a named scenario, run."""

    def __init__(self, label: str, result: RunResult, timeline: ReplicaTimeline):
        self.label = label
        self.result = result
        self.timeline = timeline


def lookup(name: str) -> NamedScenario:
    if name not in CATALOG:
        from ..config.validate import suggest
        raise ConfigError("--scenario", name, "unknown scenario" + (suggest(name, list(CATALOG)) or
                                                                     " (see: kafkasim scenarios)"))
    return CATALOG[name]


def variant_config(scenario: NamedScenario, which: str, sets=(), seed=None):
    variant = scenario.unsafe if which == "unsafe" else scenario.safe
    overrides = {**scenario.base, **variant.overrides}
    return load_config(None, sets=sets, overrides=overrides, seed=seed)


def run_named(name: str, sets=(), seed=None, period: float | None = None) -> list[NamedRun]:
    scenario = lookup(name)
    runs = []
    for which, variant in (("unsafe", scenario.unsafe), ("safe", scenario.safe)):
        cfg = variant_config(scenario, which, sets, seed)
        arrivals = None
        if scenario.sends is not None:
            arrivals = ArrivalStream.from_times(scenario.sends, end=cfg.seconds("workload.duration"))
        result, timeline = run_with_timeline(cfg, scenario.partition, period, arrivals)
        runs.append(NamedRun(f"{which}: {variant.label}", result, timeline))
    return runs


def side_by_side(runs: list[NamedRun]) -> str:
    """The two outcome tables next to each other."""
    width = 36
    lines = [f"  {'':<24}" + "".join(f"{r.label[:width]:>{width + 2}}" for r in runs)]
    lines.append(f"  {'sent':<24}" + "".join(f"{r.result['sent']:>{width + 2}}" for r in runs))
    for name in CLASSES:
        lines.append(f"  {name:<24}" + "".join(f"{r.result.outcomes[name]:>{width + 2}}" for r in runs))
    lines.append(f"  {'acked missing from log':<24}" +
                 "".join(f"{r.result['acked_missing_from_log']['total']:>{width + 2}}" for r in runs))
    lines.append(f"  {'  of which read first':<24}" +
                 "".join(f"{r.result['acked_missing_from_log']['processed_before_loss']:>{width + 2}}"
                         for r in runs))
    causes = [", ".join(f"{k} {v}" for k, v in r.result["acked_missing_from_log"]["by_cause"].items()) or "-"
              for r in runs]
    lines.append(f"  {'  why':<24}" + "".join(f"{c[:width]:>{width + 2}}" for c in causes))
    lines.append(f"  {'replicas diverged':<24}" +
                 "".join(f"{r.result['brokers']['diverged_records']:>{width + 2}}" for r in runs))
    lat = [r.result["latency"]["ack_p99_ms"] for r in runs]
    lines.append(f"  {'ack latency p99 (ms)':<24}" +
                 "".join(f"{(f'{x:.1f}' if x is not None else '-'):>{width + 2}}" for x in lat))
    return "\n".join(lines) + "\n"


def report(name: str, runs: list[NamedRun]) -> str:
    scenario = CATALOG[name]
    out = [f"scenario {scenario.name}: {scenario.title}", f"source: {scenario.source}", "", side_by_side(runs)]
    for run in runs:
        out.append(run.timeline.to_text(f"--- {run.label} ---"))
    out.append("what to notice: " + scenario.notice)
    return "\n".join(out) + "\n"


def plot(name: str, runs: list[NamedRun], path) -> None:
    """Both variants' replica timelines in one PNG (sim.plots.scenario_figure)."""
    from ..plots.timeline import scenario_figure

    scenario_figure(name, runs).savefig(path, dpi=110)
