"""One task of an experiment: a batch of replications of one configuration point.

Module-level and picklable, so it runs the same in-process, in a process pool or on a Dask
worker. Replication r of point i is seeded by SeedSequence(sim.seed, spawn_key=(i, r)): a
result does not depend on which worker ran it or when.
"""

from __future__ import annotations

from ..ledger import CLASSES
from ..run import run_once

SILENT = ("lost_acked", "failed_silent", "lost_unacked")
LOSS = SILENT + ("failed_visible",)
STAGES = ("producer", "broker", "consumer")
# the outcome classes each stage can be blamed for (sim.ledger.Outcome.by_stage), one column each
STAGE_OUTCOMES = (("producer", ("duplicated", "lost_acked", "failed_visible", "failed_silent", "lost_unacked")),
                  ("broker", ("lost_acked",)), ("consumer", ("duplicated", "lost_acked", "unconsumed")))
STAGE_COLUMNS = tuple(f"{cls}_{stage}" for stage, classes in STAGE_OUTCOMES for cls in classes)
METRICS = ("sent",) + CLASSES + ("silent_loss", "loss", *(f"silent_{s}" for s in STAGES), "acked_missing",
                                  "phantom_reads", "any_silent_loss", "any_loss", "ack_p50_ms", "ack_p99_ms",
                                  "drained", "sim_time_s", "wall_s") + STAGE_COLUMNS


def replication_row(result) -> dict:
    """The numbers one replication contributes to an estimate."""
    out = result.outcomes
    silent = sum(out[c] for c in SILENT)
    loss = silent + out["failed_visible"]
    missing = result["acked_missing_from_log"]
    lat = result["latency"]
    by_stage = result["by_stage"]
    row = {"sent": result["sent"], **out, "silent_loss": silent, "loss": loss,
           **{f"silent_{s}": sum(by_stage[s].get(c, 0) for c in SILENT) for s in STAGES},
           "acked_missing": missing["total"], "phantom_reads": missing["processed_before_loss"],
           "any_silent_loss": int(silent > 0), "any_loss": int(loss > 0),
           "ack_p50_ms": lat["ack_p50_ms"], "ack_p99_ms": lat["ack_p99_ms"],
           "drained": int(result["drained"]), "sim_time_s": result["sim_time_s"], "wall_s": result["wall_s"]}
    for stage, classes in STAGE_OUTCOMES:
        row.update({f"{cls}_{stage}": by_stage[stage].get(cls, 0) for cls in classes})
    return row


def run_batch(cfg, point: int, batch: int, reps, fault_bias: dict | None = None) -> list[dict]:
    """Replications `reps` of configuration `cfg` (point index `point`, batch index `batch`); with
    fault_bias (importance sampling), each row also has the log likelihood ratio of its faults."""
    rows = []
    for rep in reps:
        result = run_once(cfg, spawn_key=(point, rep), fault_bias=fault_bias)
        row = {"point": point, "batch": batch, "rep": rep, "seed": cfg["sim.seed"], **replication_row(result)}
        if fault_bias:
            row["log_weight"] = result["fault_log_weight"]
        rows.append(row)
    return rows
