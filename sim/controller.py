"""Controller: the KRaft controller quorum, reduced to one always-available node.

It owns the partition state (replicas, leader, leader epoch, ISR, partition epoch),
fences a broker whose heartbeats stop for broker.session.timeout.ms, elects leaders
(clean: the first live ISR member in assignment order; unclean, when enabled: any live
replica), commits the ISR changes leaders ask for (AlterPartition), and publishes every
change to the brokers. The ISR never becomes empty: the last member stays in it even
when fenced (no Eligible Leader Replicas yet).
"""

from __future__ import annotations

import math

from .timer import Alarm

NODE = "controller"


class PartitionState:
    __slots__ = ("replicas", "leader", "leader_epoch", "isr", "partition_epoch")

    def __init__(self, replicas):
        self.replicas = tuple(replicas)
        self.leader = self.replicas[0]
        self.leader_epoch = 0
        self.isr = self.replicas
        self.partition_epoch = 0

    def as_tuple(self):
        return (self.replicas, self.leader, self.leader_epoch, self.isr, self.partition_epoch)


class Controller:
    """Partition leadership and ISR, decided in one place."""

    def __init__(self, ctx):
        self.env = ctx.env
        self.network = ctx.network
        self.trace = ctx.trace
        cfg = ctx.cfg
        self.node = NODE
        self.brokers = []  # set by the cluster builder
        self.parts = [PartitionState(reps) for reps in ctx.assignment]
        self.unclean = bool(cfg["topic.unclean.leader.election.enable"])
        self.session_timeout = cfg.seconds("broker.broker.session.timeout.ms")
        n = cfg["cluster.brokers"]
        self.fenced = [False] * n
        self.last_heartbeat = [self.env.now] * n
        self.incarnation = [0] * n
        self.version = 0
        self.elections = 0
        self.unclean_elections = 0
        self._alarm = Alarm(self.env)

    def start(self) -> None:
        """The cluster is already running at t=0: every broker knows its roles."""
        self.version = 1
        changes = {p: st.as_tuple() for p, st in enumerate(self.parts)}
        for b in self.brokers:
            b.on_metadata_update(self.version, self.version, changes, self._fenced_set(), True)
        self.env.process(self._session_checker())

    # -- broker liveness -----------------------------------------------------------------
    def on_heartbeat(self, b: int, incarnation: int, known_version: int) -> None:
        if incarnation > self.incarnation[b]:
            if not self.fenced[b]:
                return  # a new incarnation registers only once the old session has expired
            self.incarnation[b] = incarnation
        elif incarnation < self.incarnation[b]:
            return
        self.last_heartbeat[b] = self.env.now
        if self.fenced[b]:
            self._unfence(b)
        if known_version < self.version:
            self._send_snapshot(b)

    def _session_checker(self):
        env = self.env
        while True:
            now = env.now
            deadline = math.inf
            for b, fenced in enumerate(self.fenced):
                if fenced:
                    continue
                expiry = self.last_heartbeat[b] + self.session_timeout
                if expiry <= now:
                    self._fence(b)
                else:
                    deadline = min(deadline, expiry)
            yield self._alarm.wait(deadline if deadline < math.inf else now + self.session_timeout)

    def _fence(self, b: int) -> None:
        self.fenced[b] = True
        self.trace.add(self.env.now, "fenced", b)
        changed = []
        for p, st in enumerate(self.parts):
            if b not in st.replicas:
                continue
            if st.leader == b:
                self._elect(p, st)
                changed.append(p)
            elif b in st.isr and len(st.isr) > 1:
                st.isr = tuple(r for r in st.isr if r != b)
                st.partition_epoch += 1
                changed.append(p)
        self._publish(changed)

    def _unfence(self, b: int) -> None:
        self.fenced[b] = False
        self.trace.add(self.env.now, "unfenced", b)
        changed = []
        for p, st in enumerate(self.parts):
            if st.leader is None and b in st.replicas:
                self._elect(p, st)
                if st.leader is not None:
                    changed.append(p)
        self._publish(changed, always=True)

    # -- elections ---------------------------------------------------------------------------
    def _elect(self, p: int, st: PartitionState) -> None:
        """PartitionChangeBuilder.electLeader: ISR first, unclean only when enabled."""
        live = [r for r in st.replicas if not self.fenced[r]]
        clean = [r for r in live if r in st.isr]
        old = st.leader
        if clean:
            st.leader = clean[0]
            st.isr = tuple(r for r in st.isr if not self.fenced[r]) or st.isr
        elif self.unclean and live:
            st.leader = live[0]
            st.isr = (live[0],)
            self.unclean_elections += 1
            self.trace.add(self.env.now, "unclean_election", p, live[0])
        else:
            st.leader = None  # offline until an ISR member returns
        if st.leader != old:
            st.leader_epoch += 1
            self.elections += 1
        st.partition_epoch += 1
        self.trace.add(self.env.now, "leader", p, st.leader, st.leader_epoch, st.isr)

    def on_alter_partition(self, b: int, p: int, leader_epoch: int, partition_epoch: int, new_isr, reply) -> None:
        st = self.parts[p]
        ok = st.leader == b and leader_epoch == st.leader_epoch and partition_epoch == st.partition_epoch
        if ok:
            # a broker joins the ISR only while unfenced
            isr = tuple(r for r in st.replicas if r in new_isr and (r == b or not self.fenced[r] or r in st.isr))
            if not isr:
                ok = False
        if not ok:
            self.network.send(NODE, self.brokers[b].node, reply, p, None)
            return
        st.isr = isr
        st.partition_epoch += 1
        self.trace.add(self.env.now, "isr", p, isr)
        self.network.send(NODE, self.brokers[b].node, reply, p, st.as_tuple())
        self._publish([p])

    # -- publishing ---------------------------------------------------------------------------
    def _fenced_set(self) -> frozenset:
        return frozenset(b for b, f in enumerate(self.fenced) if f)

    def _publish(self, changed, always: bool = False) -> None:
        if not changed and not always:
            return
        prev = self.version
        self.version += 1
        changes = {p: self.parts[p].as_tuple() for p in changed}
        fenced = self._fenced_set()
        for broker in self.brokers:
            self.network.send(NODE, broker.node, broker.on_metadata_update, self.version, prev, changes, fenced, False)

    def _send_snapshot(self, b: int) -> None:
        changes = {p: st.as_tuple() for p, st in enumerate(self.parts)}
        broker = self.brokers[b]
        self.network.send(NODE, broker.node, broker.on_metadata_update, self.version, self.version, changes,
                          self._fenced_set(), True)

    # -- views for faults and the drain -----------------------------------------------------
    def leader_of(self, p: int):
        return self.parts[p].leader

    def followers_of(self, p: int):
        st = self.parts[p]
        return [r for r in st.replicas if r != st.leader]
