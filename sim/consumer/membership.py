"""Membership: the consumer's side of the group protocol (Kafka's ConsumerCoordinator, classic).

It finds the coordinator (FindCoordinator to any live broker), joins the group (JoinGroup,
then SyncGroup for the assignment), sends heartbeats every heartbeat.interval.ms from a
background thread, and commits offsets:

- commitSync(offsets): retried on coordinator errors until its deadline
  (default.api.timeout.ms); fails at once -- CommitFailedException, or
  RebalanceInProgressException -- when the member is not in a stable generation or the
  coordinator rejects its generation;
- commitAsync(offsets): one request, never retried; sent in call order on the one
  connection, so an older commit never lands after a newer one; queued while the
  coordinator is being looked up; lost if the process dies before it arrives;
- auto commit: from poll(), every auto.commit.interval.ms, commitAsync of the positions;
  a failure moves the next attempt to retry.backoff.ms; before an eager revocation a
  synchronous commit of the positions (only while the generation is still valid).

The heartbeat thread also watches max.poll.interval.ms (KIP-62): when the application
has not called poll() for that long it sends LeaveGroup and forgets its member id; the
application goes on processing, and the next poll() joins again as a new member.
Simplifications: the first JoinGroup gets its member id at once (no MEMBER_ID_REQUIRED
round trip), and the poll timeout is checked exactly at its deadline (Kafka's thread
looks every retry.backoff.ms).
"""

from __future__ import annotations

import math
from functools import partial

from ..protocol import GROUP_REQUESTS, GroupResponse, Refused
from ..timer import MIN_WAIT, Alarm
from .group_protocol import (COORDINATOR_ERRORS, DISCONNECTED, FENCED_ERRORS, REBALANCE_IN_PROGRESS, TIMED_OUT,
                             UNKNOWN_MEMBER_ID)

UNJOINED, PREPARING, COMPLETING, STABLE = "unjoined", "preparing", "completing", "stable"
JOIN_TIMEOUT_LAPSE = 5.0  # s added to the rebalance timeout for a JoinGroup request
CLOSE_TIMEOUT = 30.0  # s, KafkaConsumer.close() default


class Membership:
    """Group membership, heartbeats and offset commits of one KafkaConsumer."""

    def __init__(self, consumer):
        self.c = consumer
        self.env = consumer.env
        self.settings = settings = consumer.settings
        self.group = consumer.group_coordinator  # handlers; reached only through a broker
        self.coordinator: int | None = None  # broker believed to host the coordinator
        self.member_id = None
        self.generation = -1
        self.state = UNJOINED
        self.assignment: tuple[int, ...] = ()
        self.rejoin_needed = True
        self.last_poll = self.env.now
        self.in_poll = False
        self.next_auto_commit = self.env.now + settings.auto_commit_interval
        self.next_heartbeat = math.inf
        self.heartbeat_token = None
        self.callbacks: dict[int, tuple] = {}  # token -> (broker, fn(result), its timeout's Deadline)
        self.async_in_flight = 0
        self.pending_async: list[dict] = []
        self.lookup_done = None
        self._rotation = consumer.slot
        self.alarm = Alarm(self.env)  # the heartbeat thread's
        self.env.process(self._heartbeat_thread())

    def start_in_group(self, member_id, generation: int, assignment) -> None:
        """Warm start: a member of the group's first generation at t = 0."""
        self.member_id, self.generation, self.assignment = member_id, generation, tuple(assignment)
        self.state, self.rejoin_needed = STABLE, False
        self.next_heartbeat = self.env.now + self.settings.heartbeat_interval
        self.alarm.notify()

    @property
    def stable(self) -> bool:
        return self.state == STABLE and self.generation >= 0

    # -- requests ------------------------------------------------------------------------------
    def send(self, handler: str, broker_id: int, fn, timeout: float | None = None, **fields) -> int:
        """One group request to a broker; fn(result) gets (error, value), or TIMED_OUT / DISCONNECTED."""
        consumer = self.c
        consumer.token += 1
        token = consumer.token
        broker = consumer.brokers[broker_id]
        req = GROUP_REQUESTS[handler](consumer.node, broker_id, self, consumer, token, slot=consumer.slot, **fields)
        consumer.network.send(consumer.node, broker.node, self.group, req)
        deadline = self.env.now + (timeout or self.settings.request_timeout)
        timeout_deadline = consumer.deadlines.add(deadline, self._finish, token, (TIMED_OUT, None))
        self.callbacks[token] = (broker_id, fn, timeout_deadline)
        return token

    def _finish(self, token: int, result) -> None:
        entry = self.callbacks.pop(token, None)
        if entry is not None:
            entry[2].cancel()  # answered: its timeout will not be needed (a no-op once it fired)
            if self.c.alive:
                entry[1](result)

    def on_group_response(self, response: GroupResponse) -> None:
        self._finish(response.request.token, (response.error, response.value))

    def on_refused(self, refused: Refused) -> None:
        self._finish(refused.request.token, (DISCONNECTED, None))

    def on_disconnect(self, broker_id: int) -> None:
        """The broker's process died: every request on that connection fails."""
        for token in sorted(t for t, (b, _fn, _deadline) in self.callbacks.items() if b == broker_id):
            self._finish(token, (DISCONNECTED, None))
        if self.coordinator == broker_id:
            self.coordinator_unknown()

    def call(self, handler: str, deadline: float, timeout: float | None = None, **fields):
        """A blocking request to the coordinator (the application thread waits)."""
        if self.coordinator is None:
            return (DISCONNECTED, None)
        got = []

        def done(result):
            got.append(result)
            self.c.wake()
        token = self.send(handler, self.coordinator, done, timeout, **fields)
        while not got and self.env.now < deadline:
            yield self.c.alarm.wait(deadline)
        if not got:
            entry = self.callbacks.pop(token, None)
            if entry is not None:
                entry[2].cancel()
            return (TIMED_OUT, None)
        return got[0]

    # -- finding the coordinator -------------------------------------------------------------------
    def coordinator_unknown(self) -> None:
        """markCoordinatorUnknown: the next request looks it up again."""
        self.coordinator = None

    def lookup(self):
        """Event that succeeds once the coordinator is known (one lookup at a time)."""
        if self.lookup_done is None or self.lookup_done.triggered:
            self.lookup_done = self.env.event()
            self.env.process(self._lookup(self.lookup_done))
        return self.lookup_done

    def _lookup(self, done):
        env, consumer = self.env, self.c
        while consumer.alive and self.coordinator is None:
            broker = self._pick_broker()
            if broker is not None:
                got = env.event()
                self.send("on_find_coordinator", broker, lambda r, ev=got: ev.succeed(r))
                error, host = yield got
                if error is None and consumer.alive:
                    self.coordinator = host
                    break
                yield env.timeout(self.settings.retry_backoff)
            else:  # no broker reachable: wait for one (NetworkClient's reconnect backoff)
                yield env.timeout(max(self.settings.retry_backoff, self.settings.reconnect_backoff, MIN_WAIT))
        if consumer.alive:
            self._flush_async()
        done.succeed()
        self.alarm.notify()
        consumer.wake()

    def _pick_broker(self):
        """A broker to ask (Kafka: the least loaded node); simplification: one that is up and reachable."""
        consumer = self.c
        count = len(consumer.brokers)
        for step in range(count):
            broker = consumer.brokers[(self._rotation + step) % count]
            if broker.up and consumer.network.link_up(consumer.node, broker.node):
                self._rotation = (self._rotation + step + 1) % count
                return broker.id
        return None

    def ensure_coordinator(self, deadline: float = math.inf):
        while self.coordinator is None and self.c.alive and self.env.now < deadline:
            ev = self.lookup()
            if deadline < math.inf:
                yield self.env.any_of([ev, self.env.timeout(deadline - self.env.now)])
            else:
                yield ev
        return self.coordinator is not None

    # -- joining -----------------------------------------------------------------------------------
    def ensure_active_group(self):
        """Rejoin (from poll()): commit before revocation, revoke everything, JoinGroup, SyncGroup."""
        consumer, settings = self.c, self.settings
        if self.stable and settings.enable_auto_commit:
            yield from self.commit_sync(consumer.fetcher.consumed(), self.env.now + settings.max_poll_interval)
        consumer.revoke_all()
        while consumer.alive:
            self.rejoin_needed = False
            if not (yield from self.ensure_coordinator()):
                continue
            self.state = PREPARING
            rebalance = settings.max_poll_interval  # the rebalance timeout
            error, value = yield from self.call("on_join_group", math.inf, rebalance + JOIN_TIMEOUT_LAPSE,
                                                member_id=self.member_id, session=settings.session_timeout,
                                                rebalance=rebalance)
            if error is None:
                self.member_id, self.generation = value
                self.state = COMPLETING
                self.next_heartbeat = self.env.now + settings.heartbeat_interval
                self.alarm.notify()
                error, value = yield from self.call("on_sync_group", math.inf, member_id=self.member_id,
                                                    generation=self.generation)
            if error is None:
                self.state, self.assignment = STABLE, tuple(value)
                self.alarm.notify()
                break
            yield from self._join_failed(error)
        yield from consumer.on_assigned(self.assignment)

    def _join_failed(self, error):
        self.state = UNJOINED
        if error == UNKNOWN_MEMBER_ID:
            self.member_id, self.generation = None, -1
        elif error in FENCED_ERRORS:
            self.generation = -1
        elif error in COORDINATOR_ERRORS:
            self.coordinator_unknown()
            yield self.env.timeout(self.settings.retry_backoff)

    def _reset(self, error) -> None:
        """The coordinator no longer knows this member or generation: partitions lost, rejoin."""
        self.generation = -1
        if error == UNKNOWN_MEMBER_ID:
            self.member_id = None
        self.state = UNJOINED
        self.rejoin_needed = True
        self.c.wake()

    def fetch_committed(self):
        """OffsetFetch for the assignment, retried until it is answered."""
        while self.c.alive:
            yield from self.ensure_coordinator()
            error, value = yield from self.call("on_offset_fetch", math.inf)
            if error is None:
                return value
            self.coordinator_unknown()
            yield self.env.timeout(self.settings.retry_backoff)
        return {}

    # -- heartbeat thread --------------------------------------------------------------------------
    def _heartbeat_thread(self):
        env, settings = self.env, self.settings
        while self.c.alive:
            if self.state in (UNJOINED, PREPARING):
                yield self.alarm.wait()
                continue
            if self.coordinator is None:
                yield self.lookup()
                continue
            now = env.now
            poll_deadline = math.inf if self.in_poll else self.last_poll + settings.max_poll_interval
            if now >= poll_deadline:
                self._leave_on_poll_timeout()
                continue
            if self.heartbeat_token is None and now >= self.next_heartbeat:
                self.next_heartbeat = now + settings.heartbeat_interval
                self.heartbeat_token = self.send("on_heartbeat", self.coordinator,
                                                 partial(self._on_heartbeat, self.generation),
                                                 member_id=self.member_id, generation=self.generation)
            wake = poll_deadline if self.heartbeat_token is not None else min(self.next_heartbeat, poll_deadline)
            yield self.alarm.wait(wake)

    def _current(self, generation: int) -> bool:
        """A response still about this member's generation (else Kafka ignores its error)."""
        return self.state == STABLE and self.generation == generation

    def _on_heartbeat(self, generation: int, result) -> None:
        self.heartbeat_token = None
        error = result[0]
        if error == REBALANCE_IN_PROGRESS and self._current(generation):
            self.rejoin_needed = True
            self.c.wake()
        elif error in FENCED_ERRORS and self.generation == generation:
            self._reset(error)
        elif error in COORDINATOR_ERRORS:
            self.coordinator_unknown()
            self.next_heartbeat = self.env.now + self.settings.retry_backoff
        self.alarm.notify()

    def _leave_on_poll_timeout(self) -> None:
        """KIP-62: poll() was not called within max.poll.interval.ms -- leave the group."""
        consumer = self.c
        consumer.counters.poll_timeouts += 1
        consumer.trace.add(self.env.now, "poll_timeout", consumer.node, self.member_id)
        self._send_leave()
        self.member_id, self.generation, self.state = None, -1, UNJOINED
        self.rejoin_needed = True

    def _send_leave(self, fn=None):
        if self.member_id is not None and self.coordinator is not None:
            return self.send("on_leave_group", self.coordinator, fn or (lambda _r: None), member_id=self.member_id)
        return None

    # -- commits -------------------------------------------------------------------------------
    def commit_sync(self, offsets: dict, deadline: float):
        """commitSync(offsets); True when it succeeded."""
        consumer, env = self.c, self.env
        if not offsets:
            return True
        while self.stable and env.now < deadline and consumer.alive:
            if not (yield from self.ensure_coordinator(deadline)):
                break
            consumer.counters.commits_sent += 1
            error, _ = yield from self.call("on_offset_commit", deadline, offsets=dict(offsets),
                                            member_id=self.member_id, generation=self.generation)
            if error is None:
                return True
            if error in FENCED_ERRORS:
                self._reset(error)
            elif error == REBALANCE_IN_PROGRESS:
                self.rejoin_needed = True
            else:
                self.coordinator_unknown()
                yield env.timeout(min(self.settings.retry_backoff, max(0.0, deadline - env.now)))
                continue
            break
        consumer.counters.commits_failed += 1
        return False

    def commit_async(self, offsets: dict, auto: bool = False) -> None:
        """commitAsync(offsets): no retry; queued while the coordinator is looked up."""
        if not offsets:
            return
        if not self.stable:
            self.c.counters.commits_failed += 1
            return
        if self.coordinator is None:
            self.pending_async.append((dict(offsets), auto))
            self.lookup()
            return
        self._send_async(dict(offsets), auto)

    def _send_async(self, offsets: dict, auto: bool) -> None:
        self.c.counters.commits_sent += 1
        self.async_in_flight += 1
        self.send("on_offset_commit", self.coordinator, partial(self._on_async_done, auto, self.generation),
                  offsets=offsets, member_id=self.member_id, generation=self.generation)

    def _flush_async(self) -> None:
        pending, self.pending_async = self.pending_async, []
        for offsets, auto in pending:
            if self.stable:
                self._send_async(offsets, auto)
            else:
                self.c.counters.commits_failed += 1

    def _on_async_done(self, auto: bool, generation: int, result) -> None:
        self.async_in_flight -= 1
        error = result[0]
        if error is not None:
            self.c.counters.commits_failed += 1
            if error in FENCED_ERRORS:
                if self.generation == generation:
                    self._reset(error)
            elif error == REBALANCE_IN_PROGRESS:
                if self._current(generation):
                    self.rejoin_needed = True
            else:
                self.coordinator_unknown()
                if auto:
                    self.next_auto_commit = self.env.now + self.settings.retry_backoff
        self.c.wake()

    def maybe_auto_commit(self) -> None:
        """ConsumerCoordinator.maybeAutoCommitOffsetsAsync, at the start of every poll."""
        if self.settings.enable_auto_commit and self.env.now >= self.next_auto_commit:
            self.next_auto_commit = self.env.now + self.settings.auto_commit_interval
            self.commit_async(self.c.fetcher.consumed(), auto=True)

    # -- close ---------------------------------------------------------------------------------
    def close(self):
        """close(): auto commit (synchronously), wait for async commits, LeaveGroup."""
        env, consumer = self.env, self.c
        deadline = env.now + CLOSE_TIMEOUT
        if self.settings.enable_auto_commit and self.stable:
            yield from self.commit_sync(consumer.fetcher.consumed(), deadline)
        while self.async_in_flight and env.now < deadline and consumer.alive:
            yield consumer.alarm.wait(deadline)
        if self.state != UNJOINED and self.member_id is not None:
            left = []
            if self._send_leave(lambda r: (left.append(r), consumer.wake())) is not None:
                while not left and env.now < deadline and consumer.alive:
                    yield consumer.alarm.wait(deadline)
        self.state = UNJOINED
