"""ReplicaFetchHandler: the leader's side of replication -- answering followers' fetches
(ReplicaManager.fetchMessages for replica fetches, the fetch session cache, DelayedFetch).

A follower's fetch offsets acknowledge data (the leader's Partition moves the follower's LEO and
maybe the HW); the fetch is answered at once when there is data, an error or a divergence for one
of its partitions, else it waits up to replica.fetch.wait.max.ms for an append (long-poll).

Fetches are incremental (KIP-227): only the partitions that need it are looked at -- those the
request names (changed) and those with news since the session's last fetch. Every other
partition of the session was caught up at its last fetch and nothing has happened to it since,
so the fetch only moves its "last fetched" time, which is applied lazily
(PartitionLeader.replay_clean_fetch) when someone looks.

Fencing (KIP-320, Kafka 2.1+): a fetch in another leader epoch than the leader's is refused
(FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH). With broker.model.replica.fetch.fencing = false
(before 2.1) the leader serves any follower of the partition, whatever epoch it follows.
"""

from __future__ import annotations

from .. import protocol as P
from ..records import batch_bytes
from ..timer import LazyTimer
from .fetch_session import FetchSession


class ReplicaFetchHandler:
    """Follower fetches arriving at this broker, for the partitions it leads."""

    def __init__(self, broker):
        self.broker = broker
        self.env = broker.env
        self.settings = broker.settings.broker
        self.fencing = bool(self.settings.model_replica_fetch_fencing)
        self.reset()

    def reset(self) -> None:
        """A new broker process: no sessions, nothing parked."""
        self.sessions: dict[int, FetchSession] = {}  # follower id -> its fetch session here
        self.broker_epochs: dict[int, int] = {}  # follower id -> the broker epoch of its last fetch (KIP-903)
        self.parked: dict[int, tuple] = {}  # follower id -> (request, when it expires)
        self._park_timers: dict[int, LazyTimer] = {}  # follower id -> its parked fetch's expiry timer

    def stop(self) -> None:
        self.parked.clear()

    # -- a fetch arrives -----------------------------------------------------------------------
    def on_replica_fetch(self, req) -> None:
        broker = self.broker
        now = self.env.now
        follower = req.follower
        self.broker_epochs[follower] = req.broker_epoch
        old = self.sessions.get(follower)
        if req.full:
            session = self.sessions[follower] = FetchSession.start(req)
            fresh = [partition for partition in session.parts if old is None or partition not in old.parts]
        elif old is None or not old.follows(req):
            response = P.FetchResponse(req.token, {}, P.FETCH_SESSION_ID_NOT_FOUND)
            broker.network.send(broker.node, broker.peers[follower].node, req.client, response)
            return
        else:
            session = old
            fresh = session.update(req)
        previous = old.last_fetch if old is not None else None
        ready = False
        parts = session.parts
        leading = broker.leading
        for partition in session.take_pending():
            offset, last_epoch, epoch = parts[partition]
            leader = leading.get(partition)
            if leader is None or (self.fencing and epoch != leader.epoch) or \
                    leader.log.divergence(offset, last_epoch) is not None:
                ready = True  # an error or a divergence is answered at once
                continue
            if previous is not None and partition not in fresh:
                leader.replay_clean_fetch(follower, previous)
            leader.on_follower_fetch(follower, offset, now)  # may complete produce requests -> new appends
            leader.maybe_expand_isr(follower)
        session.last_fetch = now
        # Only now look for data: the updates above can have appended to any partition of the session
        # (an append marks the partition in session.inflight).
        ready = ready or self._enough_data(session)
        self.parked.pop(follower, None)
        if ready:
            self._respond(req)
        else:
            at = now + self.settings.replica_fetch_wait_max
            self.parked[follower] = (req, at)
            self._park_timer(follower).arm(at)

    def evict_session(self, follower: int) -> None:
        """The session cache drops a follower's session (FetchSessionCache eviction, or a restart): its
        next incremental fetch is refused with FETCH_SESSION_ID_NOT_FOUND."""
        self.sessions.pop(follower, None)

    def broker_epoch(self, follower: int) -> int:
        """The broker epoch a follower last fetched with (-1: none yet)."""
        return self.broker_epochs.get(follower, -1)

    # -- news on the leader -------------------------------------------------------------------
    def news(self, partition: int) -> None:
        """Something changed for `partition` on this leader (append, HW, leadership, ISR): every fetch session
        holding `partition` looks at it on its next fetch and answers for it on its next response."""
        for session in self.sessions.values():
            session.news(partition)

    def news_all(self) -> None:
        for session in self.sessions.values():
            session.news_all()

    def wake(self, partition: int) -> None:
        """An append to `partition`: parked fetches of sessions holding `partition` are answered now."""
        sessions = self.sessions
        if not sessions:
            return
        self.news(partition)
        if not self.parked:
            return
        for follower in sorted(self.parked):
            session = sessions.get(follower)
            if session is not None and partition in session.parts and (self.settings.replica_fetch_min_bytes <= 1
                                                                or self._enough_data(session)):
                req, _at = self.parked.pop(follower)
                self._respond(req)

    def _enough_data(self, session) -> bool:
        """replica.fetch.min.bytes of records are there to answer with (DelayedFetch.tryComplete); each
        partition's records are counted as one batch of the workload's record size."""
        broker = self.broker
        logs, leading, parts = broker.logs, broker.leading, session.parts
        pending = [p for p in session.inflight if p in leading and p in parts]
        min_bytes = self.settings.replica_fetch_min_bytes
        if min_bytes <= 1:
            return any(parts[p].offset < logs[p].leo for p in pending)
        size = broker.settings.workload.message_bytes
        available = sum(batch_bytes(logs[p].leo - parts[p].offset, size) for p in pending
                        if parts[p].offset < logs[p].leo)
        return available >= min_bytes

    def replay_fetches(self, leader) -> None:
        """Bring a PartitionLeader's per-follower fetch times up to date with the sessions (before
        reading them)."""
        partition = leader.p
        for follower in leader.follower_leo:
            session = self.sessions.get(follower)
            if session is not None and partition in session.parts and session.last_fetch is not None:
                leader.replay_clean_fetch(follower, session.last_fetch)

    # -- waiting and answering -----------------------------------------------------------------
    def _park_timer(self, follower: int) -> LazyTimer:
        """One timer per follower for fetch.wait.max.ms of its parked fetch: a fetch parks after
        almost every answer, so a heap entry per park (then cancelled) would cost more than this
        timer, which fires only when the fetch parked longest ago could have expired."""
        timer = self._park_timers.get(follower)
        if timer is None:
            timer = self._park_timers[follower] = LazyTimer(self.env, lambda: self._park_check(follower, timer))
        return timer

    def _park_check(self, follower: int, timer: LazyTimer) -> None:
        if self._park_timers.get(follower) is not timer:
            return  # a timer of an earlier incarnation of this broker
        parked = self.parked.get(follower)
        if parked is None:
            return
        req, at = parked
        if self.env.now >= at:
            self.broker.deliver(self._expired, (req,))
        else:
            timer.arm(at)

    def _expired(self, req) -> None:
        parked = self.parked.get(req.follower)
        if parked is not None and parked[0] is req:
            del self.parked[req.follower]
            self._respond(req)

    def _respond(self, req) -> None:
        """Answer for the partitions with news; those not settled by it stay pending."""
        broker = self.broker
        session = self.sessions.get(req.follower)
        resp = {}
        if session is not None and session.id == req.session:
            parts = session.parts
            settings = self.settings
            message_bytes = broker.settings.workload.message_bytes
            budget = settings.replica_fetch_response_max_bytes  # over the whole response
            empty = True  # nothing in the response yet: its first batch goes whatever its size
            for partition in session.take_inflight():
                entry = parts.get(partition)
                if entry is None:
                    continue
                offset, last_epoch, epoch = entry
                leader = broker.leading.get(partition)
                if leader is None:
                    resp[partition] = P.PartitionError(P.NOT_LEADER_OR_FOLLOWER)
                elif self.fencing and epoch < leader.epoch:
                    resp[partition] = P.PartitionError(P.FENCED_LEADER_EPOCH)
                elif self.fencing and epoch > leader.epoch:
                    resp[partition] = P.PartitionError(P.UNKNOWN_LEADER_EPOCH)
                else:
                    log = leader.log
                    divergence = log.divergence(offset, last_epoch)
                    if divergence is not None:
                        resp[partition] = divergence
                    else:
                        batches, size = log.batches_from(offset, min(settings.replica_fetch_max_bytes, budget),
                                                         message_bytes, at_least_one=empty)
                        resp[partition] = P.Records(batches, log.hw)
                        if batches:
                            budget -= size
                            empty = False
                        elif offset >= log.leo:
                            continue  # caught up and told the HW: settled
                session.unsettled(partition)  # an error, a divergence or data: look again on the next fetch
        follower = broker.peers[req.follower]
        broker.network.send(broker.node, follower.node, req.client, P.FetchResponse(req.token, resp))
