"""ConsumerFetchHandler: consumers' fetches on the leader (ReplicaManager.fetchMessages for consumers,
DelayedFetch): records below the HW, answered once fetch.min.bytes are there, on an error, or after
fetch.max.wait.ms; a ListOffsets (a negative offset) is answered with the HW or the log start.
"""

from __future__ import annotations

from .. import protocol as P


class ConsumerFetchHandler:
    """Consumer fetches arriving at this broker, and the ones waiting for data."""

    def __init__(self, broker):
        self.broker = broker
        self.env = broker.env
        self.reset()

    def reset(self) -> None:
        self.parked: list = []  # (request, deadline)

    def stop(self) -> None:
        self.parked.clear()

    def on_consumer_fetch(self, req) -> None:
        broker = self.broker
        resp, ready = self._result(req)
        if ready:
            broker.network.send(broker.node, req.src, req.client, P.ConsumerFetchResponse(req, resp))
            return
        deadline = broker.deadlines.add(self.env.now + req.max_wait, broker.deliver, self._expired, (req,))
        self.parked.append((req, deadline))

    def on_offsets_for_leader_epoch(self, req: P.OffsetsForLeaderEpochRequest) -> None:
        """Where each asked epoch ends in this leader's log (ReplicaManager.lastOffsetForLeaderEpoch), checked
        against the leader epoch the consumer believes in."""
        broker = self.broker
        resp = {}
        for partition, query in req.parts.items():
            leader = broker.leading.get(partition)
            if leader is None:
                resp[partition] = P.PartitionError(P.NOT_LEADER_OR_FOLLOWER)
            elif query.leader_epoch < leader.epoch:
                resp[partition] = P.PartitionError(P.FENCED_LEADER_EPOCH)
            elif query.leader_epoch > leader.epoch:
                resp[partition] = P.PartitionError(P.UNKNOWN_LEADER_EPOCH)
            else:
                resp[partition] = P.EpochEndOffset(*leader.log.end_offset_for_epoch(query.last_epoch))
        broker.network.send(broker.node, req.src, req.client, P.OffsetsForLeaderEpochResponse(req, resp))

    def _result(self, req):
        """Records below the HW per partition; ready once fetch.min.bytes are there (or on an error)."""
        leading = self.broker.leading
        resp = {}
        ready = False
        size = 0  # bytes in the response so far: fetch.max.bytes bounds it, fetch.min.bytes waits for it
        for partition, offset in req.parts.items():
            leader = leading.get(partition)
            if leader is None:
                resp[partition] = P.PartitionError(P.NOT_LEADER_OR_FOLLOWER)
                ready = True
                continue
            log = leader.log
            if offset < 0:  # ListOffsets: -1 latest (the HW for read_uncommitted), -2 earliest
                resp[partition] = P.ListedOffset(log.hw if offset == -1 else 0)
                ready = True
                continue
            if offset > log.leo:
                resp[partition] = P.PartitionError(P.OFFSET_OUT_OF_RANGE, log.leo)
                ready = True
                continue
            chunks, nbytes = log.read(offset, log.hw, min(req.max_partition_bytes, req.max_bytes - size),
                                      req.message_bytes, at_least_one=size == 0)
            resp[partition] = P.ConsumerRecords(chunks, log.hw)
            size += nbytes
        return resp, ready or size >= req.min_bytes

    def _expired(self, req) -> None:
        for index, (parked, _deadline) in enumerate(self.parked):
            if parked is req:
                del self.parked[index]
                resp, _ready = self._result(req)
                self.broker.network.send(self.broker.node, req.src, req.client, P.ConsumerFetchResponse(req, resp))
                return

    def answer_parked(self, partition: int) -> None:
        """News for `partition` (a higher HW, or leadership lost): answer the waiting fetches that can be."""
        broker = self.broker
        keep = []
        for req, deadline in self.parked:
            if partition in req.parts:
                resp, ready = self._result(req)
                if ready:
                    deadline.cancel()
                    broker.network.send(broker.node, req.src, req.client, P.ConsumerFetchResponse(req, resp))
                    continue
            keep.append((req, deadline))
        self.parked = keep
