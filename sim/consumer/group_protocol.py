"""The group protocol between a consumer and its group coordinator: error codes and the request record.

Kafka's FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and OffsetFetch
requests are all one `GroupRequest` here; each is sent to a broker and handled by the
GroupCoordinator that broker hosts (or refused, like any request to a dead broker process).
"""

from __future__ import annotations

# Errors.java names
NOT_COORDINATOR = "NOT_COORDINATOR"
COORDINATOR_NOT_AVAILABLE = "COORDINATOR_NOT_AVAILABLE"
UNKNOWN_MEMBER_ID = "UNKNOWN_MEMBER_ID"
ILLEGAL_GENERATION = "ILLEGAL_GENERATION"
REBALANCE_IN_PROGRESS = "REBALANCE_IN_PROGRESS"
# What the client sees when no response came (not broker error codes)
TIMED_OUT = "TIMED_OUT"  # request.timeout.ms or the call's own deadline passed
DISCONNECTED = "DISCONNECTED"  # the connection was refused or reset

# The client looks the coordinator up again after these (AbstractCoordinator.markCoordinatorUnknown).
COORDINATOR_ERRORS = frozenset({NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, TIMED_OUT, DISCONNECTED})
# The member is no longer in the group's current generation: commit fails, the member rejoins.
FENCED_ERRORS = frozenset({UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION})


class GroupRequest:
    """One request of a consumer instance to the coordinator on broker `broker`."""

    __slots__ = ("src", "broker", "client", "token", "member_id", "generation", "offsets", "session",
                 "rebalance", "slot", "reply", "disconnect")

    def __init__(self, src, broker, client, token, reply, disconnect, *, member_id=None, generation=-1,
                 offsets=None, session=0.0, rebalance=0.0, slot=0):
        self.src = src  # the consumer's network node
        self.broker = broker  # the broker it was sent to
        self.client = client  # the sending consumer instance (a crashed one's connections are gone)
        self.token = token
        self.reply = reply  # callable(request, result) on the client
        self.disconnect = disconnect  # callable(broker id): connection refused or reset
        self.member_id = member_id
        self.generation = generation
        self.offsets = offsets  # OffsetCommit: {partition: offset}
        self.session = session  # JoinGroup: session.timeout.ms (s)
        self.rebalance = rebalance  # JoinGroup: rebalance timeout = max.poll.interval.ms (s)
        self.slot = slot  # which application instance (orders members for the assignor)
