"""Controller: the KRaft controller quorum, reduced to one always-available node.

It owns the partition state (replicas, leader, leader epoch, ISR, Eligible Leader Replicas,
partition epoch), fences a broker whose heartbeats stop for broker.session.timeout.ms,
elects leaders, commits the ISR changes leaders ask for (AlterPartition), moves leadership
away from a broker in controlled shutdown, and publishes every change to the brokers.

Elections (PartitionChangeBuilder): the first live ISR member in assignment order; with
Eligible Leader Replicas (KIP-966, broker.eligible.leader.replicas.version = 1) then the
first live ELR member, then -- ISR and ELR empty -- the last known leader once it is back
(lastKnownElr, useLastKnownLeaderInBalancedRecovery; an unclean election: ISR = itself);
then, if unclean.leader.election.enable, any live replica; else the partition is offline.
Without ELR the ISR never becomes empty: its last member stays even when fenced, and is
elected again when it returns -- whatever its log lost meanwhile.

Leader balancing (auto.leader.rebalance.enable, QuorumController.maybeBalancePartitionLeaders):
after a change that leaves some partition led by another replica than its first (preferred)
one, a check runs leader.imbalance.check.interval.seconds later, and again that long after
every later change while the imbalance lasts; it moves each such leadership back to the
preferred replica when that replica is unfenced and in the ISR (ISR unchanged, epoch + 1).
The old leader follows and truncates what the new one lacks -- acks=1 data it had acknowledged.
"""

from __future__ import annotations

import math

from .. import protocol as P
from ..counters import ControllerCounters
from ..timer import Alarm, call_at
from .partition_state import PartitionState

NODE = "controller"


class Controller:
    """Partition leadership and ISR, decided in one place."""

    def __init__(self, ctx):
        self.env = ctx.env
        self.network = ctx.network
        self.trace = ctx.trace
        settings = ctx.cfg.settings
        self.node = NODE
        self.brokers = []  # set by the cluster builder
        self.parts = [PartitionState(reps) for reps in ctx.assignment]
        self.unclean = bool(settings.topic.unclean_leader_election_enable)
        self.min_isr = settings.topic.min_insync_replicas
        broker = settings.broker
        self.elr_enabled = bool(broker.eligible_leader_replicas_version)
        self.quick_restart_keeps_isr = bool(broker.model_quick_restart_keeps_isr)
        self.check_broker_epochs = bool(broker.model_isr_broker_epochs)
        self.session_timeout = broker.broker_session_timeout
        n = settings.cluster.brokers
        self.fenced = [False] * n
        self.last_heartbeat = [self.env.now] * n
        self.incarnation = [0] * n
        self.version = 0
        self.counters = ControllerCounters()
        self.unclean_epochs: set[tuple[int, int]] = set()  # (partition, leader epoch) from unclean elections
        self._alarm = Alarm(self.env)
        self.auto_rebalance = bool(broker.auto_leader_rebalance_enable)
        self.imbalance_check = broker.leader_imbalance_check_interval
        self._balance_scheduled = False

    def start(self) -> None:
        """The cluster is already running at t=0: every broker knows its roles."""
        self.version = 1
        changes = {p: st.record() for p, st in enumerate(self.parts)}
        for b in self.brokers:
            b.on_metadata_update(P.MetadataUpdate(self.version, self.version, changes, self._fenced_set(), True))
        self.env.process(self._session_checker())

    # -- broker liveness -----------------------------------------------------------------
    def on_heartbeat(self, heartbeat: P.BrokerHeartbeat) -> None:
        b, incarnation, clean = heartbeat.broker, heartbeat.incarnation, heartbeat.clean
        if incarnation > self.incarnation[b]:
            if not self.fenced[b] and not self.quick_restart_keeps_isr:
                return  # KRaft: a new incarnation registers only once the old session has expired
            bounced = not self.fenced[b]
            self.incarnation[b] = incarnation
            self.trace.add(self.env.now, "registered", b, clean)
            if not clean and self.elr_enabled:
                self._forget_unclean(b)
            if bounced:
                self._bounce(b)
        elif incarnation < self.incarnation[b]:
            return
        self.last_heartbeat[b] = self.env.now
        if self.fenced[b]:
            self._unfence(b)
        if heartbeat.metadata_version < self.version:
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

    def _bounce(self, b: int) -> None:
        """A broker that restarted before it was fenced (quick re-registration) leads nothing it led
        before in the same epoch (ZooKeeper controller since KIP-380: a bounce is a failure followed by
        a startup): its leaderships go to another live ISR member, or back to it in a new epoch. It
        keeps its ISR memberships, as this mode promises."""
        changed = []
        for p, st in enumerate(self.parts):
            if st.leader != b:
                continue
            others = [r for r in st.replicas if r != b and r in st.isr and not self.fenced[r]]
            if others or b in st.isr:
                self._move_leader(p, st, others[0] if others else b)
            else:  # it left the ISR as it registered (ELR after an unclean shutdown): a normal election
                self._elect(p, st)
            changed.append(p)
        changed += [p for p in self._elect_leaderless(b) if p not in changed]
        self._publish(changed)

    def _fence(self, b: int) -> None:
        self._publish(self._take_out(b))

    def _take_out(self, b: int) -> list[int]:
        """Fence b: out of every ISR (the last member stays unless ELR is on), its leaderships re-elected."""
        self.fenced[b] = True
        self.trace.add(self.env.now, "fenced", b)
        changed = []
        for p, st in enumerate(self.parts):
            if b not in st.replicas:
                continue
            if b in st.isr and (len(st.isr) > 1 or self.elr_enabled):
                self._set_isr(st, tuple(r for r in st.isr if r != b))
                changed.append(p)
            if st.leader == b:
                self._elect(p, st)
                if p not in changed:
                    changed.append(p)
        return changed

    def _unfence(self, b: int) -> None:
        self.fenced[b] = False
        self.trace.add(self.env.now, "unfenced", b)
        self._publish(self._elect_leaderless(b), always=True)

    def _elect_leaderless(self, b: int) -> list[int]:
        """b may lead again: an election for each of its partitions without a leader
        (ReplicationControlManager.handleBrokerUnfenced, over partitionsWithNoLeader)."""
        changed = []
        for p, st in enumerate(self.parts):
            if st.leader is None and b in st.replicas:
                self._elect(p, st)
                if st.leader is not None:
                    changed.append(p)
        return changed

    def _forget_unclean(self, b: int) -> None:
        """KIP-966: a broker back from an unclean shutdown may miss committed data: out of ISR and ELR."""
        changed = []
        for p, st in enumerate(self.parts):
            if b in st.isr or b in st.elr:
                st.isr = tuple(r for r in st.isr if r != b)
                st.elr = tuple(r for r in st.elr if r != b)
                st.partition_epoch += 1
                changed.append(p)
        self._publish(changed)

    # -- ISR and ELR -------------------------------------------------------------------------
    def _set_isr(self, st: PartitionState, isr: tuple) -> None:
        """New ISR; with ELR, replicas leaving it while it is below min.insync.replicas become eligible."""
        if self.elr_enabled:
            if len(isr) < self.min_isr:
                left = set(st.isr) - set(isr)
                st.elr = st.ordered((set(st.elr) | left) - set(isr))
            else:
                st.elr = ()
        st.isr = st.ordered(isr)
        st.partition_epoch += 1

    # -- elections ---------------------------------------------------------------------------
    def _elect(self, p: int, st: PartitionState) -> None:
        """PartitionChangeBuilder.electLeader: ISR, then ELR, then the last known leader (ELR on, both
        empty), then unclean only when enabled."""
        live = [r for r in st.replicas if not self.fenced[r]]
        in_isr = [r for r in live if r in st.isr]
        eligible = [r for r in live if r in st.elr]
        old = st.leader
        lkl = st.last_known_leader
        if in_isr:
            st.leader = in_isr[0]
        elif eligible:
            st.leader = eligible[0]
            st.isr = (st.leader,)
            st.elr = tuple(r for r in st.elr if r != st.leader)
            self.trace.add(self.env.now, "elr_election", p, st.leader)
        elif self.elr_enabled and not st.isr and not st.elr and lkl is not None and not self.fenced[lkl]:
            st.leader = lkl  # whatever its log lost: it is elected as in an unclean election
            st.isr = (lkl,)
            self.counters.unclean_elections += 1
            self.trace.add(self.env.now, "last_known_leader_election", p, lkl)
        elif self.unclean and live:
            st.leader = live[0]
            st.isr = (live[0],)
            st.elr = ()
            self.counters.unclean_elections += 1
            self.trace.add(self.env.now, "unclean_election", p, live[0])
        else:
            st.leader = None  # offline until an eligible replica returns
        if st.leader is None:
            if old is not None and self.elr_enabled:
                st.last_known_leader = old  # PartitionChangeBuilder.maybeUpdateLastKnownLeader
        else:
            st.last_known_leader = None
        if st.leader != old:
            st.leader_epoch += 1
            self.counters.elections += 1
            if self.counters.unclean_elections and st.leader is not None and not in_isr and not eligible:
                self.unclean_epochs.add((p, st.leader_epoch))
        st.partition_epoch += 1
        self.trace.add(self.env.now, "leader", p, st.leader, st.leader_epoch, st.isr)

    # -- leader balancing ----------------------------------------------------------------------
    MAX_ELECTIONS_PER_IMBALANCE = 1000  # QuorumController: more wait for a check 10 ms later

    def _maybe_schedule_balance(self) -> None:
        """QuorumController.maybeScheduleNextBalancePartitionLeaders, called after every change."""
        if not self.auto_rebalance or self._balance_scheduled:
            return
        if all(st.leader == st.replicas[0] for st in self.parts):
            return
        self._balance_scheduled = True
        call_at(self.env, self.imbalance_check, self._balance)

    def _balance(self, _event=None, *, limit: int = MAX_ELECTIONS_PER_IMBALANCE) -> None:
        """Preferred-leader elections for the imbalanced partitions whose first replica may lead."""
        self._balance_scheduled = False
        changed = []
        for p, st in enumerate(self.parts):
            preferred = st.replicas[0]
            if st.leader == preferred or self.fenced[preferred] or preferred not in st.isr:
                continue
            if len(changed) == limit:
                self._balance_scheduled = True
                call_at(self.env, 0.010, self._balance)
                break
            self.counters.preferred_elections += 1
            self.trace.add(self.env.now, "preferred_election", p, preferred)
            self._move_leader(p, st, preferred)
            changed.append(p)
        self._publish(changed)

    def _move_leader(self, p: int, st: PartitionState, leader: int) -> None:
        """A new leader epoch for p, led by an ISR member; the ISR stays as it is."""
        st.leader = leader
        st.leader_epoch += 1
        st.partition_epoch += 1
        self.counters.elections += 1
        self.trace.add(self.env.now, "leader", p, st.leader, st.leader_epoch, st.isr)

    def was_unclean(self, p: int, leader_epoch: int) -> bool:
        return (p, leader_epoch) in self.unclean_epochs

    def on_alter_partition(self, req: P.AlterPartition) -> None:
        b, p, new_isr, broker_epochs = req.broker, req.partition, req.new_isr, req.broker_epochs
        leader_epoch, partition_epoch = req.leader_epoch, req.partition_epoch
        broker = self.brokers[b]
        st = self.parts[p]
        ok = st.leader == b and leader_epoch == st.leader_epoch and partition_epoch == st.partition_epoch
        if ok and self.check_broker_epochs and broker_epochs is not None:
            # KIP-903: a replica joins only with the broker epoch it has now (INELIGIBLE_REPLICA otherwise)
            stale = [r for r in new_isr if r != b and r not in st.isr and broker_epochs.get(r) != self.incarnation[r]]
            if stale:
                self.trace.add(self.env.now, "isr_refused", p, tuple(stale))
                ok = False
        if ok:
            # a broker joins the ISR only while unfenced
            isr = tuple(r for r in st.replicas if r in new_isr and (r == b or not self.fenced[r] or r in st.isr))
            ok = bool(isr)
        if not ok:
            self.network.send(NODE, broker.node, broker, P.AlterPartitionResponse(p, None))
            return
        self._set_isr(st, isr)
        self.trace.add(self.env.now, "isr", p, st.isr)
        self.network.send(NODE, broker.node, broker, P.AlterPartitionResponse(p, st.record()))
        self._publish([p])

    def on_controlled_shutdown(self, req: P.ControlledShutdown) -> None:
        """Move every leadership away from the broker and take it out of the ISRs, then let it stop."""
        self._publish(self._take_out(req.broker), always=True)
        broker = self.brokers[req.broker]
        self.network.send(NODE, broker.node, broker, P.ControlledShutdownResponse())

    # -- publishing ---------------------------------------------------------------------------
    def _fenced_set(self) -> frozenset:
        return frozenset(b for b, f in enumerate(self.fenced) if f)

    def _publish(self, changed, always: bool = False) -> None:
        self._maybe_schedule_balance()
        if not changed and not always:
            return
        prev = self.version
        self.version += 1
        changes = {p: self.parts[p].record() for p in changed}
        fenced = self._fenced_set()
        for broker in self.brokers:
            self.network.send(NODE, broker.node, broker, P.MetadataUpdate(self.version, prev, changes, fenced, False))

    def _send_snapshot(self, b: int) -> None:
        changes = {p: st.record() for p, st in enumerate(self.parts)}
        broker = self.brokers[b]
        self.network.send(NODE, broker.node, broker, P.MetadataUpdate(self.version, self.version, changes,
                                                                      self._fenced_set(), True))

    # -- views for faults and the drain -----------------------------------------------------
    def leader_of(self, p: int):
        return self.parts[p].leader

    def followers_of(self, p: int):
        st = self.parts[p]
        return [r for r in st.replicas if r != st.leader]
