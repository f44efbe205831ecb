"""PartitionState: one partition as the controller holds it (the metadata image's PartitionRegistration):
replicas in assignment order, leader, leader epoch, ISR, Eligible Leader Replicas (KIP-966), partition
epoch, and the last known leader when ISR and ELR emptied."""

from __future__ import annotations

from .. import protocol as P


class PartitionState:
    __slots__ = ("replicas", "leader", "leader_epoch", "isr", "elr", "partition_epoch", "last_known_leader")

    def __init__(self, replicas):
        self.replicas = tuple(replicas)
        self.leader = self.replicas[0]
        self.leader_epoch = 0
        self.isr = self.replicas
        self.elr: tuple = ()
        self.partition_epoch = 0
        self.last_known_leader = None  # with ELR: the leader when ISR and ELR emptied (lastKnownElr)

    def record(self) -> P.PartitionRecord:
        """The state as published to the brokers."""
        return P.PartitionRecord(self.replicas, self.leader, self.leader_epoch, self.isr, self.partition_epoch)

    def ordered(self, members) -> tuple:
        return tuple(r for r in self.replicas if r in members)
