"""Helpers for tests: tiny clusters with exact timings, in the style of SimPy's own tests."""

from __future__ import annotations

from sim.cluster import Cluster
from sim.config import load_config
from sim.workload import ArrivalStream

# A network with a constant 1 ms one-way delay, and brokers that handle a request as it arrives (no request
# queue time, which tests/test_request_queue.py covers on its own): every timeline below is exact.
EXACT = {"network.latency.distribution": "constant", "network.latency.ms": 1.0, "broker.model.request.queue.ms": 0}


def config(**overrides):
    """A Config from dotted keys written with '__' for '.', e.g. producer__acks='1'."""
    values = dict(EXACT)
    faults = overrides.pop("faults", None)
    for key, value in overrides.items():
        values[key.replace("__", ".")] = value
    if faults is not None:
        values["faults"] = faults
    return load_config(overrides=values)


def cluster(times=None, **overrides) -> Cluster:
    """A cluster whose producer sends exactly at `times` (seconds), if given."""
    cfg = config(**overrides)
    arrivals = None
    if times is not None:
        arrivals = ArrivalStream.from_times(times, end=cfg.seconds("workload.duration"))
    return Cluster(cfg, arrivals=arrivals)


def scenario_config(name: str, faults=None, **overrides):
    """A named scenario's shared base (sim/scenarios/catalog.py) as a Config, with overrides written
    as for config(), and its faults unless others are given."""
    from sim.scenarios.catalog import CATALOG
    base = CATALOG[name].base
    values = {key.replace(".", "__"): value for key, value in base.items() if key != "faults"}
    values.update(overrides)
    return config(**values, faults=base["faults"] if faults is None else faults)
