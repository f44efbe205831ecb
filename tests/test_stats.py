"""The interval estimators against scipy on known binomial and t cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import stats

scipy_stats = pytest.importorskip("scipy.stats")  # scipy is in the test extras


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (5, 10), (10, 10), (0, 1000), (3, 1000), (37, 250)])
def test_wilson_matches_scipy(k, n):
    ref = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert stats.wilson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (5, 10), (10, 10), (0, 1000), (3, 1000), (37, 250)])
@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipy(k, n, conf):
    ref = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="exact")
    assert stats.clopper_pearson(k, n, conf) == pytest.approx((ref.low, ref.high), rel=1e-9, abs=1e-12)


def test_zero_events_give_the_rule_of_three():
    assert stats.zero_event_upper(1000) == pytest.approx(1 - 0.05 ** (1 / 1000))
    assert stats.zero_event_upper(1000) == pytest.approx(3 / 1000, rel=0.01)
    assert stats.proportion(0, 1000)["upper_bound"] > 0


@pytest.mark.parametrize("q, df", [(0.975, 1), (0.975, 4), (0.95, 9), (0.995, 29), (0.6, 3), (0.025, 7)])
def test_t_quantile_matches_scipy(q, df):
    assert stats.t_ppf(q, df) == pytest.approx(scipy_stats.t.ppf(q, df), rel=1e-9)


def test_betainc_matches_scipy():
    special = pytest.importorskip("scipy.special")
    for a, b, x in [(0.5, 0.5, 0.3), (2, 3, 0.7), (10, 200, 0.04), (1, 1, 0.5)]:
        assert stats.betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-12)


def test_ratio_estimator_covers_the_true_rate_about_95_percent_of_the_time():
    # Clustered losses: a run loses a geometric number of messages with probability 0.3. The t interval
    # is known to under-cover such skewed data with few runs (measured: 87% at 30 runs, 92% at 100 for a
    # nominal 95%, see docs/statistics in the README); at 100 runs it must stay close to nominal.
    rng = np.random.default_rng(11)
    covered, trials = 0, 400
    n_runs, msgs = 100, 10_000
    p_event, mean_cluster = 0.3, 20.0
    true_rate = p_event * mean_cluster / msgs
    for _ in range(trials):
        events = np.where(rng.random(n_runs) < p_event, rng.geometric(1 / mean_cluster, n_runs), 0)
        r = stats.ratio_rate(events, np.full(n_runs, msgs))
        covered += r.lo <= true_rate <= r.hi
    assert 0.88 <= covered / trials <= 0.99


def test_ratio_estimator_with_no_event_reports_an_upper_bound():
    r = stats.ratio_rate([0, 0, 0], [1000, 1000, 1000])
    assert r.zero and r.rate == 0 and r.lo == 0
    assert r.hi == pytest.approx(stats.zero_event_upper(3) / 1000)
    assert math.isinf(r.relative_error())
