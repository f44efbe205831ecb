"""The group protocol between a consumer and its group coordinator: error codes and what the client sees.

The requests (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch)
are in sim/protocol.py; each is sent to a broker and handled by the GroupCoordinator that broker hosts
(or refused, like any request to a dead broker process).
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
