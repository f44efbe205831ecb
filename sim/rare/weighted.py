"""Estimates from importance-sampled replications: each carries the likelihood ratio of its faults.

With weights w_i (E[w] = 1 under the biased rates), the per-message rate is R = sum(w y) / sum(x):
the numerator estimates E[losses per run] at the real rates, the denominator the messages per run
(which hardly depend on the faults). It is not self-normalised: when every biased run draws a fault
the weights are all tiny, and sum(w y) / sum(w x) would return the biased runs' own loss rate. The
interval is the delta method's on z_i = w_i y_i - R x_i (Student's t over runs). With no event seen,
the bound uses the largest weight a run with a fault can have: a loss needs a fault, so P(loss) <=
max weight x P_biased(loss) <= max weight x (zero-event bound), and a losing run loses at most its
messages.
"""

from __future__ import annotations

import math

import numpy as np

from .. import stats


def weighted_rate(events, messages, weights, fault_weight_max: float, conf: float = 0.95) -> dict:
    """Weighted ratio estimate: rate, lo, hi, upper_bound_only, relative_half_width, variance factors."""
    loss, sent, weight = (np.asarray(values, dtype=float) for values in (events, messages, weights))
    runs = len(loss)
    total_sent = float(sent.sum())
    out = {"events": int(loss.sum()), "messages": int(total_sent), "runs": runs}
    if runs == 0 or total_sent <= 0:
        return {**out, "rate": math.nan, "lo": 0.0, "hi": 1.0, "upper_bound_only": True,
                "relative_half_width": math.inf, "variance_reduction": math.nan}
    mean_sent = total_sent / runs
    if loss.sum() == 0:  # P(a run loses) <= largest weight x zero-event bound; a losing run loses <= its messages
        bound = fault_weight_max * stats.zero_event_upper(runs, conf) * float(sent.max()) / mean_sent
        return {**out, "rate": 0.0, "lo": 0.0, "hi": min(1.0, bound), "upper_bound_only": True,
                "relative_half_width": math.inf, "variance_reduction": math.nan}
    rate = float((weight * loss).sum()) / total_sent  # E[w y] / E[x]: not self-normalised (the weights are tiny)
    if runs < 2:
        return {**out, "rate": rate, "lo": 0.0, "hi": 1.0, "upper_bound_only": False,
                "relative_half_width": math.inf, "variance_reduction": math.nan}
    residual = weight * loss - rate * sent
    weighted_var = float((residual ** 2).sum()) / (runs - 1)  # per run, under the biased rates
    crude_residual = loss - rate * sent
    crude_var = float((weight * crude_residual ** 2).sum()) / (runs - 1)  # one unweighted run (estimated)
    se = math.sqrt(weighted_var / runs) / mean_sent
    quantile = stats.t_ppf(0.5 + conf / 2.0, runs - 1)
    lo, hi = max(0.0, rate - quantile * se), min(1.0, rate + quantile * se)
    return {**out, "rate": rate, "lo": lo, "hi": hi, "upper_bound_only": False,
            "relative_half_width": (hi - lo) / 2 / rate,
            "variance_reduction": crude_var / weighted_var if weighted_var > 0 else math.inf}


def weighted_probability(hits, weights, fault_weight_max: float, conf: float = 0.95) -> dict:
    """P(a run has the event) from weighted runs, with a normal interval (or the zero-event bound)."""
    hit, weight = np.asarray(hits, dtype=float), np.asarray(weights, dtype=float)
    runs = len(hit)
    seen = int(hit.sum())
    out = {"runs": runs, "runs_with_event": seen}
    if seen == 0:
        bound = min(1.0, fault_weight_max * stats.zero_event_upper(runs, conf)) if runs else 1.0
        return {**out, "p": 0.0, "upper_bound": bound, "interval": (0.0, bound)}
    values = weight * hit
    probability = float(values.mean())
    se = float(values.std(ddof=1)) / math.sqrt(runs) if runs > 1 else math.inf
    quantile = stats.NormalDist().inv_cdf(0.5 + conf / 2.0)
    interval = (max(0.0, probability - quantile * se), min(1.0, probability + quantile * se))
    return {**out, "p": probability, "interval": interval}


def per_year(p_run: float, horizon_s: float, year_s: float) -> float:
    """P(a year loses anything) from P(a run of horizon_s loses anything), runs being independent."""
    if p_run >= 1.0:
        return 1.0
    return -math.expm1(year_s / horizon_s * math.log1p(-p_run))


def year_probability(probability: dict, horizon_s: float, year_s: float) -> dict:
    """P(a year loses anything), with its interval, from P(a run loses anything) (a proportion dict with
    "p", "interval" and "runs_with_event", as stats.proportion and weighted_probability give)."""
    lo, hi = stats.interval_of(probability)
    return {"p": per_year(probability["p"], horizon_s, year_s), "lo": per_year(lo, horizon_s, year_s),
            "hi": per_year(hi, horizon_s, year_s), "upper_bound_only": probability["runs_with_event"] == 0}


def effective_sample_size(weights) -> float:
    """Kish's effective sample size: (sum w)^2 / sum w^2."""
    weight = np.asarray(weights, dtype=float)
    squares = float((weight * weight).sum())
    return float(weight.sum()) ** 2 / squares if squares > 0 else 0.0
