"""Application: the consuming application's poll loop, one commit strategy per consumer.app.commit.

In Java, for each strategy (`process` is synchronous, or a hand-off to workers):

    auto                   while (running) { records = poll(); process(records); }
                           finally { consumer.close(); }        // close() auto-commits the positions
    sync                   ... process(records); consumer.commitSync(); ...
    async                  ... process(records); consumer.commitAsync(); ...
    async+sync             ... process(records); consumer.commitAsync(); ...
                           finally { consumer.commitSync(); consumer.close(); }
    async+sync-processed   ... process(records); consumer.commitAsync(processed); ...
                           finally { consumer.commitSync(processed); consumer.close(); }
    per-record             for (r : records) { process(r); consumer.commitSync(Map.of(tp, r.offset() + 1)); }

`processed` is the map an application builds of what it really finished (offset + 1 of
the last processed record per partition). The manual strategies commit only after a poll
that returned records, and a CommitFailedException (the member was fenced by a rebalance)
is logged and the loop goes on. With consumer.enable.auto.commit = true, poll() and close()
auto-commit as well, whatever the strategy.

The finally block runs on a normal stop (the drain) and when a processing error leaves the
loop (consumer.app.error.policy = close); after an error the application starts a new
KafkaConsumer at once. A crash runs nothing: the process is gone.
"""

from __future__ import annotations

import simpy

from .processing import ProcessingError, Work


class Application:
    """The application thread of one KafkaConsumer instance."""

    def __init__(self, consumer):
        self.c = consumer
        self.env = consumer.env
        self.commit = consumer.settings.app_commit

    def run(self):
        try:
            yield from self._main()
        except simpy.Interrupt:
            return  # crashed

    def _main(self):
        consumer = self.c
        try:
            yield from consumer.start()
            while not consumer.stop_requested:
                records = yield from consumer.poll()
                if consumer.processing.failed:
                    raise ProcessingError("a worker's record failed")
                if records:
                    yield from self._handle(records)
        except ProcessingError:
            consumer.counters.closed_on_error += 1
            yield from self._finally(error=True)
            consumer.app.after_error_close()
            return
        yield from self._finally(error=False)

    def _handle(self, records):
        consumer, membership = self.c, self.c.membership
        if self.commit == "per-record":
            for partition, batch, lo, hi in records:
                for offset in range(lo, hi):
                    yield from consumer.processing.process(Work([(partition, batch, offset, offset + 1)]))
                    yield from membership.commit_sync({partition: batch.base + offset + 1}, self._api_deadline())
            return
        yield from consumer.processing.process(Work(records))
        if self.commit == "sync":
            yield from membership.commit_sync(consumer.fetcher.consumed(), self._api_deadline())
        elif self.commit in ("async", "async+sync"):
            membership.commit_async(consumer.fetcher.consumed())
        elif self.commit == "async+sync-processed":
            membership.commit_async(consumer.processed_offsets())

    def _finally(self, error: bool):
        consumer, membership = self.c, self.c.membership
        yield from consumer.processing.shutdown(drop=error)
        if self.commit == "async+sync":
            yield from membership.commit_sync(consumer.fetcher.consumed(), self._api_deadline())
        elif self.commit == "async+sync-processed":
            yield from membership.commit_sync(consumer.processed_offsets(), self._api_deadline())
        yield from consumer.close()

    def _api_deadline(self) -> float:
        return self.env.now + self.c.settings.default_api_timeout
