"""The text report of an estimate by any method: each rate with its interval, precision and the
variance reduction against crude Monte Carlo, P(a year loses anything), and how it was obtained."""

from __future__ import annotations

import math

REPORTED = (("acked_missing", "acknowledged, missing from the final log"), ("silent_loss", "silent loss"),
            ("lost_acked", "lost after an acknowledgement"), ("failed_visible", "failed with an error"),
            ("duplicated", "duplicated"))


def _rate(rate: dict) -> str:
    if rate["upper_bound_only"]:
        return f"< {rate['hi']:.2e} (none seen)"
    text = f"{rate['rate']:.3e} [{rate['lo']:.3e}, {rate['hi']:.3e}]"
    half = rate.get("relative_half_width")
    if half is not None and math.isfinite(half):
        text += f"  +/-{100 * half:.0f}%"
    factor = rate.get("variance_reduction")
    if factor is not None and not math.isnan(factor) and math.isfinite(factor):
        text += f"  variance reduction x{factor:.3g}"
    return text


def describe(summary: dict) -> str:
    """Several lines: the method and why, per-message rates, the yearly probability, the sample."""
    method = summary.get("method", "crude")
    lines = [f"method: {method} ({summary.get('method_reason', '')})"]
    width = max(len(label) for _name, label in REPORTED)
    lines.append("per message:")
    for name, label in REPORTED:
        lines.append(f"  {label.ljust(width)}  {_rate(summary[name])}")
    for key, label in (("p_year_any_acked_missing", "P(a year loses an acknowledged message)"),
                       ("p_year_any_silent_loss", "P(a year loses a message silently)")):
        year = summary.get(key)
        if year is None:
            continue
        if year["upper_bound_only"]:
            lines.append(f"{label}: < {year['hi']:.3g} (none seen)")
        else:
            lines.append(f"{label}: {year['p']:.3g} [{year['lo']:.3g}, {year['hi']:.3g}]")
    if method == "conditional":
        windows = ", ".join(f"{kind} {count}" for kind, count in summary["windows"].items())
        lines.append(f"windows: {windows}; another fault within a window: p = {summary['interaction_probability']:.1e}")
    elif method == "is":
        bias = ", ".join(f"{key} x{factor:.3g}" for key, factor in summary["bias"].items())
        lines.append(f"runs: {summary['runs']} (effective sample size {summary['effective_sample_size']:.1f}); "
                     f"fault rates biased: {bias}")
    else:
        lines.append(f"runs: {summary['runs']}")
    lines.append(f"wall time: {summary.get('wall_total_s', summary['wall_s']):.1f} s")
    lines.extend(f"warning: {warning}" for warning in summary.get("warnings") or ())
    return "\n".join(lines) + "\n"
