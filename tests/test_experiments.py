"""The experiment scripts run in quick mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_acks_under_leader_failure_quick():
    out = subprocess.run([sys.executable, str(ROOT / "experiments" / "acks_under_leader_failure.py"),
                          "--seeds", "2", "--quick"], capture_output=True, text=True, check=True, cwd=ROOT)
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    assert set(rows) == {"0", "1", "all"}
    sent = {acks: int(r[2]) for acks, r in rows.items()}
    assert len(set(sent.values())) == 1  # the same workload for every setting (common random numbers)
    assert int(rows["all"][3]) == 0  # acks=all with RF 3 and min.insync.replicas 2 loses nothing acked
    assert int(rows["0"][3]) > 0  # acks=0 loses what was in flight to the dying leader
