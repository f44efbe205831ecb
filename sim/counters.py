"""Counters: what each component counts as it runs (Kafka's metrics, reduced to totals).

Each component owns one counter object and increments its attributes; the run's result asks every
component for its ``report()``. The classes list their counters in the order results show them.
"""

from __future__ import annotations


class Counters:
    """Named integer counters, all starting at 0."""

    __slots__ = ()

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, 0)

    def report(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __add__(self, other: Counters) -> Counters:
        total = type(self)()
        for name in self.__slots__:
            setattr(total, name, getattr(self, name) + getattr(other, name))
        return total


class ProducerCounters(Counters):
    """The producing application's KafkaProducer instances, added up (producer-metrics)."""

    __slots__ = ("requests", "batches_sent", "records_sent", "retries", "expired_batches", "failed_batches",
                 "request_timeouts", "late_successes", "disconnects", "connect_failures", "epoch_bumps",
                 "skipped_while_down", "restarts")

    def report(self) -> dict[str, int]:
        out = super().report()
        restarts = out.pop("restarts")
        if not restarts:
            del out["skipped_while_down"]  # shown only once the application restarted its producer
        return out


class BrokerCounters(Counters):
    """One broker's log and replication activity."""

    __slots__ = ("appended_records", "truncated_records", "lost_on_power_loss", "lost_on_disk_failure",
                 "appended_batches", "replica_fetches")


class ConsumerCounters(Counters):
    """The consuming application's instances, added up (consumer-fetch-manager and coordinator metrics)."""

    __slots__ = ("records_processed", "redeliveries", "commits_sent", "commits_failed", "offset_resets", "restarts",
                 "poll_timeouts", "processing_errors", "records_skipped", "records_retried", "closed_on_error",
                 "log_truncations")


class ControllerCounters(Counters):
    """Leader elections decided by the controller."""

    __slots__ = ("elections", "unclean_elections", "preferred_elections")


class NetworkCounters(Counters):
    """Messages sent, lost for good, and retransmitted by TCP."""

    __slots__ = ("messages", "dropped", "retransmissions")
