"""The run's trace of rare events: kept up to sim.trace.limit, counted beyond it, in the JSON result."""

from __future__ import annotations

import json

import pytest

from sim import trace as trace_module
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


def test_docs_trace_md_is_current():
    assert trace_module.DOC_PATH.read_text(encoding="utf-8") == trace_module.render_markdown(), (
        "docs/trace.md is stale: run `.venv/bin/python -m sim.trace --write` and commit the result")


def test_events_are_typed_and_the_json_trace_names_their_fields():
    r = run_once(config(cluster__brokers=3, topic__replication__factor=3, workload__duration=3, workload__rate=50,
                        faults=[{"at": 1.0, "action": "crash", "target": "leader", "duration": 1.0}]))
    trace = r["trace"]
    assert trace["schema"] == trace_module.SCHEMA_VERSION
    kinds = {row[1] for row in trace["events"]}
    assert {"fault", "crash", "leader", "restart"} <= kinds and set(trace["fields"]) == kinds
    for row in trace["events"]:
        assert len(row) == 2 + len(trace["fields"][row[1]])  # every row has exactly its kind's fields
    (leader, *_rest) = [row for row in trace["events"] if row[1] == "leader"]
    named = dict(zip(trace["fields"]["leader"], leader[2:], strict=True))
    assert named["partition"] == 0 and named["leader"] in (1, 2) and named["leader_epoch"] == 1


def test_an_undeclared_event_or_one_with_other_fields_is_refused():
    trace = trace_module.Trace()
    trace.add(1.0, "crash", 2)
    assert trace.events[0].broker == 2 and trace.events[0][2] == 2
    with pytest.raises(KeyError):
        trace.add(1.0, "meteor_strike", 2)
    with pytest.raises(TypeError):
        trace.add(1.0, "crash", 2, "extra")
