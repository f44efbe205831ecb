"""Invariants every run must keep, checked cheaply: at the end of every run (check_run) and, where a
check costs a comparison, while it runs (read_below_hw, in the consumer's fetcher; the leader's
ReplicaLog.advance_hw refuses an HW that moves back).

- conservation: every message sent has exactly one outcome class, and the stages add up;
- on every replica 0 <= HW <= LEO, and its leader-epoch cache grows (epochs strictly, start
  offsets never back, none past the LEO);
- leader epochs only grow: no replica holds an epoch the controller has not reached;
- a consumer never reads at or above the HW its fetch was served with;
- a committed offset is never above the highest HW the partition reached;
- a run ends within its production time plus sim.drain.timeout (a run that could not drain in that
  bound is reported, `drained = false`, not hidden).

A violation raises InvariantViolation carrying the seed, the spawn key and the whole config, so the
run can be replayed exactly: `run_once(err.cfg, err.spawn_key)` (err.config: every effective value).
"""

from __future__ import annotations

SLACK = 1e-6  # s: float rounding of the drain bound


class InvariantViolation(AssertionError):
    """A run broke one of the model's invariants (a bug in kafkasim, never in the input)."""

    def __init__(self, what: str, seed: int | None = None, spawn_key: tuple = (), config: dict | None = None):
        replay = f" (seed {seed}, spawn key {tuple(spawn_key)}; replay: run_once(err.cfg, err.spawn_key))" \
            if seed is not None else ""
        super().__init__(f"invariant violated: {what}{replay}")
        self.what, self.seed, self.spawn_key, self.config = what, seed, tuple(spawn_key), config
        self.cfg = None  # the Config itself, when raised by check_run


def read_below_hw(chunks, hw: int) -> None:
    """A consumer fetch response's records all lie below the HW it was served with."""
    if chunks:
        batch, _first, last = chunks[-1]
        if batch.base + last > hw:
            raise InvariantViolation(f"a consumer read offset {batch.base + last - 1} at or above the HW {hw}")


def problems(cluster, result) -> list[str]:
    """Every invariant the finished run breaks (empty when it keeps them all)."""
    found = []
    data = result.data
    counts = data["outcomes"]
    if sum(counts.values()) != data["sent"]:
        found.append(f"conservation: the outcome classes add up to {sum(counts.values())}, not {data['sent']} sent")
    staged = sum(sum(per_class.values()) for per_class in data["by_stage"].values())
    if staged > data["sent"] - counts["delivered"]:
        found.append(f"conservation: {staged} messages attributed to a stage, more than were not delivered")
    controller = cluster.controller
    for broker in cluster.brokers:
        for partition, log in broker.logs.items():
            where = f"broker {broker.id} partition {partition}"
            if not 0 <= log.hw <= log.leo:
                found.append(f"{where}: HW {log.hw} outside [0, LEO {log.leo}]")
            last_epoch, last_start = -1, 0
            for epoch, start in log.epochs:
                if epoch <= last_epoch or start < last_start or start > log.leo:
                    found.append(f"{where}: leader-epoch cache {log.epochs} does not grow within the log")
                    break
                last_epoch, last_start = epoch, start
            if log.latest_epoch > controller.parts[partition].leader_epoch:
                found.append(f"{where}: holds leader epoch {log.latest_epoch}, above the controller's "
                             f"{controller.parts[partition].leader_epoch}")
    for partition, offset in cluster.coordinator.committed.items():
        reached = max((b.logs[partition].max_hw for b in cluster.brokers if partition in b.logs), default=0)
        if offset > reached:
            found.append(f"partition {partition}: committed offset {offset} above the highest HW it reached, {reached}")
    bound = cluster.end + cluster.cfg.settings.sim.drain_timeout
    if cluster.env.now > bound + SLACK:
        found.append(f"the run ended at {cluster.env.now:.6f} s, after production + drain bound {bound:.6f} s")
    return found


def check_run(cluster, result, spawn_key: tuple = ()) -> None:
    """Raise InvariantViolation (with what is needed to replay) if the finished run breaks an invariant."""
    found = problems(cluster, result)
    if found:
        cfg = cluster.cfg
        err = InvariantViolation("; ".join(found), cfg.settings.sim.seed, spawn_key, cfg.to_dict())
        err.cfg = cfg
        raise err
