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
        brokers = settings.cluster.brokers
        self.fenced = [False] * brokers
        self.last_heartbeat = [self.env.now] * brokers
        self.incarnation = [0] * brokers
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
        for broker in self.brokers:
            broker.on_metadata_update(P.MetadataUpdate(self.version, self.version, changes, self._fenced_set(), True))
        self.env.process(self._session_checker())

    # -- broker liveness -----------------------------------------------------------------
    def on_heartbeat(self, heartbeat: P.BrokerHeartbeat) -> None:
        broker, incarnation, clean = heartbeat.broker, heartbeat.incarnation, heartbeat.clean
        if incarnation > self.incarnation[broker]:
            if not self.fenced[broker] and not self.quick_restart_keeps_isr:
                return  # KRaft: a new incarnation registers only once the old session has expired
            bounced = not self.fenced[broker]
            self.incarnation[broker] = incarnation
            self.trace.add(self.env.now, "registered", broker, clean)
            if not clean and self.elr_enabled:
                self._forget_unclean(broker)
            if bounced:
                self._bounce(broker)
        elif incarnation < self.incarnation[broker]:
            return
        self.last_heartbeat[broker] = self.env.now
        if self.fenced[broker] and not heartbeat.want_shutdown:  # a broker shutting down stays fenced
            self._unfence(broker)
        if heartbeat.metadata_version < self.version:
            self._send_snapshot(broker)

    def _session_checker(self):
        env = self.env
        while True:
            now = env.now
            deadline = math.inf
            for broker, fenced in enumerate(self.fenced):
                if fenced:
                    continue
                expiry = self.last_heartbeat[broker] + self.session_timeout
                if expiry <= now:
                    self._fence(broker)
                else:
                    deadline = min(deadline, expiry)
            yield self._alarm.wait(deadline if deadline < math.inf else now + self.session_timeout)

    def _bounce(self, broker: int) -> None:
        """A broker that restarted before it was fenced (quick re-registration) leads nothing it led
        before in the same epoch (ZooKeeper controller since KIP-380: a bounce is a failure followed by
        a startup): its leaderships go to another live ISR member, or back to it in a new epoch. It
        keeps its ISR memberships, as this mode promises."""
        changed = []
        for partition, st in enumerate(self.parts):
            if st.leader != broker:
                continue
            others = [r for r in st.replicas if r != broker and r in st.isr and not self.fenced[r]]
            if others or broker in st.isr:
                self._move_leader(partition, st, others[0] if others else broker)
            else:  # it left the ISR as it registered (ELR after an unclean shutdown): a normal election
                self._elect(partition, st)
            changed.append(partition)
        changed += [partition for partition in self._elect_leaderless(broker) if partition not in changed]
        self._publish(changed)

    def _fence(self, broker: int) -> None:
        self._publish(self._take_out(broker))

    def _take_out(self, broker: int) -> list[int]:
        """Fence `broker`: out of every ISR (the last member stays unless ELR is on), its leaderships re-elected."""
        self.fenced[broker] = True
        self.trace.add(self.env.now, "fenced", broker)
        changed = []
        for partition, st in enumerate(self.parts):
            if broker not in st.replicas:
                continue
            if broker in st.isr and (len(st.isr) > 1 or self.elr_enabled):
                self._set_isr(st, tuple(r for r in st.isr if r != broker))
                changed.append(partition)
            if st.leader == broker:
                self._elect(partition, st)
                if partition not in changed:
                    changed.append(partition)
        return changed

    def _unfence(self, broker: int) -> None:
        self.fenced[broker] = False
        self.trace.add(self.env.now, "unfenced", broker)
        self._publish(self._elect_leaderless(broker), always=True)

    def _elect_leaderless(self, broker: int) -> list[int]:
        """`broker` may lead again: an election for each of its partitions without a leader
        (ReplicationControlManager.handleBrokerUnfenced, over partitionsWithNoLeader)."""
        changed = []
        for partition, st in enumerate(self.parts):
            if st.leader is None and broker in st.replicas:
                self._elect(partition, st)
                if st.leader is not None:
                    changed.append(partition)
        return changed

    def _forget_unclean(self, broker: int) -> None:
        """KIP-966: a broker back from an unclean shutdown may miss committed data: out of ISR and ELR."""
        changed = []
        for partition, st in enumerate(self.parts):
            if broker in st.isr or broker in st.elr:
                st.isr = tuple(r for r in st.isr if r != broker)
                st.elr = tuple(r for r in st.elr if r != broker)
                st.partition_epoch += 1
                changed.append(partition)
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
    def _elect(self, partition: int, st: PartitionState) -> None:
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
            self.trace.add(self.env.now, "elr_election", partition, st.leader)
        elif self.elr_enabled and not st.isr and not st.elr and lkl is not None and not self.fenced[lkl]:
            st.leader = lkl  # whatever its log lost: it is elected as in an unclean election
            st.isr = (lkl,)
            self.counters.unclean_elections += 1
            self.trace.add(self.env.now, "last_known_leader_election", partition, lkl)
        elif self.unclean and live:
            st.leader = live[0]
            st.isr = (live[0],)
            st.elr = ()
            self.counters.unclean_elections += 1
            self.trace.add(self.env.now, "unclean_election", partition, live[0])
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
                self.unclean_epochs.add((partition, st.leader_epoch))
        st.partition_epoch += 1
        self.trace.add(self.env.now, "leader", partition, st.leader, st.leader_epoch, st.isr)

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
        for partition, st in enumerate(self.parts):
            preferred = st.replicas[0]
            if st.leader == preferred or self.fenced[preferred] or preferred not in st.isr:
                continue
            if len(changed) == limit:
                self._balance_scheduled = True
                call_at(self.env, 0.010, self._balance)
                break
            self.counters.preferred_elections += 1
            self.trace.add(self.env.now, "preferred_election", partition, preferred)
            self._move_leader(partition, st, preferred)
            changed.append(partition)
        self._publish(changed)

    def _move_leader(self, partition: int, st: PartitionState, leader: int) -> None:
        """A new leader epoch for `partition`, led by an ISR member; the ISR stays as it is."""
        st.leader = leader
        st.leader_epoch += 1
        st.partition_epoch += 1
        self.counters.elections += 1
        self.trace.add(self.env.now, "leader", partition, st.leader, st.leader_epoch, st.isr)

    def was_unclean(self, partition: int, leader_epoch: int) -> bool:
        return (partition, leader_epoch) in self.unclean_epochs

    def on_alter_partition(self, req: P.AlterPartition) -> None:
        broker_id, partition, new_isr, broker_epochs = req.broker, req.partition, req.new_isr, req.broker_epochs
        leader_epoch, partition_epoch = req.leader_epoch, req.partition_epoch
        broker = self.brokers[broker_id]
        st = self.parts[partition]
        ok = st.leader == broker_id and leader_epoch == st.leader_epoch and partition_epoch == st.partition_epoch
        if ok and self.check_broker_epochs and broker_epochs is not None:
            # KIP-903: a replica joins only with the broker epoch it has now (INELIGIBLE_REPLICA otherwise)
            stale = [r for r in new_isr
                     if r != broker_id and r not in st.isr and broker_epochs.get(r) != self.incarnation[r]]
            if stale:
                self.trace.add(self.env.now, "isr_refused", partition, tuple(stale))
                ok = False
        if ok:
            # a broker joins the ISR only while unfenced
            isr = tuple(r for r in st.replicas
                        if r in new_isr and (r == broker_id or not self.fenced[r] or r in st.isr))
            ok = bool(isr)
        if not ok:
            self.network.send(NODE, broker.node, broker, P.AlterPartitionResponse(partition, None))
            return
        self._set_isr(st, isr)
        self.trace.add(self.env.now, "isr", partition, st.isr)
        self.network.send(NODE, broker.node, broker, P.AlterPartitionResponse(partition, st.record()))
        self._publish([partition])

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

    def _send_snapshot(self, broker_id: int) -> None:
        changes = {p: st.record() for p, st in enumerate(self.parts)}
        broker = self.brokers[broker_id]
        self.network.send(NODE, broker.node, broker, P.MetadataUpdate(self.version, self.version, changes,
                                                                      self._fenced_set(), True))

    # -- views for faults and the drain -----------------------------------------------------
    def leader_of(self, partition: int):
        return self.parts[partition].leader

    def followers_of(self, partition: int):
        st = self.parts[partition]
        return [r for r in st.replicas if r != st.leader]
