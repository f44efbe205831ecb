"""The producing application and its KafkaProducer instance.

ProducerApp is the application: it calls send() at the workload's Poisson times, and it
outlives crashes -- after a restart it runs a fresh KafkaProducer (new producer id, empty
accumulator). Producer is one KafkaProducer lifetime: accumulator + sender + metadata.
"""

from __future__ import annotations

from ..client_app import ClientApp
from ..protocol import CloseConnection
from ..client_metadata import ClientMetadata
from ..ledger import (F_BUFFER_EXHAUSTED, F_DELIVERY_TIMEOUT, F_METADATA_TIMEOUT, F_RETRIES_EXHAUSTED, ids_count,
                      ids_sub)
from ..workload import ArrivalStream
from .accumulator import RecordAccumulator
from .idempotence import IdempotenceManager
from .partitioner import key_partitions
from .sender import Sender

NODE = "producer"
# failures an application that re-sends tries again; a fatal error or an oversized record would fail again
RESENDABLE = frozenset({F_DELIVERY_TIMEOUT, F_RETRIES_EXHAUSTED, F_BUFFER_EXHAUSTED, F_METADATA_TIMEOUT})


def producer_settings(cfg) -> dict:
    """The producer configs the model honours, in model units (seconds)."""
    return {
        "acks": cfg["producer.acks"],
        "idempotent": bool(cfg["producer.enable.idempotence"]),
        "retries": cfg["producer.retries"],
        "max_in_flight": cfg["producer.max.in.flight.requests.per.connection"],
        "delivery_timeout": cfg.seconds("producer.delivery.timeout.ms"),
        "request_timeout": cfg.seconds("producer.request.timeout.ms"),
        "linger": cfg.seconds("producer.linger.ms"),
        "batch_size": cfg["producer.batch.size"],
        "buffer_memory": cfg["producer.buffer.memory"],
        "max_block": cfg.seconds("producer.max.block.ms"),
        "retry_backoff": cfg.seconds("producer.retry.backoff.ms"),
        "retry_backoff_max": cfg.seconds("producer.retry.backoff.max.ms"),
        "max_request_size": cfg["producer.max.request.size"],
        "send_buffer": cfg["producer.send.buffer.bytes"],
        "reconnect_backoff": cfg.seconds("producer.reconnect.backoff.ms"),
        "reconnect_backoff_max": cfg.seconds("producer.reconnect.backoff.max.ms"),
        "connect_timeout": cfg.seconds("producer.socket.connection.setup.timeout.ms"),
        "connect_timeout_max": cfg.seconds("producer.socket.connection.setup.timeout.max.ms"),
        "callback_checked": cfg["producer.app.callback"] == "checked",
        "resend": cfg["producer.app.resend"],
        "resend_on_restart": cfg["producer.app.resend.on.restart"],
    }


def new_stats() -> dict:
    return {"requests": 0, "batches_sent": 0, "records_sent": 0, "retries": 0, "expired_batches": 0,
            "failed_batches": 0, "request_timeouts": 0, "late_successes": 0, "disconnects": 0,
            "connect_failures": 0, "epoch_bumps": 0}


class Producer:
    """One KafkaProducer: from construction to close() or a crash."""

    def __init__(self, app: ProducerApp, producer_id: int):
        self.app = app
        self.env = app.env
        self.network = app.network
        self.brokers = app.brokers
        self.ledger = app.ledger
        self.rng = app.rng
        self.settings = s = app.settings
        self.node = NODE
        self.message_bytes = app.message_bytes
        self.callback_checked = s["callback_checked"]
        self.producer_id = producer_id
        self.idempotence = IdempotenceManager(producer_id) if s["idempotent"] else None
        self.stats = app.stats
        self.alive = True
        self.closing = False
        self.closed = self.env.event()
        self._available: list[int] = []
        self._available_version = -1
        self.metadata = ClientMetadata(self.env, self.network, NODE, self.brokers, app.partitions,
                                       s["retry_backoff"], self._metadata_updated)
        self.accumulator = RecordAccumulator(
            arrivals=app.arrivals, ledger=self.ledger, rng=app.partitioner_rng, partitions=app.partitions,
            batch_size=s["batch_size"], message_bytes=self.message_bytes, linger=s["linger"],
            delivery_timeout=s["delivery_timeout"], buffer_memory=s["buffer_memory"],
            max_block=s["max_block"], callback_checked=self.callback_checked,
            available_partitions=self._available_partitions, max_request_size=s["max_request_size"],
            metadata_known=lambda: self.metadata.known, leader_epoch=lambda p: self.metadata.epochs[p],
            on_failure=self.report_failure)
        self.metadata.before_change = lambda: self.accumulator.catch_up(self.env.now)
        self.sender = Sender(self)
        self.env.process(self.sender.run())

    def _available_partitions(self) -> list[int]:
        """Partitions with a known leader (rebuilt only when the client's metadata changed)."""
        md = self.metadata
        if self._available_version != md.version:
            self._available = [p for p, leader in enumerate(md.leaders) if leader is not None]
            self._available_version = md.version
        return self._available

    def _metadata_updated(self) -> None:
        self.accumulator.metadata_ready(self.env.now)
        self.sender.wakeup()

    def on_disconnect(self, broker_id: int) -> None:
        self.sender.on_disconnect(broker_id)

    def report_failure(self, ids, cause: int, partition: int | None) -> None:
        """The callback got an exception: an application that re-sends sends the records again."""
        app = self.app
        if self.settings["resend"] and app.sending and self.alive and not self.closing and cause in RESENDABLE:
            self.accumulator.catch_up(self.env.now)  # sends made before the failure come first
            self.accumulator.resend(ids, ids_count(ids), partition, self.env.now)
            self.sender.wakeup()

    def flush(self):
        """flush(): every batch is ready at once; the event fires when all batches existing now completed.
        The application thread waits meanwhile, so its later sends happen that much later."""
        done = self.env.event()
        self.accumulator.flush(done, self.env.now)
        self.sender.wakeup()
        return done

    def close(self):
        """close(): no more sends, every batch ready at once; the event fires when all completed."""
        self.closing = True
        self.accumulator.closing = True
        self.sender.wakeup()
        return self.closed

    def crash(self) -> None:
        """The process dies: buffered records vanish, in-flight ones are in doubt, no callbacks."""
        if not self.alive:
            return
        self.accumulator.catch_up(self.env.now)  # sends made up to now are in the buffer
        self.alive = False
        lost = self.accumulator.abort_all() + self.sender.abort()
        for batch in lost:
            self.ledger.mark_crashed(batch.ids)
        # what the application had not seen completed: buffered, in flight, or about to be re-sent
        self.app.in_doubt = [(b.ids, b.count, b.partition) for b in lost] + \
            [(ids_sub(ids, done, count), count - done, p) for ids, count, p, done in self.accumulator.resends]
        self.accumulator.resends.clear()
        self.metadata.stop()
        self.sender.wakeup()
        for broker in self.brokers:  # the kernel closes its sockets
            self.network.send(NODE, broker.node, broker, CloseConnection(NODE))
        if not self.closed.triggered:
            self.closed.succeed()


class ProducerApp(ClientApp):
    """The application that produces: Poisson send() calls for the workload's duration."""

    def __init__(self, env, cfg, network, brokers, ledger, workload_rng, producer_rng, arrivals=None, key_rng=None,
                 partitioner_rng=None):
        super().__init__(env)
        self.network = network
        self.brokers = brokers
        self.ledger = ledger
        self.rng = producer_rng  # retry and reconnect jitter
        # the sticky partitioner's choices, on a stream of their own: how often the sender retries
        # (and so draws jitter) must not change which partitions the sends go to
        self.partitioner_rng = partitioner_rng if partitioner_rng is not None else producer_rng
        self.settings = producer_settings(cfg)
        self.partitions = cfg["topic.partitions"]
        self.message_bytes = cfg["workload.message.bytes"]
        self.end = cfg.seconds("workload.duration")
        keyed = cfg["workload.keys"] > 0 and not cfg["producer.partitioner.ignore.keys"]
        table = key_partitions(cfg["workload.keys"], self.partitions) if keyed else None
        self.arrivals = arrivals or ArrivalStream(workload_rng, cfg["workload.rate"], env.now, self.end,
                                                  key_rng=key_rng, key_partitions=table)
        self.stats = new_stats()
        self.sending = True  # until close(): send() still accepts records
        self.in_doubt: list[tuple] = []  # (ids, count, partition) the last crash left without an outcome
        self.start()

    def new_client(self, instance: int) -> Producer:
        return Producer(self, producer_id=1000 + instance)  # a new instance gets a new producer id

    def restart(self) -> None:
        """A new KafkaProducer; sends the application would have made while down never happened."""
        if self.up:
            return
        self.stats["skipped_while_down"] = self.stats.get("skipped_while_down", 0) + \
            self.arrivals.skip_until(self.env.now)
        self.start()
        if self.settings["resend_on_restart"] and self.sending:
            for ids, count, partition in self.in_doubt:  # replayed from the application's own checkpoint
                self.client.accumulator.resend(ids, count, partition, self.env.now)
        self.in_doubt = []

    def close(self):
        """End of production: stop sending, flush and close (waits for every batch)."""
        self.sending = False
        self.client.accumulator.catch_up(self.env.now)
        self.arrivals.stop()
        return self.client.close()
