"""The run's trace of rare events: kept up to sim.trace.limit, counted beyond it, in the JSON result."""

from __future__ import annotations

import json

from sim.run import run_once

from simtest import config

FAULTS = [{"at": 1.0, "action": "crash", "target": "broker:0", "duration": 1.0},
          {"at": 3.0, "action": "crash", "target": "broker:1", "duration": 1.0}]


def kinds(result) -> list[str]:
    return [event[1] for event in result["trace"]["events"]]


def test_trace_is_in_the_json_result_in_time_order():
    r = run_once(config(workload__duration=5, faults=FAULTS))
    data = json.loads(r.to_json())
    events = data["trace"]["events"]
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    faults = [e for e in events if e[1] == "fault"]
    assert [(e[0], e[2], e[3]) for e in faults] == [(1.0, "crash", "broker:0"), (3.0, "crash", "broker:1")]
    assert data["trace"]["dropped"] == 0


def test_limit_keeps_the_first_events_and_counts_the_rest():
    full = run_once(config(workload__duration=5, faults=FAULTS))
    total = len(full["trace"]["events"])
    assert total > 5
    capped = run_once(config(workload__duration=5, sim__trace__limit=3, faults=FAULTS))
    assert capped["trace"]["events"] == full["trace"]["events"][:3]
    assert capped["trace"]["dropped"] == total - 3
    assert capped["outcomes"] == full["outcomes"]  # the cap changes what is recorded, not the run


def test_limit_zero_turns_the_trace_off():
    r = run_once(config(workload__duration=5, sim__trace__limit=0, faults=FAULTS))
    assert r["trace"]["events"] == []
    assert r["trace"]["dropped"] > 0
