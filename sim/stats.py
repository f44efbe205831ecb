"""Interval estimates for loss probabilities and per-message rates, without scipy.

Replications are the independent unit: losses inside one run are clustered (one leader failure
can lose a whole batch), so

- the probability that a run loses anything is a binomial proportion over runs: Wilson and
  Clopper-Pearson intervals, and with no event observed an upper bound, never a bare zero;
- a per-message rate is a ratio of sums over runs (events / messages): a ratio estimator with a
  delta-method interval and Student's t over runs.

The incomplete beta function (continued fraction, as in Numerical Recipes) gives the exact
binomial and t quantiles; the tests compare them with scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np


# -- special functions ----------------------------------------------------------------------
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta (Lentz; symbols as in Numerical Recipes' betacf)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (symbols as in Numerical Recipes)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _invert(func, target: float, lo: float, hi: float, increasing: bool = True) -> float:
    """Solve func(x) = target by bisection on [lo, hi]."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (func(mid) < target) == increasing:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def beta_ppf(q: float, a: float, b: float) -> float:
    """Quantile q of the beta(a, b) distribution (symbols as in Numerical Recipes)."""
    return _invert(lambda x: betainc(a, b, x), q, 0.0, 1.0)


def t_ppf(q: float, df: float) -> float:
    """Quantile q of Student's t with df degrees of freedom (symbols as in Numerical Recipes)."""
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_ppf(1.0 - q, df)

    def cdf(t):
        return 1.0 - 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    hi = 1.0
    while cdf(hi) < q:
        hi *= 2.0
    return _invert(cdf, q, 0.0, hi)


# -- binomial proportions over runs ----------------------------------------------------------
def wilson(successes: int, trials: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for `successes` in `trials`."""
    if trials <= 0:
        return 0.0, 1.0
    z_score = NormalDist().inv_cdf(0.5 + conf / 2.0)
    share = successes / trials
    denom = 1.0 + z_score * z_score / trials
    center = (share + z_score * z_score / (2 * trials)) / denom
    half = z_score * math.sqrt(share * (1 - share) / trials + z_score * z_score / (4 * trials * trials)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def clopper_pearson(successes: int, trials: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval; no successes gives (0, 1 - (alpha/2)^(1/trials))."""
    if trials <= 0:
        return 0.0, 1.0
    alpha = 1.0 - conf
    lo = 0.0 if successes == 0 else beta_ppf(alpha / 2, successes, trials - successes + 1)
    hi = 1.0 if successes == trials else beta_ppf(1 - alpha / 2, successes + 1, trials - successes)
    return lo, hi


def zero_event_upper(trials: int, conf: float = 0.95) -> float:
    """One-sided upper bound on a probability after 0 events in `trials` (about 3/trials at 95%)."""
    return 1.0 - (1.0 - conf) ** (1.0 / trials) if trials > 0 else 1.0


# -- per-message rates over runs -----------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    """events / messages pooled over runs, with an interval from the spread between runs."""

    events: int
    messages: int
    runs: int
    rate: float
    lo: float
    hi: float
    zero: bool  # no event observed: `hi` is an upper bound, `lo` is 0

    def half_width(self) -> float:
        return (self.hi - self.lo) / 2.0

    def relative_error(self) -> float:
        return self.half_width() / self.rate if self.rate > 0 else math.inf

    def as_dict(self) -> dict:
        return {"events": self.events, "messages": self.messages, "runs": self.runs, "rate": self.rate,
                "lo": self.lo, "hi": self.hi, "upper_bound_only": self.zero}


def ratio_rate(events, messages, conf: float = 0.95) -> Rate:
    """Ratio estimator R = sum(events) / sum(messages) with a delta-method interval, t with runs - 1 df.

    With no event in any run the interval is [0, u] where u is the one-sided bound on the chance
    that a run loses anything, divided by the mean messages per run -- the rate if a losing run
    lost a single message; losses cluster, so read it as "rarer than one losing run in 1/u".
    """
    events_per_run = np.asarray(events, dtype=float)
    messages_per_run = np.asarray(messages, dtype=float)
    runs = len(events_per_run)
    total_events, total_messages = float(events_per_run.sum()), float(messages_per_run.sum())
    if runs == 0 or total_messages <= 0:
        return Rate(int(total_events), int(total_messages), runs, math.nan, 0.0, 1.0, total_events == 0)
    rate = total_events / total_messages
    if total_events == 0:
        hi = zero_event_upper(runs, conf) / (total_messages / runs)
        return Rate(0, int(total_messages), runs, 0.0, 0.0, min(1.0, hi), True)
    if runs < 2:
        return Rate(int(total_events), int(total_messages), runs, rate, 0.0, 1.0, False)
    mean_messages = total_messages / runs
    residual = events_per_run - rate * messages_per_run
    std_err = math.sqrt(float((residual * residual).sum()) / (runs - 1) / runs) / mean_messages
    quantile = t_ppf(0.5 + conf / 2.0, runs - 1)
    return Rate(int(total_events), int(total_messages), runs, rate, max(0.0, rate - quantile * std_err),
                min(1.0, rate + quantile * std_err), False)


def interval_of(probability: dict) -> tuple[float, float]:
    """The reported interval of a proportion dict (stats.proportion, weighted_probability); results written
    before "interval" existed have the Clopper-Pearson one only."""
    return probability.get("interval") or probability["clopper_pearson"]


def proportion(successes: int, trials: int, conf: float = 0.95) -> dict:
    """P(a run loses anything): point estimate, Wilson and Clopper-Pearson, and the zero-event bound;
    "interval" is the one reported (Clopper-Pearson: exact, never too narrow)."""
    exact = clopper_pearson(successes, trials, conf)
    out = {"runs": trials, "runs_with_event": successes, "p": successes / trials if trials else math.nan,
           "wilson": wilson(successes, trials, conf), "clopper_pearson": exact, "interval": exact}
    if successes == 0:
        out["upper_bound"] = zero_event_upper(trials, conf)
    return out
