"""FaultInjector: the only source of failures, applying scripted and random faults at their times.

Targets are resolved when a fault fires: `leader` and `followers` are what the controller believes at
that moment for the fault's partition; `consumer:N` is instance N of the consuming application
(validation turns `consumer` into `consumer:0`). A fault with a duration is undone after it
(restart, heal, resume) -- unless production has ended by then, when the drain phase heals
everything anyway. What each kind does is its entry in sim/faults/kinds.py.
"""

from __future__ import annotations

from .kinds import FAULT_KINDS


class FaultInjector:
    """Applies faults at their times; heals everything at the end of production."""

    def __init__(self, cluster, faults, end: float):
        self.cluster = cluster
        self.env = cluster.env
        self.network = cluster.network
        self.trace = cluster.trace
        self.faults = tuple(faults)
        self.end = end
        self.active = True
        self.applied: list[tuple] = []
        self.env.process(self._run())

    def _run(self):
        env = self.env
        for fault in self.faults:
            if fault.at > env.now:
                yield env.timeout(fault.at - env.now)
            if not self.active:
                return
            self.apply(fault)

    def _brokers(self, fault) -> list[int]:
        """The broker ids a broker target names now."""
        cluster = self.cluster
        target = fault.target
        if target.startswith("broker:"):
            return [int(target.split(":", 1)[1])]
        if target == "all-brokers":
            return list(range(len(cluster.brokers)))
        if target == "leader":
            leader = cluster.controller.leader_of(fault.partition)
            return [] if leader is None else [leader]
        return cluster.controller.followers_of(fault.partition)

    def apply(self, fault) -> None:
        kind = FAULT_KINDS[fault.action]
        if fault.target == "producer" or fault.target.startswith("consumer:"):
            self._record(fault, fault.target)
            self._undo_later(fault, kind.apply(self, fault, fault.target))
            return
        ids = self._brokers(fault)
        self._record(fault, ids)
        for broker_id in ids:
            self._undo_later(fault, kind.apply(self, fault, self.cluster.brokers[broker_id]))

    def heal_links(self, node: str) -> None:
        """Reconnect a node's cut links."""
        self.network.heal(node)
        self.trace.add(self.env.now, "heal", node)

    def _record(self, fault, targets) -> None:
        self.applied.append((self.env.now, fault.action, fault.target, targets))
        self.trace.add(self.env.now, "fault", fault.action, fault.target, targets)

    def _undo_later(self, fault, undo) -> None:
        if undo is None or fault.duration is None:
            return
        at = fault.at + fault.duration
        if at > self.end:
            return  # the drain phase heals it
        timer = self.env.timeout(at - self.env.now)
        timer.callbacks.append(lambda _event: undo() if self.active else None)

    def heal_all(self) -> None:
        """Start of the drain phase: no more faults; every broker up, every link healed."""
        self.active = False
        cluster = self.cluster
        cluster.network.heal()
        for broker in cluster.brokers:
            broker.resume()
            if broker.up and broker.shutting_down:
                broker.restart_when_stopped = True  # a controlled shutdown completes, then the broker starts
            if not broker.up:
                broker.restart(replace_disk=True)  # the drain brings every broker back, on a new disk if need be
        cluster.consumer.restart()
        cluster.trace.add(self.env.now, "heal_all")
