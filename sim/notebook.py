"""Helpers for the notebooks in notebooks/: quick mode, running variants side by side, comparing them.

    from sim import notebook
    QUICK = notebook.quick()                       # KAFKASIM_QUICK=1: the notebooks shrink themselves
    runs = notebook.run_each({"acks=1": {"producer.acks": "1"}, "acks=all": {"producer.acks": "all"}}, base)
    notebook.compare(runs)                         # a DataFrame: one column per variant
    notebook.outcomes(runs)                        # the outcome breakdown picture

Everything here calls the same library functions as the command line (sim.api); the explorer of
notebook 05 lives in sim.explorer.
"""

from __future__ import annotations

import os
from pathlib import Path

QUICK_ENV = "KAFKASIM_QUICK"
RESULTS_ENV = "KAFKASIM_RESULTS"


def quick() -> bool:
    """True when KAFKASIM_QUICK=1: the notebooks' tests run them small."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0")


def sized(full, small):
    """`full` normally, `small` in quick mode."""
    return small if quick() else full


def results_dir() -> Path:
    """Where notebooks write sweeps: $KAFKASIM_RESULTS, else the results/ folder of the kafkasim clone
    the notebook runs in (git ignores it), else ./results."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "sim").is_dir():
            return folder / "results"
    return here / "results"


def run_each(variants: dict, base: dict | None = None, scenario=None, seed: int | None = None) -> dict:
    """{label: overrides} -> {label: RunResult}, every variant on `base` (the same seed, hence the
    same workload and faults: the differences come from the settings alone)."""
    from . import api

    return {label: api.run(scenario, {**(base or {}), **overrides}, seed) for label, overrides in variants.items()}


ROWS = (("sent", lambda r: r["sent"]),
        *((name, lambda r, name=name: r.outcomes[name]) for name in
          ("delivered", "duplicated", "lost_acked", "failed_visible", "failed_silent", "lost_unacked", "unconsumed")),
        ("acked missing from log", lambda r: r["acked_missing_from_log"]["total"]),
        ("  of which read first", lambda r: r["acked_missing_from_log"]["processed_before_loss"]),
        ("replicas diverged", lambda r: r["brokers"]["diverged_records"]),
        ("ack latency p50 (ms)", lambda r: r["latency"]["ack_p50_ms"]),
        ("ack latency p99 (ms)", lambda r: r["latency"]["ack_p99_ms"]),
        ("records per batch", lambda r: r["producer"]["records_per_batch"]),
        ("produce requests", lambda r: r["producer"]["requests"]),
        ("retries", lambda r: r["producer"]["retries"]),
        ("reorderings", lambda r: r["producer"]["reorderings"]),
        ("commits sent", lambda r: r["consumer"]["commits_sent"]),
        ("redelivered", lambda r: r["consumer"]["redeliveries"]),
        ("leader elections", lambda r: r["brokers"]["elections"]),
        ("unclean elections", lambda r: r["brokers"]["unclean_elections"]),
        ("records truncated", lambda r: r["brokers"]["truncated_records"]))


def compare(runs: dict):
    """{label: RunResult} (or named-scenario runs) -> a DataFrame, one column per run."""
    import pandas as pd

    results = {label: getattr(run, "result", run) for label, run in _labelled(runs).items()}
    table = {label: [get(result) for _name, get in ROWS] for label, result in results.items()}
    return pd.DataFrame(table, index=[name for name, _get in ROWS], dtype=object)


def outcomes(runs: dict, title: str = ""):
    """The outcome breakdown of {label: RunResult} (or named-scenario runs), a panel per stage."""
    from .plots import breakdown_from_runs, outcomes_figure

    results = {label: getattr(run, "result", run) for label, run in _labelled(runs).items()}
    return outcomes_figure(*breakdown_from_runs(results), title=title)


def _labelled(runs) -> dict:
    """A dict as it is; a list of named-scenario runs keyed by their labels."""
    return runs if isinstance(runs, dict) else {run.label: run for run in runs}
