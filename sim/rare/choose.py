"""Which estimator `--method auto` uses for a configuration, and why (in words, for the report)."""

from __future__ import annotations

from .processes import fault_processes
from .windows import default_warmup

TAIL_S = 30.0  # production after a window's fault is repaired
SPREAD_S = 30.0  # the window's fault falls uniformly in this many seconds after the warm-up
FAULT_CAP_S = 120.0  # a window's fault is repaired after this long at the latest
INTERACTION_LIMIT = 0.01  # windows need another fault inside a window to be this unlikely


def window_seconds(cfg, processes) -> float:
    """The longest mean window: warm-up, the fault's spread, its mean duration, the tail."""
    longest = min(FAULT_CAP_S, max((p.mean_duration for p in processes), default=0.0))
    return default_warmup(cfg) + SPREAD_S + longest + TAIL_S


def choose_method(cfg) -> tuple[str, str]:
    """(method, reason) for cfg: crude, is or conditional."""
    processes = fault_processes(cfg)
    if not processes:
        return "crude", "no chaos faults: nothing rare to bias or condition on"
    horizon = cfg.seconds("workload.duration")
    per_run = sum(p.rate for p in processes) * horizon
    if per_run >= 1.0:
        return "crude", f"faults are common ({per_run:.2g} per run): plain replications see them"
    if cfg.faults:
        return "is", ("scripted [[faults]] besides the chaos ones: fault windows start from a fault-free steady "
                      f"state, so the chaos faults ({per_run:.2g} per run) are importance-sampled around them")
    interaction = sum(p.rate for p in processes) * window_seconds(cfg, processes)
    if interaction < INTERACTION_LIMIT:
        return "conditional", (f"faults are rare ({per_run:.2g} per run) and far apart (another fault within a "
                               f"window: {interaction:.1e}): one simulated window per fault, its Poisson "
                               "probability in closed form")
    return "is", (f"faults are rare ({per_run:.2g} per run) but close enough to interact (another within a window: "
                  f"{interaction:.2g}): importance sampling keeps the combinations")
