"""What a replica timeline picture says in words: its faults, elections and losses, and a caption.

Read from the timeline's recorded trace events, the run's configuration (fault durations) and its
CopyWatch (where acknowledged records vanished).
"""

from __future__ import annotations

from dataclasses import dataclass

ELECTION_KINDS = {"unclean_election": "unclean election", "elr_election": "ELR election",
                  "preferred_election": "leader balancing", "last_known_leader_election": "last known leader"}
FAULT_VERBS = {"crash": "{who} crashes (the page cache survives)", "power_loss": "{who} loses power (page cache lost)",
               "disk_failure": "{who}: the disk fails (its log is lost)", "shutdown": "{who} shuts down cleanly",
               "restart": "{who} restarts", "pause": "{who} pauses", "isolate": "{who} cut off from {peers}",
               "heal": "{who}: links heal", "latency_spike": "{who}: +{extra} ms on links to {peers}",
               "packet_loss": "{who}: {rate} packet loss to {peers}", "producer_crash": "the producer crashes",
               "consumer_crash": "the consumer crashes", "consumer_error": "the consumer hits a processing error",
               "consumer_stall": "the consumer stalls (slow downstream call)"}
UNDO = {"isolate": "healed after", "latency_spike": "for", "packet_loss": "for", "pause": "resumes",
        "consumer_stall": "for", "crash": "restarts after", "power_loss": "restarts after",
        "disk_failure": "restarts after", "shutdown": "restarts after"}


@dataclass(frozen=True)
class Happening:
    """One labelled moment of the picture."""

    t: float
    kind: str  # "fault", "election", "isr" (ISR changes, fencing) or "loss"
    text: str


def _who(target: str, targets) -> str:
    if target.startswith("broker:"):
        return f"broker {target.split(':', 1)[1]}"
    named = ", ".join(str(b) for b in targets) if isinstance(targets, (list, tuple)) else ""
    if target in ("leader", "followers"):
        return f"{'broker' if len(targets) == 1 else 'brokers'} {named} (the {target})" if named else f"the {target}"
    return {"all-brokers": "every broker"}.get(target, target.replace(":", " "))


def _fault_config(cfg, at: float, action: str, target: str):
    for fault in cfg.faults:
        if abs(fault.at - at) < 1e-9 and fault.action == action and fault.target == target:
            return fault
    return None


def fault_text(event, cfg) -> str:
    _t, _kind, action, target, targets = event
    fault = _fault_config(cfg, event[0], action, target)
    peers = " and ".join(fault.isolate_from) if fault is not None and fault.isolate_from else "everything"
    text = FAULT_VERBS.get(action, "{who}: " + action.replace("_", " ")).format(
        who=_who(target, targets), peers=peers, extra=f"{fault.extra_ms:g}" if fault and fault.extra_ms else "?",
        rate=f"{fault.rate:g}" if fault and fault.rate else "?")
    if fault is not None and fault.duration:
        text += f", {UNDO.get(action, 'back after')} {fault.duration:g} s"
    return text


def happenings(timeline) -> list[Happening]:
    """Every fault, election and refused ISR change of the timeline's partition, in order."""
    cfg = timeline.cluster.cfg
    out: list[Happening] = []
    leader, pending = None, None
    shutting_down = set()  # brokers between their controlled-shutdown request and their stop
    for _row, event in timeline.events:
        at, kind = event[0], event[1]
        if kind == "shutdown":
            shutting_down.add(event[2])
        elif kind in ("stopped", "crash", "started"):
            shutting_down.discard(event[2])
        if kind == "fault":
            out.append(Happening(at, "fault", fault_text(event, cfg)))
        elif kind in ELECTION_KINDS:
            pending = (at, ELECTION_KINDS[kind])
        elif kind == "leader":
            _p, new, epoch, _isr = event[2:6]
            how = pending[1] + ": " if pending and abs(pending[0] - at) < 1e-9 else ""
            pending = None
            if new == leader:
                continue
            leader = new
            if new is None:
                out.append(Happening(at, "election", "no replica may lead: the partition is offline"))
            else:
                out.append(Happening(at, "election", f"{how}broker {new} becomes leader (epoch {epoch})"))
        elif kind == "isr_refused":
            stale = ", ".join(str(b) for b in event[3])
            out.append(Happening(at, "isr", f"the controller refuses broker {stale} back into the ISR (stale epoch)"))
        elif kind == "isr" and len(event) == 4:
            out.append(Happening(at, "isr", f"ISR = {{{', '.join(str(b) for b in event[3])}}}"))
        elif kind == "fenced":
            why = "controlled shutdown" if event[2] in shutting_down else "no heartbeat"
            out.append(Happening(at, "isr", f"the controller fences broker {event[2]} ({why})"))
        elif kind == "heal_all":
            out.append(Happening(at, "fault", "production ends: faults stop, every broker restarts, links heal"))
    return out


def loss_happenings(timeline) -> list[Happening]:
    marks = timeline.copies.losses() or []
    out = []
    for mark in marks:
        verb = "loses" if mark.count == 1 else "lose"
        out.append(Happening(mark.t, "loss", f"{acked(mark.count)} {verb} the last copy: {timeline.rows[mark.row][1]}"))
    return out


def acked(count: int) -> str:
    return f"{count:,} acknowledged record" + ("" if count == 1 else "s")


def seconds(at: float) -> str:
    return f"{at:.3f} s" if at < 10 else f"{at:.1f} s"


def caption(timeline, result) -> str:
    """One line: what was lost, when and where (or that nothing was)."""
    marks = timeline.copies.losses()
    missing = result["acked_missing_from_log"]["total"]
    diverged = result["brokers"]["diverged_records"]
    if marks is None:
        return f"{acked(missing)} missing from the final log (too many messages to follow their copies)"
    lost = sum(m.count for m in marks)
    partitions = len(timeline.cluster.assignment)
    if diverged:
        return (f"the logs diverged: {diverged:,} record{'s differ' if diverged != 1 else ' differs'} at the same "
                f"offset{'s' if diverged != 1 else ''}; {acked(missing)} not in the leader's log")
    if not lost:
        return "nothing acknowledged was lost" if not missing else f"{acked(missing)} missing from the final log"
    text = f"{acked(lost)} lost for good (red X), the last at {seconds(marks[-1].t)}"
    if partitions > 1:
        text += f"; {missing:,} in all {partitions} partitions"
    return text
