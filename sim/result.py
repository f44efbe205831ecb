"""RunResult: what one replication produced, as JSON and as a readable summary."""

from __future__ import annotations

import json
import math

import numpy as np

from .broker.replica_log import diverging_records
from .counters import BrokerCounters
from .ledger import CLASSES, P_ACK, STAGES
from .producer.ordering import reorderings

LOSS_CLASSES = ("lost_acked", "failed_visible", "failed_silent", "lost_unacked")


def _ms(seconds: float) -> float | None:
    return None if seconds is None or math.isnan(seconds) else round(seconds * 1000.0, 6)


def _replicas_beside_leaders(cluster):
    """(leader's log, another replica's log) of every partition that has a leader at the end."""
    for partition, replicas in enumerate(cluster.assignment):
        leader = cluster.leader_log(partition)
        if leader is None:
            continue
        for replica in replicas:
            log = cluster.brokers[replica].logs[partition]
            if log is not leader:
                yield leader, log


def diverged_records(cluster) -> int:
    """Records, over every partition and replica, that differ from the leader's at the same offset."""
    return sum(diverging_records(leader, log) for leader, log in _replicas_beside_leaders(cluster))


def _other_replicas(cluster):
    """(base offset, ids) of every record on the other replicas of each partition that has a leader at the
    end (without one, nothing is in the final log because nothing leads, not because replicas disagree)."""
    for _leader, log in _replicas_beside_leaders(cluster):
        yield from log.chunks_below(log.leo)


def _brokers_report(cluster) -> dict:
    """The controller's elections and the brokers' counters added up, and the replicas that diverged."""
    brokers = sum((broker.counters for broker in cluster.brokers), BrokerCounters()).report()
    del brokers["appended_records"]  # (the ledger has the records)
    return {**cluster.controller.counters.report(), **brokers, "diverged_records": diverged_records(cluster),
            "request_queue_max": max(broker.request_queue.longest for broker in cluster.brokers)}


def _processed_latency(ledger) -> dict:
    """End to end: from send() to the first time the consumer finished processing the message."""
    messages = ledger.n
    e2e = ledger.processed_dt[:messages].astype(np.float64)
    e2e = e2e[~np.isnan(e2e)]
    if not len(e2e):
        return {"e2e_p50_ms": None, "e2e_p99_ms": None}
    p50, p99 = np.percentile(e2e, [50, 99])
    return {"e2e_p50_ms": _ms(float(p50)), "e2e_p99_ms": _ms(float(p99))}


class RunResult:
    """Counts per outcome class, causes, stages, latencies and component metrics of one run."""

    def __init__(self, data: dict):
        self.data = data

    @classmethod
    def from_cluster(cls, cluster, wall_s: float) -> RunResult:
        cfg = cluster.cfg
        ledger = cluster.ledger
        final_logs, committed = {}, {}
        for partition in range(len(cluster.assignment)):
            log = cluster.leader_log(partition)
            final_logs[partition] = list(log.chunks_below(log.hw)) if log is not None else []
            pos = cluster.consumer.position(partition)
            committed[partition] = max(cluster.coordinator.committed.get(partition, 0),
                                       pos if pos is not None and pos >= 0 else 0)
        outcome = ledger.classify(final_logs, committed, _other_replicas(cluster))
        messages = ledger.n
        acked = ledger.p[:messages] == P_ACK
        lat = ledger.ack_dt[:messages][acked].astype(np.float64)
        if len(lat):
            p50, p99 = np.percentile(lat, [50, 99])
            latency = {"ack_p50_ms": _ms(float(p50)), "ack_p99_ms": _ms(float(p99)),
                       "ack_max_ms": _ms(float(lat.max()))}
        else:
            latency = {"ack_p50_ms": None, "ack_p99_ms": None, "ack_max_ms": None}
        latency.update(_processed_latency(ledger))
        pstats = cluster.producer.counters.report()
        pstats["records_per_batch"] = round(pstats["records_sent"] / pstats["batches_sent"], 6) \
            if pstats["batches_sent"] else None
        pstats["resends"] = int(ledger.resent)
        pstats["reorderings_by_partition"] = reorderings(final_logs)
        pstats["reorderings"] = sum(pstats["reorderings_by_partition"])
        data = {
            "sent": int(outcome.n),  # logical messages: an application re-send is not a new message
            "outcomes": outcome.counts,
            "causes": outcome.causes,
            "by_stage": outcome.by_stage,
            "acked_missing_from_log": outcome.acked_missing_from_log,
            "flags": {"false_failure": outcome.false_failures, "dup_in_log": outcome.dup_in_log},
            "latency": latency,
            "producer": pstats,
            "consumer": cluster.consumer.summary_stats(),
            "brokers": _brokers_report(cluster),
            "network": cluster.network.counters.report(),
            "drained": bool(cluster.drained),
            "faults": [[round(t, 6), action, target, list(targets) if isinstance(targets, list) else targets]
                       for t, action, target, targets in cluster.faults.applied],
            "trace": cluster.trace.report(),
            "seed": cfg.settings.sim.seed,
            "sim_time_s": round(cluster.env.now, 6),
            "production_s": cluster.end,
            "config": cfg.to_dict(),
            "wall_s": round(wall_s, 3),
        }
        if cluster.fault_bias:  # importance sampling: the likelihood ratio of the biased faults
            data["fault_bias"] = dict(cluster.fault_bias)
            data["fault_log_weight"] = cluster.fault_log_weight
        return cls(data)

    # -- accessors -----------------------------------------------------------------------
    def __getitem__(self, key):
        return self.data[key]

    @property
    def outcomes(self) -> dict:
        return self.data["outcomes"]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2) + "\n"

    # -- notebooks -----------------------------------------------------------------------
    def to_frame(self):
        """The outcome table as a pandas DataFrame: count, share, count per stage, causes."""
        from .frames import run_frame
        return run_frame(self)

    def _repr_html_(self) -> str:
        """What Jupyter shows: the outcome table, the durability view and the flags."""
        from .html import run_html
        return run_html(self)

    # -- text ----------------------------------------------------------------------------
    def summary(self, title: str = "") -> str:
        data = self.data
        sent = data["sent"]
        lines = []
        if title:
            lines.append(title)
        drain = data["sim_time_s"] - data["production_s"]
        lines.append(f"sent {sent} messages in {data['production_s']:g} s of production (+{drain:.1f} s drain)")
        if not data["drained"]:
            lines.append("WARNING: the drain phase did not finish (sim.drain.timeout); "
                         "leftovers are counted as unconsumed or lost_unacked")
        lines.append("")
        lines.append(f"  {'outcome':<16}{'count':>10}{'share':>10}   causes")
        for name in CLASSES:
            count = data["outcomes"][name]
            share = f"{100.0 * count / sent:.3f}%" if sent else "-"
            causes = ", ".join(f"{c} {k}" for c, k in sorted(data["causes"].get(name, {}).items()))
            lines.append(f"  {name:<16}{count:>10}{share:>10}   {causes}")
        lines.append("")
        losses = {s: sum(v for k, v in data["by_stage"][s].items() if k in LOSS_CLASSES) for s in STAGES}
        lines.append("losses by stage: " + ", ".join(f"{s} {losses[s]}" for s in STAGES))
        dups = {s: data["by_stage"][s].get("duplicated", 0) for s in STAGES}
        lines.append("duplicates by stage: " + ", ".join(f"{s} {dups[s]}" for s in STAGES))
        am = data["acked_missing_from_log"]
        lines.append(f"acknowledged but missing from the final log: {am['total']}"
                     f" (processed before they vanished: {am['processed_before_loss']})")
        lat = data["latency"]
        if lat["ack_p50_ms"] is not None:
            lines.append(f"ack latency: p50 {lat['ack_p50_ms']:.3f} ms, p99 {lat['ack_p99_ms']:.3f} ms, "
                         f"max {lat['ack_max_ms']:.3f} ms")
        pr = data["producer"]
        lines.append(f"producer: {pr['requests']} requests, {pr['batches_sent']} batches, "
                     f"{pr['records_per_batch'] or 0:.1f} records/batch, {pr['retries']} retries, "
                     f"{pr['expired_batches']} expired batches, {pr['request_timeouts']} request timeouts, "
                     f"{pr['reorderings']} reorderings")
        if lat["e2e_p50_ms"] is not None:
            lines.append(f"send to processed: p50 {lat['e2e_p50_ms']:.3f} ms, p99 {lat['e2e_p99_ms']:.3f} ms")
        co = data["consumer"]
        lines.append(f"consumer: {co['records_processed']} records processed, {co['redeliveries']} redelivered, "
                     f"{co['commits_sent']} commits ({co['commits_failed']} failed), {co['rebalances']} rebalances, "
                     f"{co['restarts']} restarts, lag max {co['lag_max']} mean {co['lag_mean']:.1f} records")
        br = data["brokers"]
        lines.append(f"brokers: {br['elections']} leader elections ({br['unclean_elections']} unclean, "
                     f"{br.get('preferred_elections', 0)} preferred), "
                     f"{br['truncated_records']} records truncated, {br['lost_on_power_loss']} lost on power loss"
                     + (f", {br['lost_on_disk_failure']} on failed disks" if br.get("lost_on_disk_failure") else ""))
        net = data.get("network", {})
        if net.get("retransmissions") or net.get("dropped"):
            lines.append(f"network: {net['messages']} messages, {net.get('retransmissions', 0)} TCP retransmissions, "
                         f"{net['dropped']} dropped")
        if br.get("diverged_records"):
            lines.append(f"REPLICAS DIVERGED: {br['diverged_records']} records differ from the leader's at the same "
                         "offsets (replication will not repair them)")
        if data["faults"]:
            lines.append("faults: " + "; ".join(f"t={t:g}s {a} {tg}" for t, a, tg, _ in data["faults"]))
        return "\n".join(lines) + "\n"
