"""GroupCoordinator: the broker-side coordinator of the consumer group (classic protocol).

Kafka's GroupCoordinator runs on the broker that leads the group's __consumer_offsets
partition. Here that partition has min(3, brokers) replicas (offsets.topic.replication.factor
= 3) on cluster.group.coordinator and the brokers after it, and is led by the first of them;
when the controller fences the coordinator's broker, the next unfenced replica
takes over (a leader election of the offsets partition) and loads the group as last
persisted: committed offsets and the last completed generation, with every member's
session timer restarted. Simplifications: committed offsets are never lost (the offsets
partition is written with acks=all and its loss is not modelled), the coordinator does
not move back when its first broker returns (leader balancing is not applied to it), and the
takeover happens when a request or a timer first looks after the fencing.

Membership (eager rebalances): a JoinGroup from a new member, a LeaveGroup or an expired
session (no heartbeat for session.timeout.ms) starts a rebalance (PreparingRebalance);
it completes when every member has rejoined or the rebalance timeout
(max.poll.interval.ms) ran out -- members that did not rejoin are removed. The first
rebalance of an empty group waits group.initial.rebalance.delay.ms for more members.
The coordinator computes the Range assignment itself (Kafka's group leader does it on the
client, with the same result) and hands it out in SyncGroup once the leader synced.

Requests travel over the network to a broker; a dead or not-yet-serving broker refuses
them, a paused one holds them, one that is not the coordinator answers NOT_COORDINATOR.
Requests from a consumer instance that has crashed are dropped: its connections are gone.
"""

from __future__ import annotations

import math

from ..protocol import GroupResponse, Refused
from ..timer import Alarm
from .group_protocol import (COORDINATOR_NOT_AVAILABLE, ILLEGAL_GENERATION, NOT_COORDINATOR, REBALANCE_IN_PROGRESS,
                             UNKNOWN_MEMBER_ID)

EMPTY, PREPARING, COMPLETING, STABLE = "Empty", "PreparingRebalance", "CompletingRebalance", "Stable"
OFFSETS_REPLICATION = 3  # offsets.topic.replication.factor
INACTIVE_RECHECK = 1.0  # s between looks at a coordinator whose broker is down or paused


def range_assign(partitions: int, members: list) -> dict:
    """RangeAssignor for one topic: consecutive partitions, the first members get one more."""
    out, start = {}, 0
    per, extra = divmod(partitions, len(members))
    for pos, member in enumerate(members):
        count = per + (1 if pos < extra else 0)
        out[member] = tuple(range(start, start + count))
        start += count
    return out


class Member:
    """One group member as the coordinator sees it."""

    __slots__ = ("member_id", "key", "client", "session", "rebalance", "deadline", "join", "sync")

    def __init__(self, member_id, key, client, session, rebalance, deadline):
        self.member_id = member_id
        self.key = key  # (application instance slot, join sequence): the assignor's member order
        self.client = client
        self.session = session
        self.rebalance = rebalance
        self.deadline = deadline  # session expiry
        self.join = None  # pending JoinGroup request (awaiting the join phase's end)
        self.sync = None  # pending SyncGroup request (awaiting the leader's sync)


class GroupCoordinator:
    """The one consumer group: members, generation, assignment and committed offsets."""

    def __init__(self, ctx):
        settings = ctx.cfg.settings
        self.env = ctx.env
        self.network = ctx.network
        self.trace = ctx.trace
        self.brokers = ctx.brokers
        self.controller = ctx.controller
        self.partitions = settings.topic.partitions
        self.warm_offsets = settings.consumer.app_group_start == "committed"
        self.initial_delay = settings.broker.group_initial_rebalance_delay
        brokers, first = settings.cluster.brokers, settings.cluster.group_coordinator
        self.replicas = tuple((first + i) % brokers for i in range(min(OFFSETS_REPLICATION, brokers)))
        self.host = self.replicas[0]
        self.state = EMPTY
        self.generation = 0
        self.leader = None
        self.assignment: dict = {}
        self.members: dict[str, Member] = {}
        self.committed: dict[int, int] = {}
        self.join_deadline = math.inf  # the rebalance timeout of the current join phase
        self.delay_until = -math.inf  # group.initial.rebalance.delay.ms of an empty group's first rebalance
        self.persisted = None
        self._seq = 0
        self.commits = 0
        self.rebalances = 0
        self.alarm = Alarm(self.env)
        self.env.process(self._timers())

    # -- warm start ------------------------------------------------------------------------
    def form(self, clients) -> None:
        """t = 0: the group already exists with these members in generation 1, Stable."""
        now = self.env.now
        for client in clients:
            self._add(client.node, client.slot, client, client.settings.session_timeout,
                      client.settings.max_poll_interval, now)
        self.generation = 1
        self._assign()
        self.state = STABLE
        if self.warm_offsets:
            self.committed = {p: 0 for p in range(self.partitions)}
        self._persist()
        for client in clients:
            member = self._member_of(client)
            client.membership.start_in_group(member.member_id, self.generation, self.assignment[member.member_id])

    def _member_of(self, client) -> Member:
        return next(m for m in self.members.values() if m.client is client)

    # -- where the coordinator lives -------------------------------------------------------
    def current_host(self):
        """The broker hosting the coordinator; moves on when the controller fenced it."""
        fenced = self.controller.fenced
        if self.host is not None and not fenced[self.host]:
            return self.host
        new = next((b for b in self.replicas if not fenced[b]), None)
        if new is not None:
            self._load(new)
        return self.host

    def _load(self, broker: int) -> None:
        """Failover: the new coordinator loads the group as last persisted; sessions restart."""
        self.host = broker
        self.trace.add(self.env.now, "coordinator", broker)
        generation, state, leader, assignment, members = self.persisted
        self.generation, self.state, self.leader, self.assignment = generation, state, leader, dict(assignment)
        now = self.env.now
        self.members = {mid: Member(mid, key, client, session, rebalance, now + session)
                        for mid, (key, client, session, rebalance) in members.items()}
        self.join_deadline, self.delay_until = math.inf, -math.inf
        self.alarm.notify()

    def _persist(self) -> None:
        members = {mid: (m.key, m.client, m.session, m.rebalance) for mid, m in self.members.items()}
        self.persisted = (self.generation, self.state, self.leader, dict(self.assignment), members)

    def _active(self) -> bool:
        host = self.current_host()
        if host is None:
            return False
        broker = self.brokers[host]
        return broker.up and broker.serving and not broker.paused

    def _accept(self, req) -> bool:
        """Whether the broker the request reached serves it as the coordinator (else it answered)."""
        if req.consumer.crashed:
            return False  # sent by a process that died: the connection is gone
        broker = self.brokers[req.broker]
        if not broker.serving:
            self.network.send(broker.node, req.src, req.client, Refused(req, broker.id))
            return False
        if self.current_host() != req.broker:
            self._reply(req, NOT_COORDINATOR)
            return False
        return True

    def _reply(self, req, error, value=None) -> None:
        self.network.send(self.brokers[req.broker].node, req.src, req.client, GroupResponse(req, error, value))

    # -- requests ---------------------------------------------------------------------------
    def on_find_coordinator(self, req) -> None:
        """FindCoordinator, answered by whichever broker it reached."""
        if req.consumer.crashed:
            return
        broker = self.brokers[req.broker]
        if not broker.serving:
            self.network.send(broker.node, req.src, req.client, Refused(req, broker.id))
            return
        host = self.current_host()
        self._reply(req, COORDINATOR_NOT_AVAILABLE if host is None else None, host)

    def on_join_group(self, req) -> None:
        if not self._accept(req):
            return
        now = self.env.now
        if req.member_id is None:
            member = self._add(req.src, req.slot, req.consumer, req.session, req.rebalance, now)
            new = True
        else:
            member = self.members.get(req.member_id)
            if member is None:
                self._reply(req, UNKNOWN_MEMBER_ID)
                return
            new = False
        member.join = req
        member.deadline = now + member.session
        if self.state == EMPTY:
            self._prepare("first member joined")
            # InitialDelayedJoin: the full delay first, more delays while members keep coming, all
            # within max(delay, rebalance timeout)
            self.delay_until = now + self.initial_delay
            self.join_deadline = max(self.join_deadline, self.delay_until)
        elif self.state in (STABLE, COMPLETING):
            self._prepare(f"{member.member_id} joined")
        elif new and now < self.delay_until:  # InitialDelayedJoin: one more delay, within the rebalance timeout
            self.delay_until = min(now + self.initial_delay, self.join_deadline)
        self._maybe_complete_join()

    def on_sync_group(self, req) -> None:
        if not self._accept(req):
            return
        member = self._check_member(req)
        if member is None:
            return
        if self.state == PREPARING:
            self._reply(req, REBALANCE_IN_PROGRESS)
        elif self.state == STABLE:
            self._reply(req, None, self.assignment.get(member.member_id, ()))
        elif member.member_id != self.leader:
            member.sync = req  # answered when the leader's SyncGroup arrives
        else:
            self.state = STABLE
            self._persist()
            self.trace.add(self.env.now, "group_stable", self.generation, tuple(sorted(self.assignment.items())))
            self._reply(req, None, self.assignment[member.member_id])
            for other in self._ordered():
                if other.sync is not None:
                    self._reply(other.sync, None, self.assignment.get(other.member_id, ()))
                    other.sync = None

    def on_heartbeat(self, req) -> None:
        if not self._accept(req):
            return
        member = self._check_member(req)
        if member is None:
            return
        member.deadline = self.env.now + member.session
        self._reply(req, REBALANCE_IN_PROGRESS if self.state == PREPARING else None)

    def on_leave_group(self, req) -> None:
        if not self._accept(req):
            return
        member = self.members.get(req.member_id)
        if member is None:
            self._reply(req, UNKNOWN_MEMBER_ID)
            return
        self._remove(member, "left the group")
        self._reply(req, None)

    def on_offset_commit(self, req) -> None:
        if not self._accept(req):
            return
        member = self._check_member(req)
        if member is None:
            return
        if self.state == COMPLETING:
            self._reply(req, REBALANCE_IN_PROGRESS)
            return
        member.deadline = self.env.now + member.session  # a commit counts as a heartbeat
        self.committed.update(req.offsets)
        self.commits += 1
        self._reply(req, None)

    def on_offset_fetch(self, req) -> None:
        if not self._accept(req):
            return
        self._reply(req, None, dict(self.committed))

    def _check_member(self, req):
        member = self.members.get(req.member_id)
        if member is None:
            self._reply(req, UNKNOWN_MEMBER_ID)
            return None
        if req.generation != self.generation:
            self._reply(req, ILLEGAL_GENERATION)
            return None
        return member

    # -- membership ---------------------------------------------------------------------------
    def _add(self, node, slot, client, session, rebalance, now) -> Member:
        self._seq += 1
        member = Member(f"{node}-{self._seq}", (slot, self._seq), client, session, rebalance, now + session)
        self.members[member.member_id] = member
        return member

    def _ordered(self) -> list:
        return sorted(self.members.values(), key=lambda m: m.key)

    def _remove(self, member: Member, reason: str) -> None:
        del self.members[member.member_id]
        self.trace.add(self.env.now, "member_removed", member.member_id, reason)
        if self.state in (STABLE, COMPLETING):
            self._prepare(f"{member.member_id} {reason}")
        self._maybe_complete_join()

    def _prepare(self, reason: str) -> None:
        """PreparingRebalance: wait for every member to rejoin, at most the largest rebalance timeout."""
        self.state = PREPARING
        now = self.env.now
        self.join_deadline = now + max((member.rebalance for member in self.members.values()), default=0.0)
        self.trace.add(now, "rebalance", self.generation, reason)
        for member in self._ordered():
            if member.sync is not None:
                self._reply(member.sync, REBALANCE_IN_PROGRESS)
                member.sync = None
        self.alarm.notify()

    def _maybe_complete_join(self) -> None:
        if self.state != PREPARING or self.env.now < self.delay_until:
            return
        if all(m.join is not None for m in self.members.values()):
            self._complete_join()

    def _complete_join(self) -> None:
        """The join phase ends: a new generation; every joined member learns it (CompletingRebalance)."""
        now = self.env.now
        for member in self._ordered():
            if member.join is None:
                del self.members[member.member_id]
                self.trace.add(now, "member_removed", member.member_id, "did not rejoin within the rebalance timeout")
        self.generation += 1
        self.join_deadline, self.delay_until = math.inf, -math.inf
        self.rebalances += 1
        if not self.members:
            self.state, self.leader, self.assignment = EMPTY, None, {}
            self._persist()
            self.trace.add(now, "group_empty", self.generation)
            return
        self.state = COMPLETING
        self._assign()
        for member in self._ordered():
            req, member.join = member.join, None
            member.deadline = now + member.session
            self._reply(req, None, (member.member_id, self.generation))

    def _assign(self) -> None:
        order = [m.member_id for m in self._ordered()]
        self.leader = order[0]
        self.assignment = range_assign(self.partitions, order)

    # -- timers: session expiry, rebalance timeout, initial delay --------------------------------
    def _timers(self):
        while True:
            now = self.env.now
            if not self._active():
                yield self.alarm.wait(now + INACTIVE_RECHECK)
                continue
            for member in self._ordered():
                if (member.join is None and member.sync is None and member.deadline <= now
                        and member.member_id in self.members):
                    self._remove(member, "session timed out")
            if self.state == PREPARING and now >= self.join_deadline:
                self._complete_join()
            self._maybe_complete_join()
            yield self.alarm.wait(self._next_deadline())

    def _next_deadline(self) -> float:
        wake = min((m.deadline for m in self.members.values() if m.join is None and m.sync is None),
                   default=math.inf)
        if self.state == PREPARING:
            wake = min(wake, self.join_deadline, self.delay_until if self.delay_until > self.env.now else math.inf)
        return wake
