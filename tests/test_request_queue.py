"""A broker reads one request at a time per connection; the rest wait in the socket. Answering one and
taking the next must not nest per request: a leader that resigns with thousands queued answers them
all at once (NOT_LEADER_OR_FOLLOWER), one after the other."""

from __future__ import annotations

from sim import protocol as P
from sim.producer.batch import ProducerBatch

from simtest import cluster

MS = 0.001
QUEUED = 10_000


class Client:
    """A scripted client on node "producer": what the broker answers, in order."""

    def __init__(self):
        self.connected = False
        self.answers: list[tuple[int, list]] = []

    def on_connected(self, _message) -> None:
        self.connected = True

    def on_produce_response(self, response) -> None:
        self.answers.append((response.request.rid, response.results))


def request(client, rid: int, acks: str) -> P.ProduceRequest:
    batch = ProducerBatch(0, 0.0, 1e9)
    batch.add(slice(rid, rid + 1), 1)
    return P.ProduceRequest(rid, "producer", 1, 0, [P.WireBatch(batch)], acks, 1e9, 0.0, client, seq=rid)


def test_ten_thousand_requests_queued_behind_a_resigning_leader_are_answered_in_order():
    # broker 0 leads partition 0; its followers are cut off, so an acks=all request waits in purgatory and
    # keeps the connection busy; 9,999 acks=1 requests queue behind it. At 1 s broker 0 is shut down
    # (controlled): it resigns, the waiting request fails, and every queued one is answered in turn.
    c = cluster(None, cluster__brokers=3, topic__replication__factor=3, topic__min__insync__replicas=1,
                workload__rate=0.001, workload__duration=5,
                faults=[{"at": 0.1, "action": "isolate", "target": "broker:0", "from": "brokers"},
                        {"at": 1.0, "action": "shutdown", "target": "broker:0"}])
    client, leader = Client(), c.brokers[0]
    c.network.send("producer", leader.node, leader, P.ConnectRequest("producer", 1, client))
    c.env.run(until=0.5)
    assert client.connected
    c.network.send("producer", leader.node, leader, request(client, 0, "all"))
    for rid in range(1, QUEUED):
        c.network.send("producer", leader.node, leader, request(client, rid, "1"))
    c.env.run(until=0.9)
    assert client.answers == []  # the first waits for the followers, the rest for the first
    c.env.run(until=1.1)
    assert [rid for rid, _results in client.answers] == list(range(QUEUED))
    assert client.answers[0][1] == [P.NOT_LEADER_OR_FOLLOWER]
    assert all(results == [P.NOT_LEADER_OR_FOLLOWER] for _rid, results in client.answers[1:])


def appended_around_a_crash(queue_ms: float) -> list[int]:
    """acks=0, one record per ms from 0.1 s, each its own request; broker 0 (leader, RF 1) crashes at
    0.2005 s and restarts at 0.5 s. Returns the ids that never reached its log."""
    times = [0.1 + k * MS for k in range(200)]
    c = cluster(times, producer__acks="0", producer__linger__ms=0, workload__duration=1,
                broker__model__request__queue__ms=queue_ms,
                faults=[{"at": 0.2005, "action": "crash", "target": "broker:0", "duration": 0.3}])
    c.env.run(until=1)
    return [int(i) for i in range(len(times)) if not c.ledger.appended[i]]


def test_a_crash_loses_the_requests_waiting_in_the_request_queue():
    # The network takes 1 ms. With no queue time the record sent at 0.199 s (id 99) is handled at 0.200 s,
    # just before the process dies, and the one sent at 0.2 s is the first lost. Each ms of queue time loses
    # one more record: those that arrived but were not yet taken by a handler (RequestQueueTimeMs).
    lost_without_queue = appended_around_a_crash(0)
    lost_with_3_ms = appended_around_a_crash(3)
    assert lost_without_queue[0] == 100  # sent at 0.2 s, arrives at 0.201 s: the process is down
    assert lost_with_3_ms[0] == 97  # sent at 0.197 s, arrives at 0.198 s, would be taken at 0.201 s
    assert set(lost_without_queue) < set(lost_with_3_ms)
