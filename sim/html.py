"""HTML views for Jupyter: a run's outcome table, durability view and flags; estimates; sweeps.

Plain HTML tables (no pandas needed), as `_repr_html_` of RunResult, Estimate and SweepResult.
"""

from __future__ import annotations

import math
from html import escape

from .experiment.summary import RATES, fmt_prob, fmt_rate
from .ledger import CLASSES, STAGES

STYLE = "border-collapse:collapse;font-size:90%;margin:0.3em 0"
CELL = "padding:1px 8px;border-bottom:1px solid #ddd"


def table(header: list[str], rows: list[list], right: set[int] = frozenset()) -> str:
    """An HTML table; columns whose index is in `right` are right-aligned (numbers)."""
    def cell(tag, column, value):
        align = "right" if column in right else "left"
        return f'<{tag} style="{CELL};text-align:{align}">{escape(str(value))}</{tag}>'
    head = "".join(cell("th", column, h) for column, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", column, v) for column, v in enumerate(row)) + "</tr>" for row in rows)
    return f'<table style="{STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def para(text: str, strong: bool = False) -> str:
    text = escape(text)
    return f"<p style='margin:0.3em 0'>{'<b>' + text + '</b>' if strong else text}</p>"


def outcome_rows(data: dict) -> list[list]:
    sent = data["sent"]
    rows = []
    for name in CLASSES:
        count = data["outcomes"][name]
        stages = ", ".join(f"{s} {data['by_stage'][s][name]:,}" for s in STAGES if data["by_stage"][s].get(name))
        causes = ", ".join(f"{c} {k:,}" for c, k in sorted(data["causes"].get(name, {}).items()))
        rows.append([name, f"{count:,}", f"{100.0 * count / sent:.3f}%" if sent else "-", stages or "-", causes or "-"])
    return rows


def flags(data: dict) -> list[str]:
    """The things a reader must not miss."""
    out = []
    if not data["drained"]:
        out.append("WARNING: the drain phase did not finish: leftovers count as unconsumed or lost_unacked")
    if data["brokers"].get("diverged_records"):
        out.append(f"REPLICAS DIVERGED: {data['brokers']['diverged_records']:,} records differ from the leader's "
                   "at the same offsets (replication will not repair them)")
    if data["flags"]["false_failure"]:
        out.append(f"{data['flags']['false_failure']:,} messages the producer reported as failed were delivered "
                   "(false failures)")
    if data["flags"]["dup_in_log"]:
        out.append(f"{data['flags']['dup_in_log']:,} messages are in the log more than once")
    return out


def run_html(result) -> str:
    data = result.data
    drain = data["sim_time_s"] - data["production_s"]
    parts = [para(f"sent {data['sent']:,} messages in {data['production_s']:g} s of production "
                  f"(+{drain:.1f} s drain), seed {data['seed']}")]
    parts += [para(text, strong=True) for text in flags(data)]
    parts.append(table(["outcome", "count", "share", "stage", "causes"], outcome_rows(data), right={1, 2}))
    missing = data["acked_missing_from_log"]
    why = ", ".join(f"{k} {v:,}" for k, v in missing["by_cause"].items()) or "-"
    parts.append(para("durability view: acknowledged, but missing from the final log"))
    parts.append(table(["missing", "processed before they vanished (phantom reads)", "why"],
                       [[f"{missing['total']:,}", f"{missing['processed_before_loss']:,}", why]], right={0, 1}))
    lat = data["latency"]
    if lat["ack_p50_ms"] is not None:
        parts.append(para(f"ack latency p50 {lat['ack_p50_ms']:.2f} ms, p99 {lat['ack_p99_ms']:.2f} ms, "
                          f"max {lat['ack_max_ms']:.2f} ms"))
    if data["faults"]:
        parts.append(para("faults: " + "; ".join(f"t={t:g}s {a} {tg}" for t, a, tg, _ in data["faults"])))
    return "<div>" + "".join(parts) + "</div>"


def estimate_html(est: dict, title: str = "") -> str:
    rows = [[name, f"{est[name]['events']:,}", fmt_rate(est[name])] for name in RATES]
    parts = [para(title, strong=True)] if title else []
    parts.append(para(f"{est['runs']} replications, {est['messages']:,} messages"
                      + (f", stopped: {est['stopped_because']}" if "stopped_because" in est else "")))
    parts.append(table(["per message", "events", "rate [95% interval]"], rows, right={1}))
    method = est.get("method", "crude")
    if method == "crude":
        parts.append(para(f"P(a run loses anything silently): {fmt_prob(est['p_any_silent_loss'])} "
                          f"(Clopper-Pearson); ack p99 {_ms(est['ack_p99_ms'])}"))
    else:  # the rare-event report: the method and why, intervals, variance reduction, P(a year ...)
        from .rare.report import describe
        parts.append("<pre>" + escape(describe(est)) + "</pre>")
    if est.get("undrained_runs"):
        parts.append(para(f"WARNING: {est['undrained_runs']} runs did not drain", strong=True))
    return "<div>" + "".join(parts) + "</div>"


def sweep_html(results, title: str = "") -> str:
    from .plots.entries import entries

    rows = []
    for number, item in enumerate(entries(results), 1):
        estimate = item.estimate
        rows.append([number, (item.stage + ": " if item.stage else "") + item.label, estimate["runs"],
                     fmt_rate(estimate["silent_loss"]),
                     fmt_prob(estimate["p_any_silent_loss"]), fmt_rate(estimate["duplicated"]),
                     _ms(estimate["ack_p99_ms"])])
    parts = [para(title, strong=True)] if title else []
    parts.append(table(["", "configuration", "runs", "silent loss / message [95%]", "P(run loses any) [CP]",
                        "duplicates / message", "ack p99"], rows, right={0, 2}))
    return "<div>" + "".join(parts) + "</div>"


def _ms(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f} ms"
