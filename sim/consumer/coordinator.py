"""GroupCoordinator: where a consumer group's committed offsets live.

Kafka keeps them in the replicated __consumer_offsets topic, served by the group
coordinator on one broker. Simplification for now: the coordinator is its own node,
always up, reached over the network like everything else (so a commit takes a round trip
and can be lost with a packet); it keeps whatever was committed last.
"""

from __future__ import annotations

NODE = "coordinator"


class GroupCoordinator:
    """Committed offsets of the one consumer group."""

    def __init__(self, env, network):
        self.env = env
        self.network = network
        self.node = NODE
        self.committed: dict[int, int] = {}
        self.commits = 0

    def on_offset_fetch(self, src: str, token, reply) -> None:
        self.network.send(NODE, src, reply, token, dict(self.committed))

    def on_offset_commit(self, src: str, token, offsets: dict, reply) -> None:
        self.committed.update(offsets)
        self.commits += 1
        self.network.send(NODE, src, reply, token, None)
