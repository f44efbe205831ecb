"""FaultInjector: the only source of failures, applying the scenario's scripted [[faults]].

Targets are resolved when the fault fires: `leader` and `followers` are what the controller
believes at that moment for the fault's partition; `consumer:N` is instance N of the consuming
application (validation turns `consumer` into `consumer:0`). A fault with a duration is undone after
it (restart, heal, resume) -- unless production has ended by then, when the drain phase
heals everything anyway. The network faults (isolate, heal, packet_loss, latency_spike) can
also target the producer or the consumer: their links to the peers named in `from`.
"""

from __future__ import annotations

from .network import BROKERS, CLIENTS, CONTROLLER


class FaultInjector:
    """Applies scripted faults at their times; heals everything at the end of production."""

    def __init__(self, cluster, faults, end: float):
        self.cluster = cluster
        self.env = cluster.env
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

    def _targets(self, fault) -> list[int]:
        c = self.cluster
        t = fault.target
        if t.startswith("broker:"):
            return [int(t.split(":", 1)[1])]
        if t == "all-brokers":
            return list(range(len(c.brokers)))
        if t == "leader":
            leader = c.controller.leader_of(fault.partition)
            return [] if leader is None else [leader]
        if t == "followers":
            return c.controller.followers_of(fault.partition)
        return []

    def apply(self, fault) -> None:
        c = self.cluster
        action = fault.action
        if action == "producer_crash":
            c.producer.crash()
            self._record(fault, "producer")
            self._undo_later(fault, c.producer.restart)
            return
        if action.startswith("consumer_"):
            slot = int(fault.target.split(":", 1)[1])
            self._record(fault, fault.target)
            if action == "consumer_error":
                c.consumer.inject_error(slot)
                return
            if action == "consumer_stall":
                c.consumer.stall(slot, fault.duration)
                return
            c.consumer.crash(slot)
            self._undo_later(fault, lambda: c.consumer.restart(slot))
            return
        if fault.target == "producer" or fault.target.startswith("consumer:"):
            self._record(fault, fault.target)
            self._network_fault(fault, fault.target)
            return
        targets = self._targets(fault)
        self._record(fault, targets)
        for b in targets:
            broker = c.brokers[b]
            if action == "crash":
                broker.crash()
                self._undo_later(fault, broker.restart)
            elif action == "power_loss":
                broker.crash(power_loss=True)
                self._undo_later(fault, broker.restart)
            elif action == "disk_failure":
                broker.fail_disk()
                self._undo_later(fault, lambda broker=broker: broker.restart(replace_disk=True))
            elif action == "shutdown":
                broker.shutdown()
                self._undo_later(fault, broker.restart)
            elif action == "restart":
                broker.restart()
            elif action == "heal":
                self._network_fault(fault, broker.node)
                broker.resume()
            elif action == "pause":
                broker.pause()
                self._undo_later(fault, broker.resume)
            else:
                self._network_fault(fault, broker.node)

    def _network_fault(self, fault, node: str) -> None:
        """isolate / heal / packet_loss / latency_spike on one node's links."""
        net = self.cluster.network
        peers = fault.isolate_from or (BROKERS, CONTROLLER, CLIENTS)
        if fault.action == "isolate":
            net.isolate(node, peers)
            self.cluster.trace.add(self.env.now, "isolate", node, tuple(peers))
            self._undo_later(fault, lambda: self._heal(node))
        elif fault.action == "heal":
            net.unimpair(node)
            self._heal(node)
        else:
            if fault.action == "packet_loss":
                token = net.impair(node, peers, loss=fault.rate)
            else:
                token = net.impair(node, peers, extra_delay=fault.extra_ms / 1000.0)
            self.cluster.trace.add(self.env.now, fault.action, node, token[0], tuple(peers))
            self._undo_later(fault, lambda: net.unimpair(node, token))

    def _heal(self, node: str) -> None:
        self.cluster.network.heal(node)
        self.cluster.trace.add(self.env.now, "heal", node)

    def _record(self, fault, targets) -> None:
        self.applied.append((self.env.now, fault.action, fault.target, targets))
        self.cluster.trace.add(self.env.now, "fault", fault.action, fault.target, targets)

    def _undo_later(self, fault, undo) -> None:
        if fault.duration is None:
            return
        at = fault.at + fault.duration
        if at > self.end:
            return  # the drain phase heals it
        ev = self.env.timeout(at - self.env.now)
        ev.callbacks.append(lambda _e: undo() if self.active else None)

    def heal_all(self) -> None:
        """Start of the drain phase: no more faults; every broker up, every link healed."""
        self.active = False
        c = self.cluster
        c.network.heal()
        for broker in c.brokers:
            broker.resume()
            if not broker.up:
                broker.restart(replace_disk=True)  # the drain brings every broker back, on a new disk if need be
        c.consumer.restart()
        c.trace.add(self.env.now, "heal_all")
