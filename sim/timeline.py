"""ReplicaTimeline: what each replica of one partition holds, over time -- as text and as a PNG.

For every replica: its log end offset (LEO), high watermark (HW), the offset up to which the
log is on disk (what a power loss would keep), whether it leads, whether it is in the ISR,
and its latest leader epoch. A row is taken at every event that matters to the partition
(faults, elections, ISR changes, truncations, lost page caches) and at a regular period for
the plot; its CopyWatch notes at each event where acknowledged records vanished. It only reads
the model's state. sim.plots.timeline draws it.
"""

from __future__ import annotations

from .copies import CopyWatch

RELEVANT = frozenset({"fault", "leader", "isr", "truncate", "page_cache_lost", "disk_lost", "crash", "power_loss",
                      "started", "disk_failure", "isr_refused",
                      "fenced", "unfenced", "registered", "unclean_election", "elr_election", "preferred_election",
                      "last_known_leader_election",
                      "shutdown", "stopped", "heal", "pause", "resume", "heal_all", "become_leader"})
# event kind -> index of its partition field
PARTITION_EVENTS = {"leader": 2, "isr": 2, "isr_refused": 2, "unclean_election": 2, "elr_election": 2,
                    "last_known_leader_election": 2, "preferred_election": 2, "truncate": 3, "page_cache_lost": 3,
                    "disk_lost": 3, "become_leader": 3}


def run_with_timeline(cfg, partition: int = 0, period: float | None = None, arrivals=None):
    """One replication with a ReplicaTimeline of `partition` attached -> (RunResult, ReplicaTimeline).
    The probe only reads: the result is the one run_once gives."""
    import time

    from .run import drain_and_classify, start

    started = time.perf_counter()
    cluster = start(cfg, arrivals=arrivals)
    timeline = ReplicaTimeline(cluster, partition, period or max(0.01, cfg.seconds("workload.duration") / 400))
    return drain_and_classify(cluster, started), timeline


REMOVALS = frozenset({"truncate", "page_cache_lost", "disk_lost"})  # events that shorten a broker's log


class ReplicaState:
    __slots__ = ("up", "role", "leo", "hw", "disk", "epoch")

    def __init__(self, up, role, leo, hw, disk, epoch):
        self.up, self.role, self.leo, self.hw, self.disk, self.epoch = up, role, leo, hw, disk, epoch

    def cell(self) -> str:
        return f"{self.role} {self.leo:>6}/{self.hw:<6} disk {self.disk:<6} e{self.epoch}"


class ReplicaTimeline:
    """Samples the replicas of `partition` at its events and every `period` seconds."""

    def __init__(self, cluster, partition: int = 0, period: float = 0.1):
        self.cluster = cluster
        self.p = partition
        self.replicas = cluster.assignment[partition]
        self.rows: list[tuple[float, str, list[ReplicaState]]] = []  # event rows
        self.samples: list[tuple[float, list[ReplicaState]]] = []  # periodic rows, for the plot
        self.faults: list[tuple[float, str]] = []
        self.events: list[tuple[int, tuple]] = []  # (row index, trace event) for every event row
        self.copies = CopyWatch(cluster, partition, self.replicas)
        cluster.trace.listeners.append(self._on_event)
        self._add_row(cluster.env.now, "start")
        cluster.env.process(self._sample(period))

    def _add_row(self, at: float, label: str, remover: int | None = None) -> None:
        self.rows.append((at, label, self.state()))
        self.copies.observe(len(self.rows) - 1, at, remover)

    def state(self) -> list[ReplicaState]:
        cluster = self.cluster
        now = cluster.env.now
        st = cluster.controller.parts[self.p]
        out = []
        for replica in self.replicas:
            broker = cluster.brokers[replica]
            log = broker.logs[self.p]
            if not broker.up:
                role = "x"
            elif self.p in broker.leading:
                role = "L"
            elif replica in st.isr:
                role = "I"
            elif replica in st.elr:
                role = "E"
            else:
                role = "-"
            disk = broker.page_cache.durable_offset(log, now, broker.up_since) if broker.host_up else log.leo
            out.append(ReplicaState(broker.up, role, log.leo, log.hw, disk, log.latest_epoch))
        return out

    def _on_event(self, event) -> None:
        kind = event[1]
        if kind not in RELEVANT:
            return
        index = PARTITION_EVENTS.get(kind)
        if index is not None and len(event) > index and event[index] != self.p:
            return
        if kind == "fault":
            self.faults.append((event[0], f"{event[2]} {event[3]}"))
        self.events.append((len(self.rows), event))
        self._add_row(event[0], describe(event), event[2] if kind in REMOVALS else None)

    def _sample(self, period: float):
        env = self.cluster.env
        while True:
            self.samples.append((env.now, self.state()))
            yield env.timeout(period)

    # -- output --------------------------------------------------------------------------
    def to_text(self, title: str = "") -> str:
        head = f"{'time':>9}  {'event':<34}" + "".join(f"  {'broker ' + str(r):<32}" for r in self.replicas)
        lines = [title] if title else []
        lines.append(f"replica timeline of partition {self.p}: role LEO/HW, on-disk offset, leader epoch "
                     "(L leader, I in sync, E eligible (ELR), - out of sync, x down)")
        lines.append(head)
        last = None
        for at, label, states in self.rows:
            cells = "".join(f"  {s.cell():<32}" for s in states)
            if (label, cells) == last:
                continue
            last = (label, cells)
            lines.append(f"{at:>9.3f}  {label[:34]:<34}{cells}")
        return "\n".join(lines) + "\n"

    def plot(self, ax_column, title: str) -> None:
        """Draw one subplot per replica (a column of axes) from the periodic samples."""
        times = [at for at, _s in self.samples]
        for lane, (ax, replica) in enumerate(zip(ax_column, self.replicas, strict=True)):
            leo = [s[lane].leo for _t, s in self.samples]
            hw = [s[lane].hw for _t, s in self.samples]
            disk = [s[lane].disk for _t, s in self.samples]
            ax.step(times, leo, where="post", label="LEO", color="tab:blue")
            ax.step(times, hw, where="post", label="HW", color="tab:green")
            ax.step(times, disk, where="post", label="on disk", color="tab:orange", linestyle="--")
            for (t0, s0), (t1, _s1) in zip(self.samples, self.samples[1:], strict=False):
                role = s0[lane].role
                if role == "x":
                    ax.axvspan(t0, t1, color="0.6", alpha=0.5, lw=0)
                elif role == "-":
                    ax.axvspan(t0, t1, color="tab:red", alpha=0.12, lw=0)
                elif role == "E":
                    ax.axvspan(t0, t1, color="tab:olive", alpha=0.18, lw=0)
                elif role == "L":
                    ax.axvspan(t0, t1, ymin=0.95, ymax=1.0, color="tab:purple", alpha=0.8, lw=0)
            for at, _label in self.faults:
                ax.axvline(at, color="k", linestyle=":", lw=0.8)
            ax.set_ylabel(f"broker {replica}\noffset")
            if lane == 0:
                ax.set_title(title, fontsize=9)
                ax.legend(loc="upper left", fontsize=7)
        ax_column[-1].set_xlabel("time (s)  [grey: down, red: out of ISR, olive: eligible (ELR), "
                                 "purple bar: leader, dotted: fault]")


def describe(event) -> str:
    at, kind, *rest = event
    if kind == "fault":
        action, target, targets = rest
        named = isinstance(targets, list) and not target.startswith("broker:")
        return f"FAULT {action} {target}" + (f" {targets}" if named else "")
    if kind == "leader":
        partition, leader, epoch, isr = rest
        return f"leader p{partition} -> {leader} epoch {epoch}" if leader is not None else f"p{partition} offline"
    if kind == "isr" and len(rest) == 2:
        return f"ISR p{rest[0]} = {list(rest[1])}"
    if kind == "become_leader":
        broker, partition, epoch, leo, hw = rest
        return f"broker {broker} leads p{partition} (epoch {epoch})"
    if kind == "registered":
        return f"broker {rest[0]} registers" + ("" if rest[1] else " (after an unclean shutdown)")
    if kind in ("crash", "power_loss", "started", "stopped", "shutdown", "pause", "resume", "heal"):
        return f"broker {rest[0]} {kind.replace('_', ' ')}"
    if kind == "fenced":
        return f"controller fences broker {rest[0]}"
    if kind == "unfenced":
        return f"broker {rest[0]} unfenced"
    if kind == "last_known_leader_election":
        return f"last known leader p{rest[0]}: broker {rest[1]}"
    if kind in ("unclean_election", "elr_election"):
        return f"{kind.replace('_', ' ')} p{rest[0]}: broker {rest[1]}"
    if kind == "preferred_election":
        return f"leader balancing p{rest[0]}: back to broker {rest[1]}"
    if kind == "truncate":
        broker, partition, offset, removed = rest
        return f"broker {broker} truncates to {offset} (-{removed})"
    if kind == "isr_refused":
        return f"ISR p{rest[0]} + {list(rest[1])} refused: stale epoch"
    if kind == "disk_lost":
        broker, partition, _offset, removed = rest
        return f"broker {broker} disk lost: p{partition} (-{removed})"
    if kind == "disk_failure":
        return f"broker {rest[0]} disk failure"
    if kind == "page_cache_lost":
        broker, partition, offset, removed = rest
        return f"broker {broker} page cache lost: {offset} (-{removed})"
    return " ".join([kind] + [str(x) for x in rest])
