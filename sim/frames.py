"""pandas DataFrames of runs, estimates and sweeps (pandas comes with the `notebook` and `data` extras)."""

from __future__ import annotations

import math

from .ledger import CLASSES, STAGES
from .stats import interval_of

RATE_FIELDS = ("rate", "lo", "hi", "upper_bound_only")
SWEEP_RATES = ("silent_loss", "duplicated", "lost_acked", "acked_missing")


def _pandas():
    try:
        import pandas
    except ImportError:  # pragma: no cover - the extras bring it
        raise ImportError("to_frame() and .rows need pandas: pip install 'kafkasim[notebook]'") from None
    return pandas


def run_frame(result):
    """One row per outcome class: count, share of messages sent, count per stage, causes."""
    pd = _pandas()
    data = result.data
    rows = []
    for name in CLASSES:
        count = data["outcomes"][name]
        row = {"outcome": name, "count": count, "share": count / data["sent"] if data["sent"] else math.nan}
        row.update({stage: data["by_stage"][stage].get(name, 0) for stage in STAGES})
        row["causes"] = ", ".join(f"{c} {k}" for c, k in sorted(data["causes"].get(name, {}).items()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("outcome")


def estimate_frame(est: dict):
    """One row per per-message rate: events, messages, runs, rate and its interval."""
    from .experiment.summary import RATES

    pd = _pandas()
    rows = [{"metric": name, **{k: est[name][k] for k in ("events", "messages", "runs", *RATE_FIELDS)}}
            for name in RATES]
    return pd.DataFrame(rows).set_index("metric")


def typed_rows(rows: list[dict], settings: dict[int, dict] | None = None):
    """Replication rows as a DataFrame: numbers as numbers (integers as int64), and each point's
    settings (point index -> {key: value}) in its own columns, so no point has NaN for a key it left
    at its base value."""
    pd = _pandas()
    frame = pd.DataFrame(rows)
    setting_keys = {k for values in (settings or {}).values() for k in values}
    for column in frame.columns:
        if column not in setting_keys:
            frame[column] = _numeric(pd, frame[column])
    if settings:
        points = frame["point"].astype(int)
        for key in next(iter(settings.values())):
            frame[key] = points.map({i: values[key] for i, values in settings.items()})
    return frame


def _numeric(pd, column):
    if column.dtype == object or pd.api.types.is_string_dtype(column):
        column = column.astype(object).replace({"": None, "None": None})
        converted = pd.to_numeric(column, errors="coerce")
        if converted.notna().sum() < column.notna().sum():
            return column  # not a number column
        column = converted
    if column.dtype.kind == "f" and column.notna().all() and (column % 1 == 0).all():
        return column.astype("int64")
    return column


def sweep_frame(results, settings: dict[int, dict]):
    """One row per point: its settings, runs, messages, the main rates with their intervals,
    P(a run loses anything silently), p99 latency and silent losses per stage."""
    pd = _pandas()
    rows = []
    for point, entry in results.items():
        estimate = entry["estimate"]
        row = {"point": point}
        if "label" in entry:
            row.update(stage=entry.get("stage", ""), label=entry["label"])
        row.update(settings.get(point, {}))
        row.update(runs=estimate["runs"], messages=estimate["messages"])
        for name in SWEEP_RATES:
            row.update({name if k == "rate" else f"{name}_{k}": estimate[name][k] for k in RATE_FIELDS})
        prob = estimate["p_any_silent_loss"]
        lo, hi = interval_of(prob)
        row.update(p_any_silent_loss=prob["p"], p_any_silent_loss_lo=lo, p_any_silent_loss_hi=hi,
                   ack_p99_ms=estimate["ack_p99_ms"])
        row.update({f"silent_{stage}": int(v) for stage, v in estimate["silent_by_stage"].items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("point")
