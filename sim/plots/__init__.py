"""Pictures of runs, scenarios and experiments; each function returns a matplotlib Figure.

    rates_figure(results)        rates with intervals, and silent loss against p99 latency (sweeps, demo)
    tradeoff_figure(results)     the loss/latency trade-off alone
    outcomes_figure(breakdowns)  outcome classes per configuration, split by stage
    timeline_figure(timeline, result)  one run's replica timeline: faults, elections, where acked data was lost
    scenario_figure(name, runs)  both variants of a named scenario side by side
    swimlane(followed)           a handful of messages through every stage, faults as bands, each one's fate

The figures are not pyplot's: they never change the matplotlib backend, show inline in Jupyter
(with `%matplotlib inline`) and save with `fig.savefig(path)`.
"""

from .outcomes import breakdown_from_results, breakdown_from_runs, outcomes_figure
from .rates import rates_figure
from .swimlane import swimlane
from .timeline import scenario_figure, timeline_figure
from .tradeoff import tradeoff_figure

__all__ = ["rates_figure", "tradeoff_figure", "outcomes_figure", "breakdown_from_results", "breakdown_from_runs",
           "timeline_figure", "scenario_figure", "swimlane"]
