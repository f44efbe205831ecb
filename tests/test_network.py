"""Network: delays, per-link order, packet loss, isolation and what TCP does across a cut."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim.config import load_config
from sim.network import Network
from sim.protocol import Message


class Call(Message):
    """A test message: runs fn(*args) where it arrives."""

    __slots__ = ("fn", "args")
    handler = "run"

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args


class Runner:
    def run(self, message: Call) -> None:
        message.fn(*message.args)


RUNNER = Runner()


def send(network, src, dst, fn, *args):
    """What reaches dst is fn(*args), after the network's delay."""
    return network.send(src, dst, RUNNER, Call(fn, *args))


class Node:
    """A registered node that records what reaches it."""

    def __init__(self, log, name):
        self.log = log
        self.name = name
        self.incarnation = 0

    def receive(self, handler, message):
        handler(message)

    def receive_stale(self, message):
        self.log.append(("refused", message.args))


KEYS = {"latency_ms": "network.latency.ms", "distribution": "network.latency.distribution",
        "sigma": "network.latency.sigma", "packet_loss": "network.packet.loss", "loss_model": "network.loss.model"}


def net(env, **kw):
    """A network with [network] settings (1 ms constant delay unless kw says otherwise)."""
    args = {"latency_ms": 1.0, "distribution": "constant", **kw}
    settings = load_config(overrides={KEYS[name]: value for name, value in args.items()}).settings
    return Network(env, np.random.default_rng(7), settings.network)


def test_constant_delay_and_order(log):
    env = simpy.Environment()
    n = net(env)
    for i in range(3):
        send(n, "producer", "broker:0", lambda i=i: log.append((i, env.now)))
    env.run()
    assert log == [(0, 0.001), (1, 0.001), (2, 0.001)]


def test_random_delays_never_reorder_one_link(log):
    env = simpy.Environment()
    n = net(env, distribution="exponential")
    for i in range(200):
        env.timeout(i * 1e-5).callbacks.append(lambda _e, i=i: send(n, "a", "b", lambda i=i: log.append(i)))
    env.run()
    assert log == list(range(200))


def test_lognormal_delay_has_the_configured_mean():
    env = simpy.Environment()
    n = net(env, latency_ms=0.25, distribution="lognormal", sigma=0.6)
    draws = np.array([n._draw_delay() for _ in range(20000)])
    assert draws.mean() == pytest.approx(0.00025, rel=0.03)
    assert np.percentile(draws, 99) > 3 * np.median(draws)


def test_packet_loss_drops_about_that_share(log):
    env = simpy.Environment()
    n = net(env, packet_loss=0.2, loss_model="drop")
    for _ in range(5000):
        send(n, "a", "b", lambda: log.append(1))
    env.run()
    assert len(log) == pytest.approx(4000, abs=150)
    assert n.counters.dropped == 5000 - len(log)


def test_isolation_cuts_only_the_named_sides(log):
    env = simpy.Environment()
    n = net(env)
    n.isolate("broker:0", ["controller"])
    assert not n.link_up("broker:0", "controller") and not n.link_up("controller", "broker:0")
    assert n.link_up("broker:0", "broker:1") and n.link_up("producer", "broker:0")
    n.isolate("broker:0", ["brokers", "clients"])
    assert not n.link_up("broker:1", "broker:0") and not n.link_up("consumer", "broker:0")
    n.heal("broker:0")
    assert n.link_up("broker:0", "controller")


def test_messages_over_a_cut_link_arrive_after_the_heal_in_order(log):
    env = simpy.Environment()
    n = net(env)
    n.isolate("broker:0", ["clients"])
    send(n, "producer", "broker:0", lambda: log.append(("a", env.now)))
    env.timeout(0.5).callbacks.append(lambda _e: send(n, "producer", "broker:0", lambda: log.append(("b", env.now))))
    env.timeout(2.0).callbacks.append(lambda _e: n.heal("broker:0"))
    env.timeout(2.0).callbacks.append(lambda _e: send(n, "producer", "broker:0", lambda: log.append(("c", env.now))))
    env.run()
    assert log == [("a", 2.001), ("b", 2.001), ("c", 2.001)]


def test_a_message_in_flight_when_the_link_is_cut_waits_for_the_heal(log):
    env = simpy.Environment()
    n = net(env, latency_ms=10.0)
    send(n, "producer", "broker:0", lambda: log.append(env.now))
    env.timeout(0.005).callbacks.append(lambda _e: n.isolate("broker:0", ["clients"]))
    env.timeout(1.0).callbacks.append(lambda _e: n.heal())
    env.run()
    assert log == [pytest.approx(1.01)]


def test_a_message_for_a_restarted_process_is_refused(log):
    env = simpy.Environment()
    n = net(env)
    node = Node(log, "broker:0")
    n.register("broker:0", node)
    send(n, "producer", "broker:0", lambda x: log.append(("got", x)), 1)
    node.incarnation = 1  # the process restarted while the message was in flight
    send(n, "producer", "broker:0", lambda x: log.append(("got", x)), 2)
    env.run()
    assert log == [("refused", (1,)), ("got", 2)]


def test_packet_loss_on_a_link_drops_only_between_the_named_peers(log):
    env = simpy.Environment()
    n = net(env, loss_model="drop")
    token = n.impair("broker:0", ["producer"], loss=1.0)
    send(n, "producer", "broker:0", lambda: log.append("producer->b0"))
    send(n, "broker:0", "producer", lambda: log.append("b0->producer"))
    send(n, "consumer", "broker:0", lambda: log.append("consumer->b0"))
    send(n, "producer", "broker:1", lambda: log.append("producer->b1"))
    env.run()
    assert log == ["consumer->b0", "producer->b1"] and n.counters.dropped == 2
    n.unimpair("broker:0", token)
    send(n, "producer", "broker:0", lambda: log.append("after"))
    env.run()
    assert log[-1] == "after"


def test_a_newer_impairment_is_not_undone_by_an_older_one_ending():
    env = simpy.Environment()
    n = net(env)
    old = n.impair("producer", ["brokers"], loss=0.5)
    n.impair("producer", ["brokers"], loss=0.9)
    n.unimpair("producer", old)  # the first fault's duration ends: the second one stays
    assert n.losses["producer"][0] == 0.9
    n.heal()
    assert n.losses == {} and n.spikes == {}


def test_latency_spike_delays_both_directions_of_the_named_links(log):
    env = simpy.Environment()
    n = net(env)
    n.impair("producer", ["brokers"], extra_delay=0.050)
    send(n, "producer", "broker:0", lambda: log.append(("request", env.now)))
    send(n, "broker:0", "producer", lambda: log.append(("response", env.now)))
    send(n, "consumer", "broker:0", lambda: log.append(("consumer", env.now)))
    env.run()
    assert log == [("consumer", pytest.approx(0.001)), ("request", pytest.approx(0.051)),
                   ("response", pytest.approx(0.051))]


def test_a_spike_ending_never_lets_later_messages_overtake_earlier_ones(log):
    env = simpy.Environment()
    n = net(env)
    token = n.impair("broker:0", ["clients"], extra_delay=0.1)
    send(n, "producer", "broker:0", lambda: log.append(("slow", env.now)))
    n.unimpair("broker:0", token)
    send(n, "producer", "broker:0", lambda: log.append(("fast", env.now)))
    env.run()
    assert log == [("slow", pytest.approx(0.101)), ("fast", pytest.approx(0.101))]  # one TCP connection


def test_a_broker_can_be_cut_off_from_the_producer_alone():
    env = simpy.Environment()
    n = net(env)
    n.isolate("broker:0", ["producer"])
    assert not n.link_up("producer", "broker:0") and not n.link_up("broker:0", "producer")
    assert n.link_up("consumer", "broker:0") and n.link_up("broker:1", "broker:0")
    n.isolate("producer", ["brokers"])
    assert not n.link_up("producer", "broker:1") and n.link_up("consumer", "broker:1")


# -- TCP retransmission (network.loss.model = "retransmit", the default): 1 ms each way, so RTT 2 ms,
# RTO = 2 ms + tcp_rto_min 200 ms = 0.202 s, fast retransmit 1.25 RTT = 2.5 ms after the next segment

def _lossy_until(env, n, t: float, peers=("producer",)):
    token = n.impair("broker:0", peers, loss=1.0)
    env.timeout(t).callbacks.append(lambda _e: n.unimpair("broker:0", token))


def test_a_lost_message_is_sent_again_after_the_retransmission_timeout(log):
    env = simpy.Environment()
    n = net(env)
    _lossy_until(env, n, 0.1)
    send(n, "producer", "broker:0", lambda: log.append(("a", env.now)))
    env.run()
    assert log == [("a", pytest.approx(0.203))]  # lost at 0, sent again at 0.202, 1 ms on the wire
    assert n.counters.retransmissions == 1 and n.counters.dropped == 0


def test_each_further_loss_doubles_the_timeout(log):
    env = simpy.Environment()
    n = net(env)
    _lossy_until(env, n, 1.0)
    send(n, "producer", "broker:0", lambda: log.append(env.now))
    env.run()
    # sent again at 0.202 (lost), 0.202 + 0.404 = 0.606 (lost), 0.606 + 0.808 = 1.414 (through)
    assert log == [pytest.approx(1.415)] and n.counters.retransmissions == 3


def test_later_messages_wait_behind_a_lost_one_and_reveal_it_sooner(log):
    env = simpy.Environment()
    n = net(env)
    _lossy_until(env, n, 0.001)
    send(n, "producer", "broker:0", lambda: log.append(("a", env.now)))
    env.timeout(0.002).callbacks.append(
        lambda _e: send(n, "producer", "broker:0", lambda: log.append(("b", env.now))))
    send(n, "broker:0", "producer", lambda: log.append(("reply-side", env.now)))  # lost too, its own link
    env.run()
    # b (0.002) is the next segment: fast retransmit of a at 0.002 + 0.0025; both arrive 1 ms later, in order
    assert log[:2] == [("a", pytest.approx(0.0055)), ("b", pytest.approx(0.0055))]
    assert log[2] == ("reply-side", pytest.approx(0.203))  # nothing followed it: the full RTO
    assert n.counters.retransmissions == 2


def test_tcp_gives_up_after_about_fifteen_minutes(log):
    env = simpy.Environment()
    n = net(env)
    n.impair("broker:0", ["producer"], loss=1.0)
    send(n, "producer", "broker:0", lambda: log.append(env.now))
    env.run()
    # RTO 0.202 s doubling to the 120 s cap: 15 retransmissions (tcp_retries2), and the 16th timer,
    # at 926.6 s, finds more than 924.6 s passed
    assert log == [] and n.counters.dropped == 1 and n.counters.retransmissions == 15
    assert env.now == pytest.approx(0.202 * (2 ** 10 - 1) + 6 * 120)


def test_a_message_sent_over_a_cut_link_stays_behind_one_still_in_flight(log):
    # A is on the wire when the link is cut and is held when it arrives; B, sent during the cut, is
    # held too -- behind A, as on one TCP stream -- and after the heal A comes first
    for model in ("drop", "retransmit"):
        env = simpy.Environment()
        n = net(env, loss_model=model)
        got = []
        send(n, "broker:1", "broker:0", lambda got=got: got.append("A"))
        env.run(until=0.0005)
        n.isolate("broker:0", ["brokers"])
        send(n, "broker:1", "broker:0", lambda got=got: got.append("B"))
        env.run(until=0.5)
        n.heal("broker:0")
        env.run(until=1.0)
        assert got == ["A", "B"], model


def test_what_a_machine_was_still_retransmitting_dies_with_it(log):
    env = simpy.Environment()
    n = net(env)
    send(n, "broker:0", "broker:1", lambda: log.append("on the wire"))  # arrives at 0.001, link still up
    n.isolate("broker:1", ["brokers"])
    send(n, "broker:0", "broker:1", lambda: log.append("held"))  # held for the heal, by broker 0's kernel
    tok = n.impair("broker:0", ["controller"], loss=1.0)
    send(n, "broker:0", "controller", lambda: log.append("lost once"))  # waiting for its retransmission
    n.unimpair("broker:0", tok)
    env.run(until=0.1)
    n.machine_down("broker:0")  # power loss: nobody left to retransmit
    n.heal()
    env.run(until=2.0)
    assert log == []  # ("on the wire" reached a cut link at 0.001 and was held too)
    assert n.counters.dropped == 3
