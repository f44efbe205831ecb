"""Network: the links between clients, brokers and the controller.

Each message takes a one-way delay drawn from the configured distribution. A link behaves
like one TCP connection: messages between the same two nodes arrive in the order they were sent.

Packet loss (`network.packet.loss`, or a `packet_loss` fault) loses a transmission of a message
with that probability. With `network.loss.model = "retransmit"` (the default) TCP sends it again
after its retransmission timeout -- RTT + tcp_rto_min (200 ms) at first, doubling with every
further loss up to 120 s -- and what was sent after it on the same link waits behind it (head-of-
line blocking); only when TCP gives up (about 15 minutes) is the message lost, with everything
queued behind it. A lost message is also sent again 1.25 RTT after the next message on the link,
whose acknowledgement reveals the gap (fast retransmit, RACK). Simplifications: one message is one
segment (its loss is one draw), the RTO is fixed rather than measured.
With `network.loss.model = "drop"` the message is simply gone: the request times out at the
client -- the abstraction of "a lost request" or "a lost response" used by scripted scenarios.

A cut link (a broker isolated from brokers, the controller or clients) does not lose what
is sent over it: TCP retransmits. A message sent or in flight while the link is cut arrives
once the link heals, unless TCP gave up first (about 15 minutes, tcp_retries2 = 15).
Simplification: it arrives one network delay after the heal; Linux would wait for its next
retransmission (RTO doubling from 200 ms), and Kafka's clients would often have replaced the
connection by then. A message whose destination broker process restarted meanwhile
belonged to a dead connection: it is refused.

Scripted impairments of one node's links (faults `packet_loss`, `latency_spike`): an extra loss
rate or an extra one-way delay on the messages between that node and the peers named (groups
`brokers`, `controller`, `clients`, or single clients `producer`, `consumer`). A cut or an
impairment names its peers the same way, so a broker can be cut off from the producer alone.
"""

from __future__ import annotations

import math

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from ..counters import NetworkCounters
from ..timer import call_at

BROKERS, CONTROLLER, CLIENTS = "brokers", "controller", "clients"
GROUPS = (BROKERS, CONTROLLER, CLIENTS)
_BLOCK = 4096
TCP_GIVE_UP = 924.6  # s until Linux gives up retransmitting (tcp_retries2 = 15, RTO 0.2 s .. 120 s)
TCP_RTO_MAX = 120.0  # s, Linux TCP_RTO_MAX


def broker_node(broker_id: int) -> str:
    return f"broker:{broker_id}"


def group_of(node: str) -> str:
    """Which side of an isolation a node is on."""
    if node.startswith("broker:"):
        return BROKERS
    if node == "controller":
        return CONTROLLER
    return CLIENTS


def _names(peers, node: str) -> bool:
    """Does a set of peers (group names, node names, or "consumer" for every member) include `node`?"""
    return group_of(node) in peers or node in peers or node.split(":", 1)[0] in peers


class _Burst(Event):
    """Messages on one link that arrive together: one SimPy event for all of them (the event is
    the burst itself, its callback the plain function _Burst.arrive: no other object per burst)."""

    def arrive(self) -> None:
        self.done = True
        arrive = self.net._arrive
        for msg in self.msgs:
            arrive(msg)


_BURST_ARRIVE = _Burst.arrive


class _Stall:
    """A link whose first unacknowledged message TCP is retransmitting, and what waits behind it."""

    __slots__ = ("queue", "token", "due", "fast", "fast_used", "backoff")

    def __init__(self, msg):
        self.queue = [msg]
        self.token = 0  # the retransmission timer that counts (earlier ones were superseded)
        self.due = math.inf
        self.fast = False  # the pending retransmission is a fast one
        self.fast_used = False  # at most one fast retransmission of the same message
        self.backoff = 0.0


class Network:
    """Delivers callbacks between named nodes with latency, loss and partitions."""

    def __init__(self, env: simpy.Environment, rng: np.random.Generator, settings):
        """settings: the [network] section (sim/config/settings.py)."""
        self.env = env
        self.rng = rng
        self.mean = settings.latency  # s, mean one-way delay
        self.distribution = settings.latency_distribution
        self.sigma = settings.latency_sigma
        self.packet_loss = settings.packet_loss
        self.nodes: dict[str, object] = {}  # nodes that gate their own deliveries (brokers)
        self.isolated: dict[str, frozenset[str]] = {}  # node -> peers (groups or nodes) it cannot reach
        self.spikes: dict[str, tuple[float, frozenset[str]]] = {}  # node -> (extra one-way delay s, peers)
        self.losses: dict[str, tuple[float, frozenset[str]]] = {}  # node -> (extra loss rate, peers)
        self._tail: dict[tuple[str, str], list] = {}  # per link: [arrival, delivered?, messages]
        self.held: dict[tuple[str, str], list] = {}  # messages waiting for a cut link to heal
        self.held_count = 0
        self.power_lost_at: dict[str, float] = {}  # node -> when its machine last lost power
        self._delays: list[float] = []  # a block of delays drawn at once, as Python floats
        self._d = 0
        self._uniform: list[float] = []
        self._u = 0
        self.counters = NetworkCounters()
        self.retransmit = settings.loss_model == "retransmit"
        rtt = 2.0 * self.mean
        self.rto = rtt + settings.tcp_rto_min  # Linux: srtt + max(4 rttvar, tcp_rto_min)
        self.fast_retransmit = 1.25 * rtt  # RACK: a later segment SACKed, plus a reordering window of rtt / 4
        self._stalled: dict[tuple[str, str], _Stall] = {}  # links waiting for a retransmission

    def register(self, name: str, node) -> None:
        """Deliveries to `name` go through node.receive(handler, message) (down, paused, ...)."""
        self.nodes[name] = node

    # -- link state ------------------------------------------------------------------
    def isolate(self, node: str, groups) -> None:
        self.isolated[node] = self.isolated.get(node, frozenset()) | frozenset(groups)

    def heal(self, node: str | None = None) -> None:
        """Reconnect node's cut links (every link, and drop every impairment, when node is None)."""
        if node is None:
            self.isolated.clear()
            self.unimpair_all()
        else:
            self.isolated.pop(node, None)
        now = self.env.now
        for key in sorted(self.held):
            if not self.link_up(*key):
                continue
            for msg in self.held.pop(key):
                if now - msg[0] > TCP_GIVE_UP or self._sender_died(msg):
                    self.counters.dropped += 1
                else:
                    self._schedule(msg, now + self._draw_delay())

    def machine_down(self, node: str) -> None:
        """node's machine lost power: what its kernel was still retransmitting (held over a cut link, or
        waiting for a retransmission) dies with it; messages already on the wire still arrive."""
        self.power_lost_at[node] = self.env.now
        for key in [k for k in self.held if k[0] == node]:
            self.counters.dropped += len(self.held.pop(key))
        for key in [k for k in self._stalled if k[0] == node]:
            self.counters.dropped += len(self._stalled.pop(key).queue)

    def _sender_died(self, msg) -> bool:
        lost = self.power_lost_at.get(msg[1])
        return lost is not None and msg[0] <= lost

    def link_up(self, src: str, dst: str) -> bool:
        iso = self.isolated
        if not iso:
            return True
        return not _names(iso.get(src, ()), dst) and not _names(iso.get(dst, ()), src)

    def impair(self, node: str, peers, *, loss: float | None = None, extra_delay: float | None = None) -> tuple:
        """Add a loss rate or a delay to node's links with `peers`; returns a token for `unimpair`."""
        entry = (loss if loss is not None else extra_delay, frozenset(peers))
        (self.losses if loss is not None else self.spikes)[node] = entry
        return entry

    def unimpair(self, node: str, token: tuple | None = None) -> None:
        """Remove node's impairments (only the one `token` names, if given)."""
        for table in (self.losses, self.spikes):
            if token is None or table.get(node) is token:
                table.pop(node, None)

    def unimpair_all(self) -> None:
        self.losses.clear()
        self.spikes.clear()

    def _link_loss(self, src: str, dst: str) -> float:
        keep = 1.0 - self.packet_loss
        for from_node, to_node in ((src, dst), (dst, src)):
            entry = self.losses.get(from_node)
            if entry is not None and _names(entry[1], to_node):
                keep *= 1.0 - entry[0]
        return 1.0 - keep

    def _link_delay(self, src: str, dst: str) -> float:
        extra = 0.0
        for from_node, to_node in ((src, dst), (dst, src)):
            entry = self.spikes.get(from_node)
            if entry is not None and _names(entry[1], to_node):
                extra += entry[0]
        return extra

    # -- delivery --------------------------------------------------------------------
    def send(self, src: str, dst: str, target, message) -> bool:
        """Deliver a message (sim/protocol.py) to the component `target` on node dst after a network delay:
        target.<message.handler>(message); False if the packet was lost."""
        self.counters.messages += 1
        node = self.nodes.get(dst)
        now = self.env.now
        msg = (now, src, dst, target, message, None if node is None else node.incarnation)
        if self._stalled:
            st = self._stalled.get((src, dst))
            if st is not None:  # behind a message TCP is retransmitting: it waits, in order
                self._queue_behind(st, (src, dst), msg)
                return True
        loss = self._link_loss(src, dst) if self.losses else self.packet_loss
        if loss and self._draw_uniform() < loss:
            if not self.retransmit:
                self.counters.dropped += 1
                return False
            self._stall(msg)
            return True
        if self.isolated and not self.link_up(src, dst):
            self._hold_behind(msg)
            return True
        self._schedule(msg, now + self._draw_delay())
        return True

    # -- TCP retransmission -------------------------------------------------------------
    def _stall(self, msg) -> None:
        """A transmission of msg was lost: TCP sends it again after the RTO, or sooner once later
        data on the link reveals the gap (fast retransmit); until then the link waits for it."""
        key = (msg[1], msg[2])
        st = self._stalled[key] = _Stall(msg)
        st.backoff = min(2.0 * self.rto, TCP_RTO_MAX)
        self._retransmit_after(key, st, self.rto, fast=False)

    def _retransmit_after(self, key: tuple[str, str], st: _Stall, delay: float, *, fast: bool) -> None:
        st.token += 1
        st.due = self.env.now + delay
        st.fast = fast
        token = st.token
        call_at(self.env, delay, lambda _event: self._retransmit(key, token))

    def _queue_behind(self, st: _Stall, key: tuple[str, str], msg) -> None:
        st.queue.append(msg)
        if not st.fast_used:  # the first segment after the gap: its SACK shows the loss
            st.fast_used = True
            delay = self.fast_retransmit
            if self.env.now + delay < st.due:
                self._retransmit_after(key, st, delay, fast=True)

    def _retransmit(self, key: tuple[str, str], token: int) -> None:
        st = self._stalled.get(key)
        if st is None or st.token != token:
            return  # superseded by an earlier (fast) retransmission
        now = self.env.now
        if now - st.queue[0][0] > TCP_GIVE_UP:
            del self._stalled[key]  # tcp_retries2 retransmissions made and none got through: the connection is dead
            self.counters.dropped += len(st.queue)
            return
        self.counters.retransmissions += 1
        src, dst = key
        if self.isolated and not self.link_up(src, dst):
            del self._stalled[key]
            for msg in st.queue:
                self._hold_behind(msg)  # the link is cut as well: all of it goes after the heal
            return
        loss = self._link_loss(src, dst) if self.losses else self.packet_loss
        if loss and self._draw_uniform() < loss:
            if st.fast:  # a lost fast retransmission: the retransmission timer takes over
                self._retransmit_after(key, st, self.rto, fast=False)
            else:  # exponential backoff
                self._retransmit_after(key, st, st.backoff, fast=False)
                st.backoff = min(2.0 * st.backoff, TCP_RTO_MAX)
            return
        del self._stalled[key]
        for msg in st.queue:
            self._schedule(msg, now + self._draw_delay())  # _schedule keeps them in order

    def _schedule(self, msg, arrival: float) -> None:
        src, dst = msg[1], msg[2]
        if self.spikes:
            arrival += self._link_delay(src, dst)
        if msg[4].queued:  # a client's request to a broker also waits in its request queue
            node = self.nodes.get(dst)
            if node is not None:
                arrival += node.request_queue_delay
        key = (src, dst)
        tail = self._tail.get(key)
        if tail is not None and not tail.done and arrival <= tail.arrival:
            tail.msgs.append(msg)  # one connection: it cannot overtake what was sent before it
            return
        env = self.env
        burst = self._tail[key] = _Burst.__new__(_Burst)  # a bare SimPy event (call_at, inlined)
        burst.env = env
        burst.callbacks = [_BURST_ARRIVE]
        burst._value = None
        burst._ok = True
        burst.net = self
        burst.arrival = arrival
        burst.done = False
        burst.msgs = [msg]
        env.schedule(burst, NORMAL, arrival - env.now)

    def _hold_behind(self, msg) -> None:
        """Hold a message sent over a cut link -- behind whatever is still in flight on it, which is
        held when it arrives (one TCP stream: nothing overtakes what was sent before it)."""
        tail = self._tail.get((msg[1], msg[2]))
        if tail is not None and not tail.done:
            tail.msgs.append(msg)
        else:
            self._hold(msg)

    def _hold(self, msg) -> None:
        if self.power_lost_at and self._sender_died(msg):
            self.counters.dropped += 1  # nobody is left to retransmit it
            return
        self.held.setdefault((msg[1], msg[2]), []).append(msg)
        self.held_count += 1

    def _arrive(self, msg) -> None:
        _sent, src, dst, target, message, incarnation = msg
        if self.isolated and not self.link_up(src, dst):
            self._hold(msg)  # cut while in flight: retransmitted after the heal
            return
        handler = getattr(target, message.handler)
        node = self.nodes.get(dst)
        if node is None:
            handler(message)
        elif node.incarnation != incarnation:
            node.receive_stale(message)  # the connection died with the old process
        else:
            node.receive(handler, message)

    def rtt_estimate(self) -> float:
        return 2.0 * self.mean

    # -- bulk random draws -------------------------------------------------------------
    def _draw_delay(self) -> float:
        if self._d >= len(self._delays):
            self._delays = self._make_delays().tolist()
            self._d = 0
        delay = self._delays[self._d]
        self._d += 1
        return delay

    def _make_delays(self) -> np.ndarray:
        mean = self.mean
        if mean <= 0:
            return np.zeros(_BLOCK)
        if self.distribution == "constant":
            return np.full(_BLOCK, mean)
        if self.distribution == "exponential":
            return self.rng.exponential(mean, _BLOCK)
        mu = math.log(mean) - self.sigma ** 2 / 2.0  # lognormal with that mean
        return self.rng.lognormal(mu, self.sigma, _BLOCK)

    def _draw_uniform(self) -> float:
        if self._u >= len(self._uniform):
            self._uniform = self.rng.random(_BLOCK).tolist()
            self._u = 0
        draw = self._uniform[self._u]
        self._u += 1
        return draw
