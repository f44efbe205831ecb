"""One function per command, for notebooks and scripts (the command line calls the same code).

    from sim import api
    result = api.run(overrides={"producer.acks": "1"})          # kafkasim run --set producer.acks=1
    seen = api.follow(overrides={"producer.acks": "1"})          # kafkasim run --follow auto (ids=[...]: chosen)
    runs = api.scenario("last-replica-standing")                 # kafkasim run --scenario ...
    seen = api.follow_scenario("phantom-read")                   # kafkasim run --scenario ... --follow auto
    est = api.estimate(overrides={...}, replications=30)         # kafkasim estimate
    table = api.sweep("experiments/tradeoff.toml", jobs=2)       # kafkasim sweep
    table = api.sweep("experiments/tradeoff.toml", overwrite=True)  # kafkasim sweep --overwrite (or resume=True)
    demo = api.demo()                                            # kafkasim demo

In a notebook each result shows itself as a table (`_repr_html_`); `result.to_frame()`,
`est.to_frame()`, `est.rows`, `table.to_frame()` and `table.rows` are pandas DataFrames.

`scenario` is a scenario TOML path (None: the built-in default scenario); `overrides` a dict of
dotted config keys (and "faults"). Process pools need a `if __name__ == "__main__":` guard in
scripts; in notebooks they work as they are, or pass jobs=1 to stay in process.
"""

from __future__ import annotations

from .config import load_config
from .scenarios import default_path


def config(scenario=None, overrides: dict | None = None, seed: int | None = None):
    return load_config(scenario if scenario is not None else default_path(), overrides=overrides, seed=seed)


def run(scenario=None, overrides: dict | None = None, seed: int | None = None):
    """One replication -> RunResult (.outcomes, .summary(), .to_json(), ['causes'], ...)."""
    from .run import run_once
    return run_once(config(scenario, overrides, seed))


def follow(scenario=None, overrides: dict | None = None, seed: int | None = None, ids=None):
    """One replication following messages `ids` (None: a lost, a duplicated and a delivered one, when
    present) -> Followed (.result, .journeys, .story(), .swimlane())."""
    from .follow import follow as _follow
    return _follow(config(scenario, overrides, seed), ids)


def follow_scenario(name: str, which: str = "unsafe", ids=None, sets=(), seed: int | None = None):
    """A named scenario's variant ("unsafe" or "safe") following messages `ids` (None: picked) -> Followed
    (kafkasim run --scenario NAME --follow auto)."""
    from .follow import follow_named
    return follow_named(name, which, ids, sets, seed)


def scenario(name: str, sets=(), seed: int | None = None):
    """A named loss scenario -> [unsafe NamedRun, safe NamedRun] (.result, .timeline)."""
    from .scenarios.named import run_named
    return run_named(name, sets=sets, seed=seed)


def estimate(scenario=None, overrides: dict | None = None, seed: int | None = None, **kwargs):
    """Replications with intervals -> Estimate, a dict of estimates (see sim.experiment.estimate.estimate);
    method="crude", "is", "conditional" or "auto" (docs/rare-events.md)."""
    from .experiment.estimate import estimate as _estimate
    return _estimate(config(scenario, overrides, seed), **kwargs)


def sweep(experiment, resume: bool = False, overwrite: bool = False, **kwargs):
    """Run an experiment -> SweepResult ({point index: {"point", "estimate"}}, see sim.experiment.sweep).

    `experiment`: an experiment file, or its tables as a dict ({"experiment": {...}, "base": {...},
    "grid": {...}}). Results already there: resume=True continues them, overwrite=True starts again.
    confirm=True: run a grid of more than 10,000 points."""
    from .experiment.sweep import Experiment, experiment_from_dict, load_experiment, run_sweep
    replications = kwargs.pop("replications", None)
    confirm = kwargs.pop("confirm", False)
    if isinstance(experiment, dict):
        exp = experiment_from_dict(experiment, replications=replications, confirm=confirm)
    elif isinstance(experiment, Experiment):
        exp = experiment
    else:
        exp = load_experiment(experiment, replications=replications, confirm=confirm)
    return run_sweep(exp, resume=resume, overwrite=overwrite, **kwargs)


def demo(**kwargs):
    """The three-stage demo -> SweepResult {point index: {"point", "estimate", "label", "stage"}}."""
    from .demo import run_demo
    return run_demo(**kwargs)
