"""Run one replication: the production phase, then the drain phase, then the accounting.

Drain: at the end of production the fault injector stops and heals everything, the
producer is closed (flush, wait for every batch), the cluster re-replicates, the consumer
reads up to the high watermark and closes (a final commit). Then every message is
classified by the ledger.
"""

from __future__ import annotations

import time

from .cluster import Cluster
from .invariants import check_run
from .result import RunResult

SETTLE_CHECK = 0.1  # s of simulated time between drain checks


def drain(cluster: Cluster):
    """SimPy process: close the producer, wait until the cluster settles, close the consumer."""
    env = cluster.env
    cluster.faults.heal_all()
    yield cluster.producer.close()
    while not cluster.settled():
        yield env.timeout(SETTLE_CHECK)
    yield cluster.consumer.close()
    cluster.drained = True


def start(cfg, spawn_key: tuple[int, ...] = (), arrivals=None, fault_bias: dict | None = None) -> Cluster:
    """Build one replication without running it (probes can be attached before it runs)."""
    cluster = Cluster(cfg, spawn_key, arrivals, fault_bias)
    cluster.drained = False
    return cluster


PROGRESS_STEPS = 100  # progress reports over the production phase


def finish(cluster: Cluster, progress=None) -> Cluster:
    """Run the production phase, then the drain phase (bounded by sim.drain.timeout). progress: a
    sim.progress.Progress told the simulated seconds done (stopping the clock in between changes
    nothing: SimPy keeps every event's order)."""
    env = cluster.env
    if progress is None:
        env.run(until=cluster.end)
    else:
        step = cluster.end / PROGRESS_STEPS
        for tick in range(1, PROGRESS_STEPS + 1):
            env.run(until=cluster.end if tick == PROGRESS_STEPS else tick * step)
            progress.update(step)
    proc = env.process(drain(cluster))
    env.run(until=env.any_of([proc, env.timeout(cluster.cfg.settings.sim.drain_timeout)]))
    return cluster


def simulate(cfg, spawn_key: tuple[int, ...] = (), arrivals=None) -> Cluster:
    """Build and run one replication; returns the finished Cluster."""
    return finish(start(cfg, spawn_key, arrivals))


def drain_and_classify(cluster: Cluster, started: float, spawn_key: tuple[int, ...] = (),
                       progress=None) -> RunResult:
    """Finish the run, classify every message, check the invariants (sim/invariants.py)."""
    finish(cluster, progress)
    result = RunResult.from_cluster(cluster, wall_s=time.perf_counter() - started)
    check_run(cluster, result, spawn_key)
    return result


def run_once(cfg, spawn_key: tuple[int, ...] = (), progress=None, fault_bias: dict | None = None) -> RunResult:
    """One replication of a scenario, classified and checked (progress: see finish); with fault_bias, its
    chaos rates biased (the result's "fault_log_weight" is the log likelihood ratio)."""
    started = time.perf_counter()
    return drain_and_classify(start(cfg, spawn_key, fault_bias=fault_bias), started, spawn_key, progress)
