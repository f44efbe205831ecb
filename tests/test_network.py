"""Network: delays, per-link order, packet loss, isolation and what TCP does across a cut."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim.network import Network


class Node:
    """A registered node that records what reaches it."""

    def __init__(self, log, name):
        self.log = log
        self.name = name
        self.incarnation = 0

    def deliver(self, fn, args):
        fn(*args)

    def deliver_stale(self, fn, args):
        self.log.append(("refused", args))


def net(env, **kw):
    args = dict(latency_ms=1.0, distribution="constant")
    args.update(kw)
    return Network(env, np.random.default_rng(7), **args)


def test_constant_delay_and_order(log):
    env = simpy.Environment()
    n = net(env)
    for i in range(3):
        n.send("producer", "broker:0", lambda i=i: log.append((i, env.now)))
    env.run()
    assert log == [(0, 0.001), (1, 0.001), (2, 0.001)]


def test_random_delays_never_reorder_one_link(log):
    env = simpy.Environment()
    n = net(env, distribution="exponential")
    for i in range(200):
        env.timeout(i * 1e-5).callbacks.append(lambda _e, i=i: n.send("a", "b", lambda i=i: log.append(i)))
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
    n = net(env, packet_loss=0.2)
    for _ in range(5000):
        n.send("a", "b", lambda: log.append(1))
    env.run()
    assert len(log) == pytest.approx(4000, abs=150)
    assert n.dropped == 5000 - len(log)


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
    n.send("producer", "broker:0", lambda: log.append(("a", env.now)))
    env.timeout(0.5).callbacks.append(lambda _e: n.send("producer", "broker:0", lambda: log.append(("b", env.now))))
    env.timeout(2.0).callbacks.append(lambda _e: n.heal("broker:0"))
    env.timeout(2.0).callbacks.append(lambda _e: n.send("producer", "broker:0", lambda: log.append(("c", env.now))))
    env.run()
    assert log == [("a", 2.001), ("b", 2.001), ("c", 2.001)]


def test_a_message_in_flight_when_the_link_is_cut_waits_for_the_heal(log):
    env = simpy.Environment()
    n = net(env, latency_ms=10.0)
    n.send("producer", "broker:0", lambda: log.append(env.now))
    env.timeout(0.005).callbacks.append(lambda _e: n.isolate("broker:0", ["clients"]))
    env.timeout(1.0).callbacks.append(lambda _e: n.heal())
    env.run()
    assert log == [pytest.approx(1.01)]


def test_a_message_for_a_restarted_process_is_refused(log):
    env = simpy.Environment()
    n = net(env)
    node = Node(log, "broker:0")
    n.register("broker:0", node)
    n.send("producer", "broker:0", lambda x: log.append(("got", x)), 1)
    node.incarnation = 1  # the process restarted while the message was in flight
    n.send("producer", "broker:0", lambda x: log.append(("got", x)), 2)
    env.run()
    assert log == [("refused", (1,)), ("got", 2)]
