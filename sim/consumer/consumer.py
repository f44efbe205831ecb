"""The consuming application and its KafkaConsumer.

ConsumerApp is the application: it survives crashes and, after a restart, runs a fresh
KafkaConsumer that starts from the group's committed offsets. Consumer is one
KafkaConsumer lifetime running the poll loop:

    poll():  auto commit of the current positions if auto.commit.interval.ms passed
             return up to max.poll.records fetched records (fetching below the HW if needed);
             the position moves past them now, before they are processed
    process: consumer.app.record.processing.ms per record (constant)
    commit:  with consumer.app.commit = sync, commitSync() of the positions after each poll

A crash while processing leaves the records processed so far processed, and nothing else.
The group has one member, which owns every partition (no rebalances yet).
"""

from __future__ import annotations

import math
from collections import deque

from .. import protocol as P
from ..client_app import ClientApp
from ..client_metadata import ClientMetadata
from ..deadlines import DeadlineQueue
from ..ledger import ids_sub
from ..records import record_bytes
from ..timer import Alarm
from .coordinator import NODE as COORDINATOR

NODE = "consumer"
LATEST, EARLIEST = -1, -2  # ListOffsets timestamps


class ConsumerFetch:
    """A FetchRequest from the consumer to one leader."""

    __slots__ = ("src", "parts", "max_records", "max_wait", "reply", "disconnect", "broker", "epoch", "done")

    def __init__(self, parts, max_records, max_wait, reply, disconnect, broker, epoch):
        self.done = False
        self.src = NODE
        self.parts = parts  # {p: fetch offset (or LATEST / EARLIEST)}
        self.max_records = max_records
        self.max_wait = max_wait
        self.reply = reply
        self.disconnect = disconnect
        self.broker = broker
        self.epoch = epoch


def consumer_settings(cfg) -> dict:
    commit = cfg["consumer.app.commit"]
    auto = bool(cfg["consumer.enable.auto.commit"])
    return {
        "auto_commit": auto and commit == "auto",
        "commit_sync": commit == "sync",
        "auto_commit_interval": cfg.seconds("consumer.auto.commit.interval.ms"),
        "reset": cfg["consumer.auto.offset.reset"],
        "max_poll_records": cfg["consumer.max.poll.records"],
        "fetch_max_wait": cfg.seconds("consumer.fetch.max.wait.ms"),
        "partition_max_records": max(1, cfg["consumer.max.partition.fetch.bytes"]
                                     // record_bytes(cfg["workload.message.bytes"])),
        "api_timeout": cfg.seconds("consumer.default.api.timeout.ms"),
        "request_timeout": cfg.seconds("consumer.request.timeout.ms"),
        "retry_backoff": cfg.seconds("consumer.retry.backoff.ms"),
        "record_time": cfg["consumer.app.record.processing.ms"] / 1000.0,
    }


class Consumer:
    """One KafkaConsumer instance in its poll loop."""

    def __init__(self, app: ConsumerApp, incarnation: int):
        self.app = app
        self.env = app.env
        self.network = app.network
        self.ledger = app.ledger
        self.s = app.settings
        self.incarnation = incarnation
        self.alive = True
        self.closing = False
        self.closed = self.env.event()
        n = app.partitions
        self.positions: list[int | None] = [None] * n
        self.fetch_pos: list[int | None] = [None] * n
        self.buffer: list[deque] = [deque() for _ in range(n)]
        self.fetching: set[int] = set()  # brokers with a fetch outstanding
        self.alarm = Alarm(self.env)
        self.token = 0
        self.replies: dict[int, object] = {}
        self.processing = None  # (start, records, per-record time) while processing a poll
        self.next_auto_commit = math.inf
        self.stats = app.stats
        self.metadata = ClientMetadata(self.env, self.network, NODE, app.brokers, n, self.s["retry_backoff"],
                                       self.alarm.notify)
        self.deadlines = DeadlineQueue(self.env)
        self.env.process(self._run())

    # -- the poll loop -------------------------------------------------------------------
    def _run(self):
        committed = yield from self._request(self._send_offset_fetch, self.s["api_timeout"])
        if not self.alive:
            return
        committed = committed or {}
        for p in range(len(self.positions)):
            if p in committed:
                self.positions[p] = self.fetch_pos[p] = committed[p]
            else:
                self.fetch_pos[p] = LATEST if self.s["reset"] == "latest" else EARLIEST
                if self.s["reset"] == "none":
                    self.fetch_pos[p] = None
        self.next_auto_commit = self.env.now + self.s["auto_commit_interval"]
        while self.alive:
            if self.s["auto_commit"] and self.env.now >= self.next_auto_commit:
                self.commit_async()
                self.next_auto_commit = self.env.now + self.s["auto_commit_interval"]
            records = self._take(self.s["max_poll_records"])
            if not self.closing:
                self._send_fetches()  # prefetch while the application processes
            if not records:
                if self.closing and self._caught_up_locally():
                    break
                wake = self.next_auto_commit if self.s["auto_commit"] else math.inf
                yield self.alarm.wait(min(wake, self.env.now + 1.0))
                continue
            yield from self._process(records)
            if self.alive and self.s["commit_sync"]:
                yield from self._commit_sync()
        if self.alive:
            yield from self._close()

    def _take(self, limit: int):
        """Records for this poll; positions move past them now."""
        out = []
        for p, buf in enumerate(self.buffer):
            while buf and limit > 0:
                batch, lo, hi = buf[0]
                n = min(hi - lo, limit)
                out.append((p, batch, lo, lo + n))
                if lo + n < hi:
                    buf[0] = (batch, lo + n, hi)
                else:
                    buf.popleft()
                limit -= n
                self.positions[p] = batch.base + lo + n
            if limit == 0:
                break
        return out

    def _process(self, records):
        n = sum(hi - lo for _p, _b, lo, hi in records)
        t = self.s["record_time"]
        self.processing = (self.env.now, records, t)
        if t > 0:
            yield self.env.timeout(n * t)
        if self.alive:
            self.processing = None
            self._mark(records, n)

    def _mark(self, records, k: int) -> None:
        """The application finished the first k records of this poll (side effects done)."""
        ledger = self.ledger
        for _p, batch, lo, hi in records:
            if k <= 0:
                break
            take = min(hi - lo, k)
            ids = ids_sub(batch.ids, lo, lo + take)
            for s in ids:
                self.stats["redeliveries"] += int((ledger.processed[s] > 0).sum())
            ledger.mark_processed(ids)
            self.stats["records_processed"] += take
            k -= take

    # -- fetching --------------------------------------------------------------------------
    def _send_fetches(self) -> None:
        by_broker: dict[int, dict] = {}
        leaders = self.metadata.leaders
        for p, pos in enumerate(self.fetch_pos):
            if pos is None or self.buffer[p]:
                continue
            leader = leaders[p]
            if leader is None:
                self.metadata.request_update()
                continue
            if leader in self.fetching:
                continue
            by_broker.setdefault(leader, {})[p] = pos
        for b, parts in sorted(by_broker.items()):
            broker = self.app.brokers[b]
            self.fetching.add(b)
            req = ConsumerFetch(parts, self.s["partition_max_records"], self.s["fetch_max_wait"],
                                self._on_fetch, self.on_disconnect, b, self.incarnation)
            self.network.send(NODE, broker.node, broker.on_consumer_fetch, req)
            self.deadlines.add(self.env.now + self.s["request_timeout"], self._fetch_timed_out, req)

    def _fetch_timed_out(self, req) -> None:
        if self.alive and not req.done:
            req.done = True
            self.fetching.discard(req.broker)
            self.metadata.request_update()
            self.alarm.notify()

    def on_disconnect(self, broker_id: int) -> None:
        if self.alive:
            self.fetching.discard(broker_id)
            self.metadata.request_update()
            self.alarm.notify()

    def _on_fetch(self, req, resp) -> None:
        if not self.alive or req.done:
            return
        req.done = True
        self.fetching.discard(req.broker)
        for p, result in sorted(resp.items()):
            if req.parts[p] != self.fetch_pos[p]:
                continue  # the position moved meanwhile (reset): stale data
            kind = result[0]
            if kind == "data":
                chunks = result[1]
                if chunks:
                    self.buffer[p].extend(chunks)
                    last = chunks[-1]
                    self.fetch_pos[p] = last[0].base + last[2]
            elif kind == "reset":
                self.fetch_pos[p] = self.positions[p] = result[1]
            elif result[1] == P.OFFSET_OUT_OF_RANGE:
                self._reset_out_of_range(p, result[2])
            else:
                self.metadata.invalidate(p)
        self.alarm.notify()

    def _reset_out_of_range(self, p: int, log_end: int) -> None:
        """auto.offset.reset after truncation or an unclean election moved the log end back."""
        self.stats["offset_resets"] += 1
        self.buffer[p].clear()
        reset = self.s["reset"]
        if reset == "none":
            self.fetch_pos[p] = None  # NoOffsetForPartitionException: this partition stops
            return
        self.fetch_pos[p] = LATEST if reset == "latest" else EARLIEST

    def _caught_up_locally(self) -> bool:
        return not any(self.buffer) and not self.fetching

    # -- commits ----------------------------------------------------------------------------
    def _current_offsets(self) -> dict:
        return {p: pos for p, pos in enumerate(self.positions) if pos is not None and pos >= 0}

    def commit_async(self) -> None:
        """commitAsync(): fire and forget; a lost commit is covered by the next one."""
        self.token += 1
        self.stats["commits_sent"] += 1
        self.network.send(NODE, COORDINATOR, self.app.coordinator.on_offset_commit, NODE, self.token,
                          self._current_offsets(), self._on_reply)

    def _commit_sync(self):
        offsets = self._current_offsets()

        def send(token):
            self.stats["commits_sent"] += 1
            self.network.send(NODE, COORDINATOR, self.app.coordinator.on_offset_commit, NODE, token, offsets,
                              self._on_reply)
        result = yield from self._request(send, self.s["api_timeout"])
        if result is _TIMED_OUT:
            self.stats["commits_failed"] += 1

    def _send_offset_fetch(self, token) -> None:
        self.network.send(NODE, COORDINATOR, self.app.coordinator.on_offset_fetch, NODE, token, self._on_reply)

    def _request(self, send, total_timeout: float):
        """Send, wait for the reply, resend after request.timeout.ms, give up after total_timeout."""
        env = self.env
        give_up = env.now + total_timeout
        while self.alive and env.now < give_up:
            self.token += 1
            token = self.token
            send(token)
            deadline = min(give_up, env.now + self.s["request_timeout"])
            while self.alive and token not in self.replies and env.now < deadline:
                yield self.alarm.wait(deadline)
            if token in self.replies:
                return self.replies.pop(token)
        return _TIMED_OUT

    def _on_reply(self, token, value) -> None:
        if self.alive:
            self.replies[token] = value
            self.alarm.notify()

    def _close(self):
        """close(): with auto commit, a final synchronous commit of the positions."""
        if self.s["auto_commit"] or self.s["commit_sync"]:
            yield from self._commit_sync()
        self.alive = False
        self.metadata.stop()
        self.deadlines.active = False
        self.closed.succeed()

    # -- failures -----------------------------------------------------------------------------
    def crash(self) -> None:
        if not self.alive:
            return
        self.alive = False
        if self.processing is not None:
            start, records, t = self.processing
            self._mark(records, int((self.env.now - start) / t + 1e-9))  # t > 0 whenever a crash can interrupt
            self.processing = None
        self.metadata.stop()
        self.deadlines.active = False
        self.deadlines.clear()
        self.alarm.notify()
        if not self.closed.triggered:
            self.closed.succeed()


class _TimedOut:
    pass


_TIMED_OUT = _TimedOut()


class ConsumerApp(ClientApp):
    """The consuming application: one consumer group member, restarted after crashes."""

    def __init__(self, env, cfg, network, brokers, coordinator, ledger):
        super().__init__(env)
        self.network = network
        self.brokers = brokers
        self.coordinator = coordinator
        self.ledger = ledger
        self.settings = consumer_settings(cfg)
        self.partitions = cfg["topic.partitions"]
        self.stats = {"records_processed": 0, "redeliveries": 0, "commits_sent": 0, "commits_failed": 0,
                      "offset_resets": 0, "restarts": 0}
        self.start()

    def new_client(self, instance: int) -> Consumer:
        return Consumer(self, instance)

    def restart(self) -> None:
        if not self.up:
            self.stats["restarts"] += 1
            self.start()

    def caught_up(self, high_watermarks) -> bool:
        """Every partition consumed and processed up to the given HWs."""
        c = self.client
        if c is None or not c.alive or c.processing is not None:
            return False
        return all(c.positions[p] is not None and c.positions[p] >= hw and not c.buffer[p]
                   for p, hw in enumerate(high_watermarks))

    def close(self):
        c = self.client
        if c is None or not c.alive:
            ev = self.env.event()
            ev.succeed()
            return ev
        c.closing = True
        c.alarm.notify()
        return c.closed

    def position(self, p: int):
        c = self.client
        return None if c is None else c.positions[p]
