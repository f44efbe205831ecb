"""One function per command, for notebooks and scripts (the command line calls the same code).

    from sim import api
    result = api.run(overrides={"producer.acks": "1"})          # kafkasim run --set producer.acks=1
    runs = api.scenario("last-replica-standing")                 # kafkasim run --scenario ...
    est = api.estimate(overrides={...}, replications=30)         # kafkasim estimate
    table = api.sweep("experiments/tradeoff.toml", jobs=2)       # kafkasim sweep
    demo = api.demo()                                            # kafkasim demo

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


def scenario(name: str, sets=(), seed: int | None = None):
    """A named loss scenario -> [unsafe NamedRun, safe NamedRun] (.result, .timeline)."""
    from .scenarios.named import run_named
    return run_named(name, sets=sets, seed=seed)


def estimate(scenario=None, overrides: dict | None = None, seed: int | None = None, **kwargs):
    """Replications with intervals -> dict of estimates (see sim.experiment.estimate.estimate)."""
    from .experiment.estimate import estimate as _estimate
    return _estimate(config(scenario, overrides, seed), **kwargs)


def sweep(path, **kwargs):
    """Run an experiment file -> {point index: {"point", "estimate"}} (see sim.experiment.sweep.run_sweep)."""
    from .experiment.sweep import load_experiment, run_sweep
    return run_sweep(load_experiment(path, replications=kwargs.pop("replications", None)), **kwargs)


def demo(**kwargs):
    """The three-stage demo -> {point index: {"point", "estimate", "label", "stage"}}."""
    from .demo import run_demo
    return run_demo(**kwargs)
