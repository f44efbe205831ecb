"""ConsumerGroup: the consuming application, consumer.app.members instances in one consumer group.

Each `ConsumerApp` is one application instance (a process on some machine): it runs one
KafkaConsumer at a time, survives crashes (a restart brings a new KafkaConsumer, which
joins the group as a new member) and, after a processing error that closed its consumer,
starts a new one at once. The group object is what faults, the drain and the result see:
crash / restart / inject_error per member, whether every partition is consumed up to the
HW, the final positions, and the counters.

It also samples the group's lag every LAG_SAMPLE seconds of the production phase: per
partition the leader's HW minus the group's committed offset (what kafka-consumer-groups.sh
shows as LAG), summed over the partitions that have a committed offset.
"""

from __future__ import annotations

import numpy as np

from ..client_app import ClientApp
from ..counters import ConsumerCounters
from .consumer import Consumer

LAG_SAMPLE = 0.1  # s between lag samples


class ConsumerApp(ClientApp):
    """One application instance (group member slot), restarted after crashes."""

    def __init__(self, group, slot: int):
        super().__init__(group.env)
        self.group = group
        self.slot = slot
        self.node = f"consumer:{slot}"
        self.network = group.network
        self.brokers = group.brokers
        self.ledger = group.ledger
        self.trace = group.trace
        self.coordinator = group.coordinator
        self.settings = group.settings
        self.partitions = group.partitions
        self.counters = group.counters
        self.rng = group.rng

    def new_client(self, instance: int) -> Consumer:
        return Consumer(self, instance)

    def restart(self) -> None:
        if not self.up and not self.group.closing:
            self.counters.restarts += 1
            self.start()

    def after_error_close(self) -> None:
        """The application's supervisor starts a new KafkaConsumer after an error closed the last one."""
        if not self.group.closing:
            self.start()

    def close(self):
        consumer = self.client
        if consumer is None or not consumer.alive:
            ev = self.env.event()
            ev.succeed()
            return ev
        consumer.stop_requested = True
        consumer.wake()
        return consumer.closed


class ConsumerGroup:
    """Every instance of the consuming application, and the group's lag."""

    def __init__(self, ctx, end: float):
        cfg = ctx.cfg
        self.env = ctx.env
        self.network = ctx.network
        self.brokers = ctx.brokers
        self.ledger = ctx.ledger
        self.trace = ctx.trace
        self.coordinator = ctx.coordinator
        self.settings = cfg.settings.consumer
        self.message_bytes = cfg.settings.workload.message_bytes
        self.partitions = cfg.settings.topic.partitions
        self.rng = ctx.rng["consumer"]
        self.counters = ConsumerCounters()
        self.closing = False
        self.members = [ConsumerApp(self, slot) for slot in range(self.settings.app_members)]
        for member in self.members:
            member.start()
        self.coordinator.form([member.client for member in self.members])
        self.end = end
        self.lag_samples = 0
        self.lag_sum = 0
        self.lag_max = 0
        self.env.process(self._sample_lag(ctx.leader_log, end))

    # -- faults ---------------------------------------------------------------------------
    def crash(self, slot: int = 0) -> None:
        self.members[slot].crash()

    def restart(self, slot: int | None = None) -> None:
        for member in self.members if slot is None else [self.members[slot]]:
            member.restart()

    def inject_error(self, slot: int = 0) -> None:
        consumer = self.members[slot].client
        if consumer is not None:
            consumer.inject_error()

    def stall(self, slot: int, duration: float) -> None:
        consumer = self.members[slot].client
        if consumer is not None:
            consumer.stall(duration)

    # -- the drain and the result ----------------------------------------------------------------
    def owners(self) -> dict:
        """partition -> the live consumer instance it is assigned to."""
        out = {}
        for member in self.members:
            consumer = member.client
            if consumer is not None and consumer.alive:
                for partition in consumer.fetcher.assigned:
                    out[partition] = consumer
        return out

    def caught_up(self, high_watermarks) -> bool:
        """Every member settled, every partition owned and consumed up to the given HWs."""
        for member in self.members:
            consumer = member.client
            if consumer is not None and consumer.alive and not consumer.settled():
                return False
        owners = self.owners()
        for partition, hw in enumerate(high_watermarks):
            consumer = owners.get(partition)
            pos = None if consumer is None else consumer.fetcher.positions[partition]
            if pos is None or pos < hw:
                return False
        return True

    def close(self):
        self.closing = True
        return self.env.all_of([m.close() for m in self.members])

    def position(self, partition: int):
        consumer = self.owners().get(partition)
        return None if consumer is None else consumer.fetcher.positions[partition]

    def summary_stats(self) -> dict:
        out = self.counters.report()
        out["rebalances"] = self.coordinator.rebalances
        messages = self.ledger.n
        led = self.ledger
        processed_t = led.send_t[:messages] + led.processed_dt[:messages]
        out["processed_in_production"] = int(np.count_nonzero(processed_t < self.end))
        out["lag_max"] = self.lag_max
        out["lag_mean"] = round(self.lag_sum / self.lag_samples, 6) if self.lag_samples else 0.0
        return out

    def _sample_lag(self, leader_log, end: float):
        env = self.env
        committed = self.coordinator.committed
        while env.now < end:
            lag = 0
            for partition in sorted(committed):
                log = leader_log(partition)
                if log is not None:
                    lag += max(0, log.hw - committed[partition])
            self.lag_samples += 1
            self.lag_sum += lag
            self.lag_max = max(self.lag_max, lag)
            yield env.timeout(LAG_SAMPLE)
