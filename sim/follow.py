"""Follow a handful of messages through one run: every stage each one passes, and its fate.

An opt-in probe (like the replica timeline): `MessageTracer(cluster, ids)` wraps, on this cluster's
own objects only, the methods a message's batch passes through -- the ledger (send(), ack, failure,
processing, re-send), the network (ProduceRequest, its response, a consumer's fetch, an offset commit
and its answer), every replica log (leader and follower appends, the leader's HW), the brokers'
removals (truncation, power loss, disk failure) and Kafka's fsyncs -- and notes a Step whenever a
followed id is in the batch. The wrappers only read and call the original, so the run is the one an
unfollowed run gives; without a tracer nothing is wrapped and nothing costs anything.

After the run each followed message is a Journey: its steps in time order, its outcome class, cause
and stage (the ledger's own classification, `Outcome.explain`), and `story()` tells it as text.
Kafka counterparts: KafkaProducer.send, RecordAccumulator.append/drain, Sender, UnifiedLog.append,
Partition.maybeIncrementLeaderHW, the log flusher and the OS write-back, KafkaConsumer.poll,
commitSync/commitAsync.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import protocol as P
from .ledger import CLASSES, FAIL_CAUSES, GONE_DISK, GONE_POWER_LOSS, GONE_TRUNCATED, GONE_UNCLEAN
from .plots.story import fault_text

LANES = ("application", "accumulator", "sender")  # then one lane per broker, then these
LATE_LANES = ("disk", "consumer", "commits")
WHY = {GONE_POWER_LOSS: "power loss (page cache lost)", GONE_TRUNCATED: "truncated to offset {offset}",
       GONE_UNCLEAN: "truncated to offset {offset}, after an unclean election", GONE_DISK: "disk failure"}
CAUSE_WORDS = {"ok": "acknowledged and processed once", "dup_log": "written to the log twice",
               "dup_redelivery": "processed again after a redelivery",
               "false_failure": "the producer reported a failure, but it was written and processed",
               "in_doubt": "the producer never learned its fate, but it was written and processed",
               "lost_storage": "acknowledged, then gone from every replica",
               "lost_skipped": "acknowledged and in the log, but the group committed past it unprocessed",
               "producer_crash": "the producer crashed holding it",
               "pending_at_end": "still waiting in the producer at the end",
               "not_consumed": "in the log, never processed"}


def broker_lane(broker_id: int) -> str:
    return f"broker {broker_id}"


@dataclass(frozen=True)
class Step:
    """One thing that happened to a followed message."""

    t: float
    lane: str  # "application", "accumulator", "sender", "broker N", "disk", "consumer", "commits"
    kind: str  # send, batch, request, response, append (leader), copy (follower), hw, ack, fail, removed, durable,
    # fetch, processed, commit, committed, commit_failed
    text: str


@dataclass
class Journey:
    """A followed message: its steps and, after the run, its fate."""

    id: int
    steps: list[Step] = field(default_factory=list)
    partition: int | None = None
    outcome: str = ""
    cause: str = ""
    stage: str | None = None
    gone: str = ""  # for a lost acknowledged message: why its copies left the logs
    resent_as: list[int] = field(default_factory=list)
    copies: int = -1  # copies in the final log (below the HW), -1: not classified

    def add(self, at: float, lane: str, kind: str, text: str) -> None:
        self.steps.append(Step(float(at), lane, kind, text))

    @property
    def fate(self) -> str:
        """The label of its fate: class, cause (and the stage it is blamed on)."""
        detail = f"{self.cause}: {self.gone}" if self.gone else self.cause
        stage = f", {self.stage} stage" if self.stage else ""
        phantom = ", not in the final log" if self.copies == 0 and self.outcome in ("delivered", "duplicated") else ""
        return f"{self.outcome} ({detail}{stage}{phantom})"

    def story(self, happenings=()) -> str:
        """The message's story as text: time, stage, what happened; faults in between; its fate."""
        lines = [f"message {self.id}" + (f" (partition {self.partition})" if self.partition is not None else "")]
        rows = [(s.t, s.lane, s.text) for s in self.steps]
        if rows:
            lo, hi = rows[0][0], rows[-1][0]
            for at, end, lane, text, partition in happenings:
                during = lo <= at <= hi or (at < lo and end is not None and end >= lo)  # (a fault still going on)
                if during and partition in (None, self.partition):
                    rows.append((at, lane, text))
        for at, lane, text in sorted(rows, key=lambda r: r[0]):
            lines.append(f"  {at:>10.4f} s  {lane:<12} {text}")
        lines.append(f"  outcome: {self.fate}")
        lines.append(f"           {CAUSE_WORDS.get(self.cause, FAIL_CAUSES_WORDS.get(self.cause, self.cause))}")
        if self.copies >= 0:
            lines.append(f"           copies in the final log: {self.copies}"
                         + (" (processed, then every copy was removed: a phantom read)"
                            if self.copies == 0 and self.outcome in ("delivered", "duplicated") else ""))
        return "\n".join(lines) + "\n"


FAIL_CAUSES_WORDS = {name: f"send failed: {name.replace('_', ' ')}" for name in FAIL_CAUSES if name}


def _position(ids, target: int) -> int | None:
    """Position of message `target` among a batch's ids (a tuple of slices), None if absent."""
    pos = 0
    for part in ids:
        if part.start <= target < part.stop:
            return pos + target - part.start
        pos += part.stop - part.start
    return None


class MessageTracer:
    """Follows `ids` through one cluster's run (attach before it runs)."""

    def __init__(self, cluster, ids):
        self.cluster = cluster
        self.journeys: dict[int, Journey] = {int(mid): Journey(int(mid)) for mid in ids}
        self.follow: dict[int, Journey] = dict(self.journeys)  # attempt id -> journey (re-sends added)
        self.offsets: dict[tuple[int, int], int] = {}  # (broker, id) -> offset in that broker's log
        self.hw_seen: set[tuple[int, int]] = set()
        self.fetched: dict[int, tuple[int, int]] = {}  # id -> (partition, offset) the consumer read it at
        self.committed: set[int] = set()  # journeys (by id) a stored commit covers
        self.pending_commits: dict = {}  # OffsetCommit request -> the ids it covers
        self.batched: set[int] = set()  # ids whose batch is noted
        self.copies: dict[tuple[int, int], float] = {}  # (broker, id) -> when written (waiting to be durable)
        self.durable: dict[tuple[int, int], tuple[float, str]] = {}  # Kafka fsyncs seen
        self.removed_at: dict[tuple[int, int], float] = {}
        self.faults: list[tuple[float, float | None, str]] = []  # (start, end or None, label)
        self.leaders: dict[int, list[tuple[float, int | None]]] = {}  # partition -> (from, leader)
        self.outcome = None
        self._in_truncate = False
        self._install()

    # -- the seams -------------------------------------------------------------------------
    def _install(self) -> None:
        cluster = self.cluster
        ledger = cluster.ledger
        for name in ("allocate", "resend", "ack", "fail_send", "mark_crashed", "mark_processed", "classify"):
            setattr(ledger, name, self._wrap(getattr(ledger, name), getattr(self, f"_on_{name}")))
        net = cluster.network
        net.send = self._wrap(net.send, self._on_net_send)
        net._arrive = self._wrap(net._arrive, self._on_arrive)
        for broker in cluster.brokers:
            broker.forget_removed = self._wrap(broker.forget_removed, self._removed_hook(broker))
            broker.page_cache._flush = self._wrap(broker.page_cache._flush, self._flush_hook(broker))
            for partition, log in broker.logs.items():
                log.append = self._wrap(log.append, self._append_hook(broker, partition, log))
                log.advance_hw = self._wrap(log.advance_hw, self._hw_hook(broker, partition))
                log.truncate_to = self._truncating(log.truncate_to)
        for partition in range(len(cluster.assignment)):
            self.leaders[partition] = [(cluster.env.now, cluster.controller.leader_of(partition))]
        cluster.trace.listeners.append(self._on_event)

    @staticmethod
    def _wrap(original, after):
        def wrapped(*args, **kwargs):
            out = original(*args, **kwargs)
            after(out, *args, **kwargs)
            return out
        return wrapped

    def _truncating(self, original):
        def wrapped(*args):
            self._in_truncate = True  # a partial batch kept is appended again: not a new write
            try:
                return original(*args)
            finally:
                self._in_truncate = False
        return wrapped

    def _add(self, journey: Journey, mid: int, at: float, lane: str, kind: str, text: str) -> None:
        """A step of `journey` that concerns attempt `mid` (named when it is a re-send)."""
        journey.add(at, lane, kind, text if mid == journey.id else f"{text} [re-sent as {mid}]")

    def _hits(self, ids):
        """(journey, id, position in ids) for every followed id in a batch's ids."""
        out = []
        for mid, journey in self.follow.items():
            pos = _position(ids, mid)
            if pos is not None:
                out.append((journey, mid, pos))
        return out

    @property
    def now(self) -> float:
        return self.cluster.env.now

    # ledger
    def _on_allocate(self, ids, send_times) -> None:
        for journey, mid, pos in self._hits((ids,)):
            if mid in self.journeys:
                self._add(journey, mid, send_times[pos], "application", "send", "send(): handed to the producer")

    def _on_resend(self, new, ids, at) -> None:
        for journey, mid, pos in self._hits(ids):
            again = new.start + pos
            journey.resent_as.append(again)
            self.follow[again] = journey
            self._add(journey, mid, at, "application", "send", f"the application sends it again (as message {again})")

    def _on_ack(self, _out, ids, at) -> None:
        how = "written to the socket (acks=0): the callback sees success" \
            if self.cluster.cfg.settings.producer.acks == "0" else "acknowledged: the callback sees success"
        for journey, mid, _pos in self._hits(ids):
            self._add(journey, mid, at, "sender", "ack", how)

    def _on_fail_send(self, _out, ids, seen, cause) -> None:
        for journey, mid, _pos in self._hits(ids):
            how = "the callback sees the exception" if seen else "nobody checks the callback"
            self._add(journey, mid, self.now, "sender", "fail", f"send failed ({FAIL_CAUSES[cause]}): {how}")

    def _on_mark_crashed(self, _out, ids) -> None:
        for journey, mid, _pos in self._hits(ids):
            self._add(journey, mid, self.now, "sender", "fail", "the producer process crashes holding it")

    def _on_mark_processed(self, _out, ids, times=None) -> None:
        for journey, mid, pos in self._hits(ids):
            at = times[pos] if times is not None else self.now
            again = " again" if any(s.kind == "processed" for s in journey.steps) else ""
            self._add(journey, mid, at, "consumer", "processed", f"the application finishes processing it{again}")

    def _on_classify(self, outcome, *_args) -> None:
        self.outcome = outcome

    # network
    def _on_net_send(self, _ok, src, dst, target, message) -> None:
        kind = message.__class__
        if kind is P.ProduceRequest:
            for wire in message.batches:
                for journey, mid, _pos in self._hits(wire.ids):
                    batch = wire.batch
                    journey.partition = wire.partition
                    if mid not in self.batched:
                        self.batched.add(mid)
                        sent = self.cluster.ledger.send_t[mid]
                        self._add(journey, mid, max(sent, batch.created), "accumulator", "batch",
                                    f"appended to a batch for partition {wire.partition}")
                    attempt = f" (attempt {batch.attempts + 1})" if batch.attempts else ""
                    records = f"{wire.count} record{'s' if wire.count != 1 else ''}"
                    self._add(journey, mid, self.now, "sender", "request",
                                f"drained, {records}, ProduceRequest to broker {message.broker}{attempt}")
        elif kind is P.OffsetCommit and message.offsets:
            covered = [mid for mid, (partition, off) in self.fetched.items()
                       if self.follow[mid].id not in self.committed and message.offsets.get(partition, -1) > off]
            if covered:
                self.pending_commits[message] = covered
                for mid in covered:
                    journey = self.follow[mid]
                    last = next((s for s in reversed(journey.steps) if s.lane == "commits"), None)
                    if last is not None and last.kind == "commit":
                        continue  # sent again, the earlier one unanswered: one step says it
                    partition = self.fetched[mid][0]
                    self._add(journey, mid, self.now, "commits", "commit",
                              f"commit sent: offset {message.offsets[partition]} of partition {partition} (covers it)")

    def _on_arrive(self, _out, msg) -> None:
        _sent, _src, dst, _target, message, _inc = msg
        kind = message.__class__
        if kind is P.ProduceResponse:
            req = message.request
            for wire, err in zip(req.batches, message.results, strict=True):
                if err is not None:
                    for journey, mid, _pos in self._hits(wire.ids):
                        self._add(journey, mid, self.now, "sender", "response", f"ProduceResponse: {err}")
        elif kind is P.ConsumerFetchResponse:
            for partition, result in message.parts.items():
                if result.__class__ is not P.ConsumerRecords:
                    continue
                for batch, lo, hi in result.chunks:
                    for journey, mid, pos in self._hits(batch.ids):
                        if lo <= pos < hi:
                            self.fetched[mid] = (partition, batch.base + pos)
                            self._add(journey, mid, self.now, "consumer", "fetch",
                                        f"fetched by {dst} from broker {message.request.broker} "
                                        f"(offset {batch.base + pos})")
        elif kind is P.GroupResponse and message.request.__class__ is P.OffsetCommit:
            covered = self.pending_commits.pop(message.request, ())
            for mid in covered:
                journey = self.follow[mid]
                if journey.id in self.committed:
                    continue  # another attempt of it, or another commit, got there first
                if message.error is None:
                    self.committed.add(journey.id)
                    self._add(journey, mid, self.now, "commits", "committed",
                              "the commit is stored: the group is past it")
                else:
                    self._add(journey, mid, self.now, "commits", "commit_failed", f"the commit fails: {message.error}")

    # brokers
    def _append_hook(self, broker, partition, log):
        def after(_out, batch, now):
            if self._in_truncate:
                return
            for journey, mid, pos in self._hits(batch.ids):
                journey.partition = partition
                offset = batch.base + pos
                self.offsets[(broker.id, mid)] = offset
                self.hw_seen.discard((broker.id, mid))
                self.copies[(broker.id, mid)] = now
                self.removed_at.pop((broker.id, mid), None)
                if partition in broker.leading:
                    self._add(journey, mid, now, broker_lane(broker.id), "append",
                                f"leader broker {broker.id} appends it at offset {offset} (epoch {batch.epoch})")
                else:
                    self._add(journey, mid, now, broker_lane(broker.id), "copy",
                                f"follower broker {broker.id} copies it, offset {offset} (epoch {batch.epoch})")
        return after

    def _hw_hook(self, broker, partition):
        def after(_out, hw):
            for (bid, mid), offset in self.offsets.items():
                if bid == broker.id and offset < hw and (bid, mid) not in self.hw_seen \
                        and self.follow[mid].partition == partition:
                    self.hw_seen.add((bid, mid))
                    self._add(self.follow[mid], mid, self.now, broker_lane(bid), "hw",
                                       f"the leader's HW passes it (HW {hw}): committed, readable")
        return after

    def _removed_hook(self, broker):
        def after(_out, partition, removed, why, event, offset):
            for batch in removed:
                for journey, mid, _pos in self._hits(batch.ids):
                    self.removed_at[(broker.id, mid)] = self.now
                    self.offsets.pop((broker.id, mid), None)
                    self._add(journey, mid, self.now, broker_lane(broker.id), "removed",
                              f"removed from broker {broker.id}'s log: {WHY.get(why, event).format(offset=offset)}")
        return after

    def _flush_hook(self, broker):
        def after(_out, log, offset, now):
            done = now + broker.page_cache.fsync
            for bid, mid in self.copies:
                if bid == broker.id and self.offsets.get((bid, mid), math.inf) < offset \
                        and (bid, mid) not in self.durable and broker.logs.get(self.follow[mid].partition) is log:
                    self.durable[(bid, mid)] = (done, "Kafka fsync")
        return after

    def _on_event(self, event) -> None:
        kind = event[1]
        if kind == "fault":
            self.faults.append((event[0], self._fault_end(event), fault_text(event, self.cluster.cfg)))
        elif kind == "leader":
            self.leaders.setdefault(event.partition, []).append((event[0], event.leader))
        elif kind == "heal_all":
            self.faults.append((event[0], None, "production ends: faults healed"))

    def _fault_end(self, event) -> float | None:
        for fault in self.cluster.faults.faults:
            if abs(fault.at - event[0]) < 1e-9 and fault.action == event.action and fault.target == event.target:
                return None if fault.duration is None else min(fault.at + fault.duration, self.cluster.end)
        return None

    # -- after the run ---------------------------------------------------------------------
    def finish(self) -> list[Journey]:
        """Durable steps, outcome classes; the journeys in the order they were asked for."""
        cluster = self.cluster
        end = cluster.env.now
        for (bid, mid), written in self.copies.items():
            at, how = self._durable_at(cluster.brokers[bid], written)
            if (bid, mid) in self.durable and self.durable[(bid, mid)][0] <= at:
                at, how = self.durable[(bid, mid)]
            gone = self.removed_at.get((bid, mid), math.inf)
            if at <= min(end, gone) and mid in self.follow:
                self._add(self.follow[mid], mid, at, "disk", "durable", f"on broker {bid}'s disk ({how})")
        ledger = cluster.ledger
        for journey in self.journeys.values():
            journey.steps.sort(key=lambda s: s.t)
            if self.outcome is not None and journey.id < ledger.n:  # (an id never sent has no fate)
                index = self._logical(journey.id)
                journey.outcome, journey.cause, journey.stage = self.outcome.explain(index)
                journey.copies = int(self.outcome.w[index])
                if journey.outcome == "lost_acked" and journey.cause == "lost_storage":
                    journey.gone = self.outcome.why_missing(index).replace("_", " ")
        return list(self.journeys.values())

    def _durable_at(self, broker, written: float) -> tuple[float, str]:
        """When a write at `written` reaches the disk: Kafka's periodic flush or the OS write-back."""
        cache = broker.page_cache
        best, how = math.inf, ""
        period = cache._kafka_flush_period()
        if period < math.inf:
            since = broker.up_since
            at = since + math.ceil((written + cache.fsync - since) / period) * period
            best, how = at, "log.flush.interval.ms"
        wb = cache.writeback_period
        if 0 < wb < math.inf:
            at = math.ceil((written + cache.dirty_expire) / wb) * wb
            if at < best:
                best, how = at, "OS write-back"
        return best, how

    def _logical(self, mid: int) -> int:
        """The outcome's index of message mid (logical messages when the application re-sent some)."""
        ledger = self.cluster.ledger
        if not ledger.resent:
            return mid
        origin = ledger.origin[:ledger.n]
        first = np.flatnonzero(origin < 0)
        root = mid if origin[mid] < 0 else int(origin[mid])
        return int(np.searchsorted(first, root))

    def happenings(self) -> list[tuple[float, float | None, str, str, int | None]]:
        """Faults ("fault", partition None) and the followed partitions' elections ("controller") as
        (time, end or None, lane, text, partition)."""
        out = [(at, end, "fault", text, None) for at, end, text in self.faults]
        parts = {j.partition for j in self.journeys.values() if j.partition is not None}
        for partition in sorted(parts):
            for at, leader in self.leaders.get(partition, [])[1:]:
                who = "no leader: offline" if leader is None else f"broker {leader} becomes leader"
                out.append((at, None, "controller", f"partition {partition}: {who}", partition))
        return sorted(out, key=lambda h: h[0])

    def lanes(self) -> list[str]:
        """The swimlanes, top to bottom: producer, the brokers of the followed partitions, disk, consumer."""
        parts = {j.partition for j in self.journeys.values() if j.partition is not None} or {0}
        brokers = sorted({bid for p in parts for bid in self.cluster.assignment[p]})
        return [*LANES, *(broker_lane(bid) for bid in brokers), *LATE_LANES]


@dataclass
class Followed:
    """A run with followed messages: its RunResult, the journeys, faults, leaders and lanes."""

    result: object
    journeys: list[Journey]
    faults: list[tuple[float, float | None, str]]
    leaders: dict[int, list[tuple[float, int | None]]]
    lanes: list[str]
    happenings: list[tuple[float, float | None, str, str, int | None]]
    timeline: object = None  # a ReplicaTimeline of partition 0 when asked for (run_followed(timeline=True))

    def story(self) -> str:
        """Every followed message's story, one after the other."""
        sent = self.result["sent"] + self.result["producer"]["resends"]
        return "".join((j.story(self.happenings) if j.steps else
                        f"message {j.id}: never sent (this run sent messages 0 to {sent - 1})\n") + "\n"
                       for j in self.journeys)

    def journey(self, mid: int) -> Journey:
        return next(j for j in self.journeys if j.id == mid)

    def __repr__(self) -> str:
        fates = "; ".join(f"{j.id}: {j.fate}" if j.steps else f"{j.id}: never sent" for j in self.journeys)
        return f"<Followed messages {fates}>"

    def _repr_html_(self) -> str:
        """What Jupyter shows: the stories."""
        import html
        return f"<pre>{html.escape(self.story())}</pre>"

    def swimlane(self, title: str = ""):
        """The swimlane picture of these messages (sim.plots.swimlane)."""
        from .plots.swimlane import swimlane
        return swimlane(self, title=title)


def _arrivals(cfg, times):
    """Scripted send times (seconds) as an ArrivalStream, or None for the workload's own."""
    if times is None:
        return None
    from .workload import ArrivalStream
    return ArrivalStream.from_times(times, end=cfg.seconds("workload.duration"))


def run_followed(cfg, ids, times=None, timeline: bool = False) -> Followed:
    """One replication following `ids` -> Followed; its result is the one run_once gives.
    times: scripted send times instead of the workload's Poisson ones (timeline tests);
    timeline: also record partition 0's replica timeline (Followed.timeline)."""
    from .run import drain_and_classify, start

    started = time.perf_counter()
    cluster = start(cfg, arrivals=_arrivals(cfg, times))
    bad = [mid for mid in ids if not 0 <= int(mid) < cluster.ledger.MAX_MESSAGES]
    if bad:
        raise ValueError(f"message id {bad[0]}: not a message id")
    tracer = MessageTracer(cluster, ids)
    probe = None
    if timeline:
        from .timeline import ReplicaTimeline
        probe = ReplicaTimeline(cluster, 0, max(0.01, cfg.seconds("workload.duration") / 400))
    result = drain_and_classify(cluster, started)
    journeys = tracer.finish()
    return Followed(result, journeys, tracer.faults, tracer.leaders, tracer.lanes(), tracer.happenings(), probe)


def classes_of(cfg, times=None) -> tuple[object, np.ndarray, np.ndarray, np.ndarray]:
    """One replication -> (RunResult, outcome class per message id, send times, copies in the final log):
    for picking ids."""
    from .run import drain_and_classify, start

    cluster = start(cfg, arrivals=_arrivals(cfg, times))
    captured = {}
    classify = cluster.ledger.classify

    def capture(*args):
        captured["outcome"] = out = classify(*args)
        return out
    cluster.ledger.classify = capture
    result = drain_and_classify(cluster, time.perf_counter())
    ledger = cluster.ledger
    cls, copies = captured["outcome"].cls, captured["outcome"].w
    if ledger.resent:  # per attempt: the class of its logical message
        origin = ledger.origin[:ledger.n]
        first = np.flatnonzero(origin < 0)
        root = np.searchsorted(first, np.where(origin < 0, np.arange(ledger.n), origin))
        cls = np.where(origin < 0, cls[root], -1)
        copies = copies[root]
    return result, cls, ledger.send_t[:ledger.n].copy(), copies


PREFERRED = ("lost_acked", "duplicated", "failed_visible", "failed_silent", "lost_unacked", "unconsumed")


def pick_ids(cls: np.ndarray, send_t: np.ndarray, copies: np.ndarray | None = None, how_many: int = 3,
             near: float | None = None) -> list[int]:
    """Default messages to follow: the first of the worst class present (lost before duplicated ...;
    a phantom read -- processed, then gone from the log -- after those), then one of each other class
    present, and a delivered one, each the one sent nearest in time to the first (so their journeys
    share a picture). With nothing but delivered messages: the one sent nearest to `near` (a fault)."""
    delivered = cls == CLASSES.index("delivered")
    masks = {name: cls == CLASSES.index(name) for name in PREFERRED}
    if copies is not None:
        masks["phantom"] = delivered & (copies == 0)
        delivered = delivered & (copies > 0)
    masks["delivered"] = delivered
    present = [name for name in (*PREFERRED[:2], "phantom", *PREFERRED[2:]) if name in masks and masks[name].any()]
    wanted = present[:how_many - 1] + ["delivered"]
    out: list[int] = []
    anchor = near if wanted == ["delivered"] else None
    for name in wanted:
        candidates = np.flatnonzero(masks[name])
        if not len(candidates):
            continue
        if anchor is None:
            pick = int(candidates[0])
            anchor = send_t[pick]
        else:
            pick = int(candidates[np.argmin(np.abs(send_t[candidates] - anchor))])
        out.append(pick)
    return out[:how_many]


def follow(cfg, ids=None, times=None, timeline: bool = False) -> Followed:
    """Follow `ids` (None: pick a lost, a duplicated and a delivered one, when present) -> Followed.
    Picking runs the replication twice (the same seed: the same run)."""
    if ids is None:
        _result, cls, send_t, copies = classes_of(cfg, times)
        ids = pick_ids(cls, send_t, copies, near=min((f.at for f in cfg.faults), default=None))
    return run_followed(cfg, ids, times, timeline)


def follow_named(name: str, which: str = "unsafe", ids=None, sets=(), seed=None) -> Followed:
    """Follow messages in a named scenario's variant ("unsafe" or "safe"), with its scripted sends."""
    from .scenarios.named import lookup, variant_config

    scenario = lookup(name)
    return follow(variant_config(scenario, which, sets, seed), ids, scenario.sends)
