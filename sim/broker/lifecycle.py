"""BrokerLifecycle: how a broker process stops and starts (part of Broker).

- crash(): the process dies (kill -9, OOM); the page cache survives, the kernel resets its
  connections, and the next start is an unclean one (log recovery).
- crash(power_loss=True): the machine dies too; every log keeps only its on-disk prefix.
- fail_disk(): the log disk fails: the broker halts (Kafka stops when its last log directory
  goes offline) and every replica on it is gone; a restart comes up on a new, empty disk.
- shutdown(): a controlled shutdown; the controller moves the broker's leaderships away
  first, the logs are flushed, and the next start is clean.
- restart(): the machine boots, the process starts (broker.model.startup.ms), recovers the
  unflushed part of its logs after an unclean stop (broker.model.recovery.mb.per.s),
  registers with the controller, and serves clients once it has its metadata.
- pause()/resume(): a long GC or VM stall: nothing is answered until it ends.
"""

from __future__ import annotations

from .. import protocol as P
from ..ledger import GONE_DISK, GONE_POWER_LOSS
from ..records import record_bytes

CONTROLLED_SHUTDOWN_TIMEOUT = 5.0  # s to wait for the controller before stopping anyway


class BrokerLifecycle:
    """Process and machine state transitions of a Broker."""

    def start(self) -> None:
        inc = self.incarnation
        self.env.process(self._heartbeat_loop(inc))
        self.env.process(self._isr_shrink_loop(inc))
        self.env.process(self._hw_checkpoint_loop(inc))

    def _alive(self, inc: int) -> bool:
        return self.up and self.incarnation == inc

    # -- stopping ----------------------------------------------------------------------
    def crash(self, power_loss: bool = False) -> None:
        """Kill the process; with power_loss the machine loses its page cache too."""
        now = self.env.now
        if self.up:
            self._stop_process()
            self.clean_shutdown = False
            self.trace.add(now, "crash", self.id)
            if not power_loss:
                self.ctx.notify_disconnect(self)  # the kernel resets the connections
        self.booting = None  # a power loss also aborts a start in progress
        if power_loss and self.host_up:
            self.host_up = False
            self.clean_shutdown = False
            self.network.machine_down(self.node)
            self._lose_page_cache(now)
            self.trace.add(now, "power_loss", self.id)

    def fail_disk(self) -> None:
        """The log disk fails: the process halts and every replica it held is lost with the disk."""
        now = self.env.now
        self.crash()
        self.clean_shutdown = False
        self.disk_failed = True  # a restart already scheduled (an earlier crash's) cannot start it now
        self.trace.add(now, "disk_failure", self.id)
        for partition in self.partitions:
            self.counters.lost_on_disk_failure += self.forget_removed(partition, self.logs[partition].wipe(),
                                                                      GONE_DISK, "disk_lost", 0)

    def _stop_process(self) -> None:
        self.up = False
        self.incarnation += 1
        self.follower.stop()
        self.deadlines.active = False
        self.deadlines.clear()
        self.leading.clear()
        self.replica_fetches.stop()
        self.consumer_fetches.stop()
        self.conns.clear()
        self.paused = False
        self.deferred.clear()

    def _lose_page_cache(self, now: float) -> None:
        on_disk = self.page_cache.durable_offsets(self.logs, now, self.up_since)
        for partition in self.partitions:
            log = self.logs[partition]
            durable = on_disk[partition]
            removed = log.truncate_to(durable)
            log.flushed = log.flushed_before = log.leo
            self.counters.lost_on_power_loss += self.forget_removed(partition, removed, GONE_POWER_LOSS,
                                                                    "page_cache_lost", durable)

    def shutdown(self) -> None:
        """Controlled shutdown: leaderships move away, then the logs are flushed and the process stops."""
        if not self.up or self.shutting_down:
            return
        self.shutting_down = True
        self.trace.add(self.env.now, "shutdown", self.id)
        inc = self.incarnation
        self.network.send(self.node, self.controller.node, self.controller, P.ControlledShutdown(self.id))
        timeout = self.env.timeout(CONTROLLED_SHUTDOWN_TIMEOUT)
        timeout.callbacks.append(lambda _event: self._finish_shutdown(inc))

    def on_shutdown_allowed(self, _response) -> None:
        self._finish_shutdown(self.incarnation)

    def _finish_shutdown(self, inc: int) -> None:
        if not self.up or self.incarnation != inc:
            return
        now = self.env.now
        for partition in self.partitions:
            self.page_cache.flush(self.logs[partition], now)
            self.logs[partition].checkpoint_hw()
        self._stop_process()
        self.clean_shutdown = True
        self.trace.add(now, "stopped", self.id)
        self.ctx.notify_disconnect(self)  # connections are closed
        if self.restart_when_stopped:
            self.restart_when_stopped = False
            self.restart()

    # -- starting ----------------------------------------------------------------------
    def restart(self, replace_disk: bool = False) -> None:
        """Boot: start the process, recover the logs if the last stop was unclean, register. A broker
        whose log disk failed starts only once the disk is replaced (replace_disk: on a new, empty one)."""
        if self.up or self.booting is not None:
            return
        if self.disk_failed:
            if not replace_disk:
                return
            self.disk_failed = False
        rebooted = not self.host_up
        self.host_up = True
        model = self.settings.broker
        delay = model.model_startup
        if not self.clean_shutdown:
            size = record_bytes(self.settings.workload.message_bytes)
            unflushed = sum(self.page_cache.recovery_records(self.logs[p]) for p in self.partitions) * size
            delay += unflushed / (model.model_recovery_mb_per_s * 1e6)
        self.trace.add(self.env.now, "restart", self.id, round(delay, 6))
        token = self.booting = object()
        boot = self.env.timeout(delay)
        boot.callbacks.append(lambda _event: self._boot(token, rebooted))

    def _boot(self, token, rebooted: bool) -> None:
        if self.booting is not token:
            return
        self.booting = None
        self.up = True
        self.incarnation += 1
        self.up_since = self.env.now
        self.serving = False
        self.shutting_down = False
        self._reset_runtime()
        for partition in self.partitions:
            self.logs[partition].restore_hw()  # replication-offset-checkpoint
        self.trace.add(self.env.now, "started", self.id)
        self.start()
        if rebooted:  # clients' retransmissions now meet a fresh kernel: reset
            self.ctx.notify_disconnect(self)

    def _hw_checkpoint_loop(self, inc: int):
        while True:
            yield self.env.timeout(self.settings.broker.replica_high_watermark_checkpoint_interval)
            if not self._alive(inc):
                return
            if not self.paused:
                for log in self.logs.values():
                    log.checkpoint_hw()

    # -- stalls ------------------------------------------------------------------------
    def pause(self) -> None:
        if self.up and not self.paused:
            self.paused = True
            self.resumed = self.env.event()
            self.trace.add(self.env.now, "pause", self.id)

    def resume(self) -> None:
        if not self.paused:
            return
        self.paused = False
        self.resumed.succeed()
        self.trace.add(self.env.now, "resume", self.id)
        pending, self.deferred = self.deferred, []
        for entry, args in pending:
            entry(*args)  # received or due while paused: through the same gate again
