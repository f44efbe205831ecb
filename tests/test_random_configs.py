"""Property tests over random valid configurations of every section, with random scripted faults and
chaos (tests/randomconfig.py): every run ends without an exception, drains (unless the consumer was
told to stop on a lost position, auto.offset.reset = none), keeps the invariants sim/invariants.py
checks at the end of every run, gives the same result for the same seed, and -- with acks=all,
RF 3, min.insync.replicas 2, unclean election off and only faults that keep every log on disk
(process crashes, isolation, pauses, packet loss) -- loses no acknowledged message.

The suite runs a fast profile (KAFKASIM_PROPERTY_EXAMPLES examples per property, 30 by default, the same ones every time);
`make property` runs the long one (2,000 each).
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.run import run_once

from randomconfig import load, random_overrides

EXAMPLES = int(os.environ.get("KAFKASIM_PROPERTY_EXAMPLES", "30"))
PROFILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 30,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def configurations(draw, safety: bool = False):
    values = random_overrides(lambda options: draw(st.sampled_from(options)), safety=safety)
    cfg = load(values)
    assume(cfg is not None)  # a combination validation refuses (tests/test_cli_inputs.py checks those)
    return values, cfg


def comparable(result) -> str:
    data = dict(result.data)
    data.pop("wall_s")
    return json.dumps(data, sort_keys=True, default=str)


@PROFILE
@given(configurations())
def test_any_valid_configuration_runs_drains_keeps_the_invariants_and_repeats(example):
    values, cfg = example
    result = run_once(cfg)  # raises InvariantViolation (seed and config attached) if an invariant breaks
    if cfg["consumer.auto.offset.reset"] != "none":
        assert result["drained"], values
    assert comparable(run_once(cfg)) == comparable(result)  # same seed, same result


@PROFILE
@given(configurations(safety=True))
def test_acks_all_rf3_min_isr_2_loses_nothing_acknowledged_under_faults_that_keep_the_disk(example):
    values, cfg = example
    result = run_once(cfg)
    assert result["acked_missing_from_log"]["total"] == 0, values
    assert result["causes"].get("lost_acked", {}).get("lost_storage", 0) == 0, values
