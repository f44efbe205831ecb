"""Validation of the rare-event estimators (docs/rare-events.md): each against crude Monte Carlo where
crude reaches, and the targets at real failure rates. Writes results/validation/rare.json and prints a
Markdown table. Run: `make validate-rare` (about 15-30 minutes on two cores)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sim import api
from sim.experiment.estimate import estimate

SAFE = {"faults": [], "topic.partitions": 3, "topic.replication.factor": 3, "topic.min.insync.replicas": 2,
        "producer.acks": "all", "workload.rate": 200, "workload.duration": 60}
OUTAGE_50S = {"faults": [], "workload.rate": 300, "workload.duration": 10,
              "chaos.cluster.power_outage.mtbf": "50s", "chaos.cluster.power_outage.duration": "5s"}
OUTAGE_2000S = {"faults": [], "workload.rate": 50, "workload.duration": 300,
                "chaos.cluster.power_outage.mtbf": "2000s", "chaos.cluster.power_outage.duration": "5s"}
ACKS1 = {"faults": [], "producer.acks": "1", "topic.partitions": 3, "workload.rate": 200, "workload.duration": 100,
         "broker.replica.fetch.min.bytes": 10**9, "chaos.broker.crash.mtbf": "3000s",
         "chaos.broker.crash.duration": "10s"}
CASES = [
    # (name, overrides, method, options): agreement where crude reaches (short runs, frequent outages)
    ("outage every 50 s, 10 s runs: crude", OUTAGE_50S, "crude",
     {"replications": 200}),
    ("outage every 50 s, 10 s runs: is", OUTAGE_50S, "is",
     {"replications": 60}),
    ("outage every 2,000 s, 300 s runs: crude", OUTAGE_2000S, "crude",
     {"replications": 150}),
    ("outage every 2,000 s, 300 s runs: is", OUTAGE_2000S, "is",
     {"replications": 40}),
    ("outage every 2,000 s: conditional (windows)", OUTAGE_2000S, "conditional",
     {"replications": 24}),
    # a second kind of fault and loss: acks=1, leader crashes, followers fetching every 500 ms
    # (theory: a crash loses rate x 0.25 s, so per message lambda_broker x 0.25 s = 8.3e-05)
    ("acks=1 crash every 3,000 s per broker, 100 s runs: crude", ACKS1, "crude", {"replications": 120}),
    ("acks=1 crash every 3,000 s per broker, 100 s runs: is", ACKS1, "is", {"replications": 40}),
    ("acks=1 crash every 3,000 s per broker: conditional (windows)", ACKS1, "conditional",
     {"replications": 24}),
    # targets at real rates
    ("safe, datacenter preset", {**SAFE, "chaos.preset": "datacenter"}, "auto", {"rel_error": 0.2}),
    ("safe, outage once a year", {**SAFE, "chaos.cluster.power_outage.mtbf": "365d"}, "auto", {"rel_error": 0.2}),
    ("safe, outage once a year: crude for 80 s", {**SAFE, "chaos.cluster.power_outage.mtbf": "365d"}, "crude",
     {"budget": 80}),
    ("safe, outage once a year: is (60 s runs from a cold start)", {**SAFE, "chaos.cluster.power_outage.mtbf": "365d"},
     "is", {"replications": 40}),
    ("safe, outage once in 1,000 years", {**SAFE, "chaos.cluster.power_outage.mtbf": "365000d"}, "auto",
     {"rel_error": 0.2}),
    ("safe + flush.messages=1, outage once a year", {**SAFE, "chaos.cluster.power_outage.mtbf": "365d",
     "topic.flush.messages": 1}, "auto", {"rel_error": 0.2}),
]


def main(argv: list[str]) -> int:
    chosen = [case for case in CASES if not argv or any(word in case[0] for word in argv)]
    out_dir = Path("results/validation")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, overrides, method, options in chosen:
        started = time.monotonic()
        result = estimate(api.config(None, overrides), method=method, metric="acked_missing", jobs=2, **options)
        rate = result["acked_missing"]
        rows.append({"case": name, "method": result["method"], "rate": rate["rate"], "lo": rate["lo"],
                     "hi": rate["hi"], "upper_bound_only": rate["upper_bound_only"],
                     "relative_half_width": rate.get("relative_half_width"),
                     "variance_reduction": rate.get("variance_reduction"), "runs": result["runs"],
                     "wall_s": round(time.monotonic() - started, 1),
                     "p_year_any_acked_missing": result.get("p_year_any_acked_missing")})
        print(json.dumps(rows[-1]), flush=True)
    (out_dir / "rare.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| case | method | acked missing / message [95% CI] | +/- | runs or windows | wall s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        value = (f"< {row['hi']:.2e}" if row["upper_bound_only"]
                 else f"{row['rate']:.2e} [{row['lo']:.2e}, {row['hi']:.2e}]")
        half = row["relative_half_width"]
        print(f"| {row['case']} | {row['method']} | {value} | "
              f"{'-' if half is None or half == float('inf') else f'{100 * half:.0f}%'} | {row['runs']} | "
              f"{row['wall_s']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
