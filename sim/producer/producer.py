"""The producing application and its KafkaProducer instance.

ProducerApp is the application: it calls send() at the workload's Poisson times, and it
outlives crashes -- after a restart it runs a fresh KafkaProducer (new producer id, empty
accumulator). Producer is one KafkaProducer lifetime: accumulator + sender + metadata.
"""

from __future__ import annotations

from ..client_app import ClientApp
from ..counters import ProducerCounters
from ..protocol import CloseConnection
from ..timer import call_at
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
IN_SEND = frozenset({F_BUFFER_EXHAUSTED, F_METADATA_TIMEOUT})  # thrown by send() itself, after max.block.ms


class Producer:
    """One KafkaProducer: from construction to close() or a crash."""

    def __init__(self, app: ProducerApp, producer_id: int):
        self.app = app
        self.env = app.env
        self.network = app.network
        self.brokers = app.brokers
        self.ledger = app.ledger
        self.rng = app.rng
        self.settings = settings = app.settings
        self.node = NODE
        self.message_bytes = app.message_bytes
        self.callback_checked = settings.app_callback == "checked"
        self.producer_id = producer_id
        self.idempotence = IdempotenceManager(producer_id) if settings.enable_idempotence else None
        self.counters = app.counters
        self.alive = True
        self.closing = False
        self.closed = self.env.event()
        self.resend_later: list[tuple] = []  # (ids, count, partition) to re-send after app.resend.backoff.ms
        self._available: list[int] = []
        self._available_version = -1
        self.metadata = ClientMetadata(self.env, self.network, NODE, self.brokers, app.partitions,
                                       settings.retry_backoff, self._metadata_updated, settings.reconnect_backoff)
        self.accumulator = RecordAccumulator(
            arrivals=app.arrivals, ledger=self.ledger, rng=app.partitioner_rng, partitions=app.partitions,
            batch_size=settings.batch_size, message_bytes=self.message_bytes, linger=settings.linger,
            delivery_timeout=settings.delivery_timeout, buffer_memory=settings.buffer_memory,
            max_block=settings.max_block, callback_checked=self.callback_checked,
            available_partitions=self._available_partitions, max_request_size=settings.max_request_size,
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
        if not (self.settings.app_resend and cause in RESENDABLE and self._may_resend()):
            return
        if cause in IN_SEND:  # send() itself threw: the application pauses before calling it again
            entry = (ids, ids_count(ids), partition)
            self.resend_later.append(entry)
            call_at(self.env, self.settings.app_resend_backoff, lambda _event: self._resend_after_backoff(entry))
            return
        self._resend(ids, ids_count(ids), partition)

    def _may_resend(self) -> bool:
        return self.app.sending and self.alive and not self.closing

    def _resend_after_backoff(self, entry) -> None:
        if entry not in self.resend_later:
            return  # the producer crashed meanwhile (the entry went to what is in doubt)
        self.resend_later.remove(entry)
        if self._may_resend():
            self._resend(*entry)

    def _resend(self, ids, count: int, partition: int | None) -> None:
        self.accumulator.catch_up(self.env.now)  # sends made before the failure come first
        self.accumulator.resend(ids, count, partition, self.env.now)
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
            [(ids_sub(ids, done, count), count - done, p) for ids, count, p, done in self.accumulator.resends] + \
            list(self.resend_later)
        self.accumulator.resends.clear()
        self.resend_later.clear()
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
        settings = cfg.settings
        self.settings = settings.producer
        self.partitions = settings.topic.partitions
        workload = settings.workload
        self.message_bytes = workload.message_bytes
        self.end = workload.duration
        keyed = workload.keys > 0 and not self.settings.partitioner_ignore_keys
        table = key_partitions(workload.keys, self.partitions) if keyed else None
        self.arrivals = arrivals or ArrivalStream(workload_rng, workload.rate, env.now, self.end,
                                                  key_rng=key_rng, key_partitions=table)
        self.counters = ProducerCounters()
        self.sending = True  # until close(): send() still accepts records
        self.in_doubt: list[tuple] = []  # (ids, count, partition) the last crash left without an outcome
        self.start()

    def new_client(self, instance: int) -> Producer:
        return Producer(self, producer_id=1000 + instance)  # a new instance gets a new producer id

    def restart(self) -> None:
        """A new KafkaProducer; sends the application would have made while down never happened."""
        if self.up:
            return
        self.counters.restarts += 1
        self.counters.skipped_while_down += self.arrivals.skip_until(self.env.now)
        self.start()
        if self.settings.app_resend_on_restart and self.sending:
            for ids, count, partition in self.in_doubt:  # replayed from the application's own checkpoint
                self.client.accumulator.resend(ids, count, partition, self.env.now)
        self.in_doubt = []

    def close(self):
        """End of production: stop sending, flush and close (waits for every batch)."""
        self.sending = False
        self.client.accumulator.catch_up(self.env.now)
        self.client.accumulator.end_sends()
        return self.client.close()
