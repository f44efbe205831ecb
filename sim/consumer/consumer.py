"""Consumer: one KafkaConsumer instance, from construction to close() or a crash.

    poll():  coordinator work first -- rejoin the group if a rebalance is needed, then the
             auto commit of the current positions if auto.commit.interval.ms passed (they
             cover every record returned by earlier polls and none of this one);
             then up to max.poll.records fetched records (fetching below the HW if
             needed); the positions move past them now, before they are processed.

The application thread that calls poll(), processes and commits is `Application`
(app.py); this class holds the client state it works on: the fetcher (positions), the
group membership (heartbeats, commits), the processing threads and the timers.

A crash kills every thread at once: the records finished so far stay processed, commits
not yet at the coordinator are lost, and the coordinator only notices when the session
times out.
"""

from __future__ import annotations

import math

from ..client_metadata import ClientMetadata
from ..deadlines import DeadlineQueue
from ..timer import Alarm
from .app import Application
from .fetcher import Fetcher
from .membership import Membership
from .processing import CRASH, STALL, Marker, RecordClock, SyncProcessing, WorkerPool

POLL_TIMEOUT = 1.0  # s: the application's poll(Duration.ofSeconds(1))


class Consumer:
    """One KafkaConsumer and the threads of the application around it."""

    def __init__(self, app, incarnation: int):
        self.app = app
        self.env = app.env
        self.network = app.network
        self.brokers = app.brokers
        self.ledger = app.ledger
        self.trace = app.trace
        self.settings = settings = app.settings
        self.counters = app.counters
        self.node = app.node
        self.slot = app.slot
        self.partitions = app.partitions
        self.group_coordinator = app.coordinator
        self.incarnation = incarnation
        self.alive = True
        self.crashed = False
        self.stop_requested = False
        self.closed = self.env.event()
        self.alarm = Alarm(self.env)  # the application thread's
        self.token = 0
        self.poison = False  # a processing error waiting for the next record
        self.stalled = 0.0  # a stall waiting for the next record (s)
        self.metadata = ClientMetadata(self.env, self.network, self.node, self.brokers, self.partitions,
                                       settings.retry_backoff, self.wake, settings.reconnect_backoff)
        self.deadlines = DeadlineQueue(self.env)
        self.fetcher = Fetcher(self)
        self.membership = Membership(self)
        self.clock = RecordClock(app.rng, settings.app_record_processing, settings.app_record_processing_distribution)
        self.marker = Marker(self)
        self.processing = WorkerPool(self) if settings.app_processing == "async" else SyncProcessing(self)
        self.proc = self.env.process(Application(self).run())
        if isinstance(self.processing, SyncProcessing):
            self.processing.thread.proc = self.proc

    def wake(self) -> None:
        """Wake the application thread (a response arrived, a rebalance is needed, ...)."""
        self.alarm.notify()

    # -- the KafkaConsumer API the application uses ---------------------------------------------
    def poll(self):
        """poll(Duration.ofSeconds(1)): the records for the application, or [] after the timeout."""
        env, membership, fetcher = self.env, self.membership, self.fetcher
        membership.in_poll, membership.last_poll = True, env.now
        deadline = env.now + POLL_TIMEOUT
        while True:
            if membership.rejoin_needed or not membership.stable:
                yield from membership.ensure_active_group()
            membership.maybe_auto_commit()
            records = fetcher.take(self.settings.max_poll_records)
            fetcher.send_fetches()  # prefetch while the application processes
            if records or env.now >= deadline or self.stop_requested or self.processing.failed:
                break
            wake = membership.next_auto_commit if self.settings.enable_auto_commit else math.inf
            yield self.alarm.wait(min(deadline, wake))
        membership.in_poll, membership.last_poll = False, env.now
        return records

    def start(self):
        """Warm start: a member of the group formed just before t = 0, on the empty topic, is
        positioned at offset 0 of its partitions; the group has committed nothing yet."""
        if self.membership.stable:
            partitions = self.membership.assignment
            self.fetcher.assign(partitions, {p: 0 for p in partitions})
            self.trace.add(self.env.now, "assigned", self.node, self.membership.generation, tuple(partitions))
            self.fetcher.send_fetches()
        return
        yield  # pragma: no cover - nothing to wait for

    def on_assigned(self, partitions):
        """onPartitionsAssigned: positions from the committed offsets (or auto.offset.reset)."""
        committed = {}
        if partitions:
            committed = yield from self.membership.fetch_committed()
        self.fetcher.assign(partitions, committed)
        self.trace.add(self.env.now, "assigned", self.node, self.membership.generation, tuple(partitions))
        self.fetcher.send_fetches()

    def revoke_all(self) -> None:
        if self.fetcher.assigned:
            self.trace.add(self.env.now, "revoked", self.node, self.fetcher.assigned)
        self.fetcher.revoke_all()

    def processed_offsets(self) -> dict:
        """The offsets an application that tracks what it finished would commit: per assigned
        partition, the first record not yet processed (the position when everything is)."""
        now, out = self.env.now, {}
        pending = self.processing.pending()
        for partition, pos in self.fetcher.consumed(unvalidated=True).items():  # its own map: not filtered
            firsts = [first for w in pending if (first := w.first_unfinished(partition, now)) is not None]
            out[partition] = min(firsts) if firsts else pos
        return out

    def close(self):
        """close(): the membership's part (auto commit, LeaveGroup), then every thread stops."""
        yield from self.membership.close()
        self.trace.add(self.env.now, "consumer_closed", self.node)
        self._stop()

    # -- state for the drain -------------------------------------------------------------------
    def settled(self) -> bool:
        """Stable in the group, nothing fetched unreturned, nothing being processed."""
        membership = self.membership
        return (self.alive and membership.stable and not membership.rejoin_needed and self.fetcher.idle()
                and self.processing.idle())

    # -- failures -----------------------------------------------------------------------------
    def on_refused(self, refused) -> None:
        """A fetch reached a broker whose process is down: the connection is refused."""
        self.on_disconnect(refused.broker)

    def on_disconnect(self, broker_id: int) -> None:
        """A broker reset the connection (its process died)."""
        if self.alive:
            self.fetcher.on_disconnect(broker_id)
            self.membership.on_disconnect(broker_id)
            self.metadata.request_update()
            self.wake()

    def inject_error(self) -> None:
        """A consumer_error fault: the record in hand fails, or the next one."""
        if self.alive and not self.processing.hit():
            self.poison = True

    def stall(self, duration: float) -> None:
        """A consumer_stall fault: processing blocks for `duration`."""
        if self.alive and not self.processing.hit((STALL, duration)):
            self.stalled += duration

    def crash(self) -> None:
        if not self.alive:
            return
        self.crashed = True
        self.trace.add(self.env.now, "consumer_crash", self.node)
        self.processing.crash()
        if self.proc.is_alive and self.proc is not self.env.active_process:
            self.proc.interrupt(CRASH)
        self._stop()

    def _stop(self) -> None:
        self.alive = False
        self.metadata.stop()
        self.deadlines.active = False
        self.deadlines.clear()
        self.membership.alarm.notify()
        self.wake()
        if not self.closed.triggered:
            self.closed.succeed()
