"""Ledger: the ground truth about every message, kept in numpy arrays indexed by message id.

It has no process of its own. Components report what happened to ranges of messages
(a batch's ids, a poll's records); after the drain phase `classify` gives each message
exactly one of the outcome classes (outcomes.py), with a cause and a stage.

Message ids are handed out in send() order (per partition and catch-up for keyed sends). A
batch holds its ids as a tuple of `slice` objects (usually one), so every update is a slice
assignment, never a loop over records.

An application re-send (producer.app.resend) is a new send with new ids that repeat the same
logical message (`origin`). The outcome classes count logical messages: copies in the log and
times processed add up over every attempt, and the producer result is that of the last
attempt -- so a false failure re-sent and written twice is `duplicated` (dup_log), and the
classes still add up to the messages the application meant to send.
"""

from __future__ import annotations

import numpy as np

from .ids import Ids, ids_count
from .outcomes import (CLASSES, F_PRODUCER_CRASH, FAIL_CAUSES, GONE_CAUSES, P_ACK, P_NACK_SEEN, P_NACK_UNSEEN, P_NONE,
                       STAGES)


class Ledger:
    """Per-message arrays: producer result, times, consumer completions."""

    def __init__(self, expected: int = 1024):
        size = max(1024, int(expected))
        self.n = 0
        self.p = np.zeros(size, np.int8)
        self.fail = np.zeros(size, np.int8)
        self.send_t = np.zeros(size, np.float64)
        # times after the send, kept as float32 delays (4 bytes a message less each): relative
        # precision 6e-8, so a 10 ms delay is exact to a nanosecond and a 100 s one to 8 us, where
        # float32 absolute times would lose milliseconds after a few hours of simulated time
        self.ack_dt = np.empty(size, np.float32)  # acknowledged at send_t + ack_dt (NaN: never)
        self.processed = np.zeros(size, np.uint16)
        self.processed_dt = np.empty(size, np.float32)  # first processed at send_t + processed_dt (NaN: never)
        self.appended = np.zeros(size, np.bool_)  # ever appended to some leader's log
        self.gone = np.zeros(size, np.uint8)  # flags: why copies left replica logs (GONE_CAUSES bits)
        self.origin = np.empty(size, np.int32)  # application re-send: the logical message it repeats (-1: none)
        self.resent = 0  # re-send attempts
        # The arrays are sized for the messages expected, but memory is only touched for ids in
        # use: zeros come from untouched pages, and the NaN / -1 defaults are written a block
        # ahead of the ids handed out (a run that blocks sends many fewer messages than expected).
        self._filled = 0

    ARRAYS = ("p", "fail", "send_t", "ack_dt", "processed", "processed_dt", "appended", "gone", "origin")
    MAX_MESSAGES = 2**31 - 1  # ids fit the int32 `origin`

    @property
    def ack_t(self) -> np.ndarray:
        """When each message was acknowledged (NaN: never); a computed, read-only array."""
        messages = self.n
        return self.send_t[:messages] + self.ack_dt[:messages]

    @property
    def processed_t(self) -> np.ndarray:
        """When the consumer first finished processing each message (NaN: never); read-only."""
        messages = self.n
        return self.send_t[:messages] + self.processed_dt[:messages]

    def state_bytes_per_message(self) -> int:
        """Bytes of per-message arrays (what the benchmark reports)."""
        return sum(getattr(self, name).itemsize for name in self.ARRAYS)

    # -- growth ----------------------------------------------------------------------
    def allocate(self, send_times: np.ndarray) -> slice:
        """New ids for messages the application sent at `send_times`."""
        count = len(send_times)
        start = self.n
        end = start + count
        if end > self.MAX_MESSAGES:
            raise OverflowError(f"more than {self.MAX_MESSAGES} messages in one run")
        if end > self._filled:
            self._fill_defaults(end)
        self.send_t[start:end] = send_times
        self.n = end
        return slice(start, end)

    FILL = {"ack_dt": np.nan, "processed_dt": np.nan, "origin": -1}  # defaults other than zero
    FILL_BLOCK = 1 << 16

    def _fill_defaults(self, end: int) -> None:
        """Write the non-zero defaults up to `end` (and a block beyond), growing the arrays if needed."""
        if end > len(self.p):
            self._grow(end)
        stop = min(len(self.p), max(end, self._filled + self.FILL_BLOCK))
        for name, value in self.FILL.items():
            getattr(self, name)[self._filled:stop] = value
        self._filled = stop

    def _grow(self, need: int) -> None:
        size = max(need, 2 * len(self.p))
        keep = self._filled
        for name in self.ARRAYS:
            old = getattr(self, name)
            new = np.zeros(size, old.dtype) if name not in self.FILL else np.empty(size, old.dtype)
            new[:keep] = old[:keep]
            setattr(self, name, new)

    def resend(self, ids: Ids, at: float) -> slice:
        """The application sends these messages again at `at`: new ids, the same logical messages."""
        count = ids_count(ids)
        new = self.allocate(np.full(count, at))
        old = np.concatenate([np.arange(s.start, s.stop) for s in ids])
        root = self.origin[old]
        self.origin[new] = np.where(root < 0, old, root)
        self.resent += count
        return new

    # -- producer side ----------------------------------------------------------------
    def ack(self, ids: Ids, at: float) -> None:
        producer, ack_dt, send_t = self.p, self.ack_dt, self.send_t
        for span in ids:
            producer[span] = P_ACK
            np.subtract(at, send_t[span], out=ack_dt[span], casting="same_kind")  # no temporary array

    def fail_send(self, ids: Ids, seen: bool, cause: int) -> None:
        if not 0 < cause < len(FAIL_CAUSES):
            raise ValueError(f"unknown failure cause {cause}")
        code = P_NACK_SEEN if seen else P_NACK_UNSEEN
        for span in ids:
            self.p[span] = code
            self.fail[span] = cause

    def mark_crashed(self, ids: Ids) -> None:
        """The producer died holding these records (buffered or in flight); P stays NONE."""
        for span in ids:
            self.fail[span] = F_PRODUCER_CRASH

    def mark_gone(self, ids: Ids, flag: int) -> None:
        """Copies of these records left a replica's log (power loss, truncation, ...)."""
        for span in ids:
            self.gone[span] |= flag

    def clear_gone(self, ids: Ids) -> None:
        """A replica wrote these records again (re-replicated): earlier removals caused no loss; a loss
        from now on is named by the removals that come after."""
        for span in ids:
            self.gone[span] = 0

    def mark_appended(self, ids: Ids) -> None:
        for span in ids:
            self.appended[span] = True

    # -- consumer side ------------------------------------------------------------------
    def mark_processed(self, ids: Ids, times: np.ndarray | None = None) -> int:
        """The application finished these records; `times`: when, one per record (first time kept).
        Returns how many of them it had finished before (redeliveries)."""
        pos = 0
        again = 0
        processed, done_dt = self.processed, self.processed_dt
        for span in ids:
            before = processed[span]
            count = span.stop - span.start
            seen = int(np.count_nonzero(before))
            before += 1  # a view: updates the ledger in place
            if times is not None:
                delay = times[pos:pos + count] - self.send_t[span]
                if seen == 0:
                    done_dt[span] = delay
                elif seen < count:
                    done_dt[span] = np.where(before == 1, delay, done_dt[span])
                pos += count
            again += seen
        return again

    # -- end of run ---------------------------------------------------------------------
    def classify(self, final_logs, committed, other_replicas=None) -> Outcome:
        """Outcome per message from the final logs (below each final HW) and committed offsets.

        final_logs: {partition: iterable of (base_offset, ids) for the records below the HW}
        committed: {partition: offset the consumer group has committed (or its final position)}
        other_replicas: iterable of (base_offset, ids) of every record on the partitions' other replicas
        (only to tell why an acknowledged record is missing: a replica still holds it)
        """
        messages = self.n
        copies = np.zeros(messages + 1, np.int32)
        skipped_mark = np.zeros(messages + 1, np.int32)
        for part, chunks in final_logs.items():
            limit = committed.get(part, 0)
            for base, ids in chunks:
                pos = base
                for span in ids:
                    cnt = span.stop - span.start
                    copies[span.start] += 1
                    copies[span.stop] -= 1
                    below = min(cnt, max(0, limit - pos))  # records of this slice before the commit
                    if below:
                        skipped_mark[span.start] += 1
                        skipped_mark[span.start + below] -= 1
                    pos += cnt
        copies_in_log = np.cumsum(copies)[:messages]
        below = np.cumsum(skipped_mark)[:messages]
        held = self._held(other_replicas or ())
        view = self._logical(copies_in_log, below, held) if self.resent else None
        if view is not None:
            copies_in_log, below, held = view["w"], view["below"], view["held"]
        behind_commit = (copies_in_log > 0) & (below == copies_in_log)  # the commit is past every copy
        return Outcome(self, copies_in_log, behind_commit, view, held > 0)

    def _held(self, chunks) -> np.ndarray:
        """Per attempt: how many copies the other replicas' logs hold."""
        messages = self.n
        marks = np.zeros(messages + 1, np.int32)
        for _base, ids in chunks:
            for span in ids:
                marks[span.start] += 1
                marks[span.stop] -= 1
        return np.cumsum(marks)[:messages]

    def _logical(self, copies: np.ndarray, below: np.ndarray, held: np.ndarray) -> dict:
        """Per-attempt arrays folded into logical messages (the first sends, in id order)."""
        messages = self.n
        attempt = np.arange(messages)
        origin = self.origin[:messages]
        root = np.where(origin < 0, attempt, origin)
        first = np.flatnonzero(origin < 0)
        latest = np.full(messages, -1, np.int64)
        np.maximum.at(latest, root, attempt)  # the last attempt of each logical message
        last = latest[first]

        def total(values):
            return np.bincount(root, weights=values, minlength=messages)[first].astype(np.int64)

        gone = np.zeros(messages, np.uint8)
        np.bitwise_or.at(gone, root, self.gone[:messages])  # why any attempt's copies left a log
        return {"n": len(first), "w": total(copies), "below": total(below), "c": total(self.processed[:messages]),
                "appended": total(self.appended[:messages]) > 0, "p": self.p[last], "fail": self.fail[last],
                "gone": gone[first], "held": total(held)}


# why an acknowledged message is missing from the final log (acked_missing_from_log.by_cause), in this order
MISSING_CAUSES = (*(name for _flag, name in GONE_CAUSES), "diverged", "other", "never_written")


class Outcome:
    """Classification of every message into exactly one class (design.md order)."""

    def __init__(self, ledger: Ledger, copies: np.ndarray, behind_commit: np.ndarray, view: dict | None,
                 held: np.ndarray):
        """view: logical-message arrays when the application re-sent some messages (Ledger._logical);
        held: per message, whether a replica other than the leader still holds a copy."""
        if view is None:
            messages = ledger.n
            view = {"p": ledger.p[:messages], "c": ledger.processed[:messages], "appended": ledger.appended[:messages],
                    "fail": ledger.fail[:messages], "gone": ledger.gone[:messages]}
        else:
            messages = view["n"]
        producer, processed, appended = view["p"], view["c"], view["appended"]
        self.n = messages
        self.w = copies
        skipped = (processed == 0) & behind_commit
        cls = np.full(messages, -1, np.int8)

        def take(mask, code):
            sel = mask & (cls < 0)
            cls[sel] = code
            return sel

        take(processed >= 2, 0)
        take(processed == 1, 1)
        take((producer == P_ACK) & ((copies == 0) | skipped), 2)
        take(producer == P_NACK_SEEN, 3)
        take(producer == P_NACK_UNSEEN, 4)
        take(producer == P_NONE, 5)
        take(np.ones(messages, bool), 6)
        self.cls = cls
        counts = np.bincount(cls, minlength=len(CLASSES))
        self.counts = {name: int(counts[i]) for i, name in enumerate(CLASSES)}
        if sum(self.counts.values()) != messages:  # every run checks it, also under python -O
            raise RuntimeError(f"outcome classes add up to {sum(self.counts.values())}, not {messages} messages sent")

        causes: dict[str, dict[str, int]] = {name: {} for name in CLASSES}
        stages: dict[str, dict[str, int]] = {s: {} for s in STAGES}
        fail = view["fail"]
        for cls_name, cause, stage, mask in _cause_rules(cls, producer, copies, appended, fail):
            cnt = int(np.count_nonzero(mask))
            if cnt:
                causes[cls_name][cause] = causes[cls_name].get(cause, 0) + cnt
                if stage:
                    stages[stage][cls_name] = stages[stage].get(cls_name, 0) + cnt
        self._view = (producer, appended, fail)  # for explain(): views of the ledger's arrays, no copies
        self.causes = {skipped: v for skipped, v in causes.items() if v}
        self.by_stage = stages
        dlv = cls == 1
        acked = producer == P_ACK
        missing = acked & (copies == 0)
        gone = view["gone"]
        why = self._why_missing = np.full(messages, -1, np.int8)  # MISSING_CAUSES index, -1: not missing

        def blame(mask, name):
            why[mask & (why < 0)] = MISSING_CAUSES.index(name)

        written = missing & appended
        for flag, name in GONE_CAUSES:  # the first removal, in this order
            blame(written & ((gone & flag) != 0), name)
        blame(written & held, "diverged")  # no replica removed it; another holds it where the leader has another
        blame(written, "other")
        blame(missing & ~appended, "never_written")
        counts = np.bincount(why[why >= 0], minlength=len(MISSING_CAUSES))
        by_cause = {name: int(counts[code]) for code, name in enumerate(MISSING_CAUSES) if counts[code]}
        self.acked_missing_from_log = {
            "total": int(np.count_nonzero(missing)),
            "processed_before_loss": int(np.count_nonzero(missing & (processed > 0))),
            "never_written": int(np.count_nonzero(missing & ~appended)),
            "by_cause": by_cause,
        }
        self.false_failures = int(np.count_nonzero(dlv & (producer != P_ACK) & (producer != P_NONE)))
        self.dup_in_log = int(np.count_nonzero(copies >= 2))

    def why_missing(self, message: int) -> str | None:
        """Why acknowledged `message` is not in the final log (a by_cause name; None: it is, or was not acked)."""
        code = int(self._why_missing[message])
        return MISSING_CAUSES[code] if code >= 0 else None

    def explain(self, message: int) -> tuple[str, str, str | None]:
        """(outcome class, cause, stage) of `message` (a logical message when there were re-sends)."""
        producer, appended, fail = self._view
        at = slice(message, message + 1)
        for cls_name, cause, stage, mask in _cause_rules(self.cls[at], producer[at], self.w[at], appended[at],
                                                         fail[at]):
            if mask[0]:
                return cls_name, cause, stage
        raise RuntimeError(f"message {message} has no cause")  # every class has a catch-all rule


def _cause_rules(cls, producer, copies, appended, fail):
    """(class, cause, stage, mask) for every cause of every class: within a class the masks do not overlap."""
    dup = cls == 0
    yield "duplicated", "dup_log", "producer", dup & (copies >= 2)
    yield "duplicated", "dup_redelivery", "consumer", dup & (copies < 2)
    dlv = cls == 1
    yield "delivered", "ok", None, dlv & (producer == P_ACK)
    yield "delivered", "false_failure", None, dlv & (producer != P_ACK) & (producer != P_NONE)
    yield "delivered", "in_doubt", None, dlv & (producer == P_NONE)
    la = cls == 2
    yield "lost_acked", "lost_storage", "broker", la & (copies == 0) & appended
    yield "lost_acked", "lost_storage", "producer", la & (copies == 0) & ~appended
    yield "lost_acked", "lost_skipped", "consumer", la & (copies > 0)
    for code in (3, 4):
        in_class = cls == code
        for code_fail, fname in enumerate(FAIL_CAUSES):
            if code_fail:
                yield CLASSES[code], fname, "producer", in_class & (fail == code_fail)
    yield "lost_unacked", "producer_crash", "producer", (cls == 5) & (fail == F_PRODUCER_CRASH)
    yield "lost_unacked", "pending_at_end", "producer", (cls == 5) & (fail != F_PRODUCER_CRASH)
    yield "unconsumed", "not_consumed", "consumer", cls == 6
