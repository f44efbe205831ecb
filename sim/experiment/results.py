"""What estimate() and sweeps return: the estimates as dicts, with notebook views on top.

`Estimate` is the summary dict of one configuration; `SweepResult` maps point index to
{"point", "estimate"} (and "label", "stage" for the demo). Both keep their replication rows:
`.rows` and `.to_frame()` are pandas DataFrames, `_repr_html_` is what Jupyter shows.
"""

from __future__ import annotations

import json


class Estimate(dict):
    """Estimates of one configuration (see sim.experiment.summary.summarize)."""

    def __init__(self, summary: dict, rows: list[dict], title: str = ""):
        super().__init__(summary)
        self.replication_rows = list(rows)
        self.title = title

    @property
    def rows(self):
        """One row per replication (a DataFrame)."""
        from ..frames import typed_rows
        return typed_rows(self.replication_rows)

    def to_frame(self):
        """One row per per-message rate, with its interval (a DataFrame)."""
        from ..frames import estimate_frame
        return estimate_frame(self)

    def _repr_html_(self) -> str:
        from ..html import estimate_html
        return estimate_html(self, self.title)


class SweepResult(dict):
    """{point index: {"point", "estimate"}} of one experiment, with its rows on disk."""

    def __init__(self, results: dict, experiment, store):
        super().__init__(results)
        self.experiment = experiment
        self.store = store

    @property
    def directory(self):
        return self.store.dir

    def settings(self, point: int) -> dict:
        """Every key the experiment sets (its base and its points), as that point ran it."""
        exp = self.experiment
        cfg = exp.config(point)
        keys = list(exp.base) + [k for k in exp.factors if k not in exp.base]
        out = {}
        for key in keys:
            if key in cfg:
                out[key] = cfg[key]
            else:  # "faults" and the like: as written
                raw = exp.points[point].get(key, exp.base.get(key))
                out[key] = json.dumps(raw) if isinstance(raw, (list, dict)) else raw
        return out

    def _all_settings(self) -> dict:
        return {i: self.settings(i) for i in range(len(self.experiment.points))}

    @property
    def rows(self):
        """One row per replication, each with its point's settings (a DataFrame)."""
        from ..frames import typed_rows
        return typed_rows(self.store.read(), self._all_settings())

    def to_frame(self):
        """One row per point: settings, rates with intervals, P(run loses anything), latency (a DataFrame)."""
        from ..frames import sweep_frame
        return sweep_frame(self, self._all_settings())

    def _repr_html_(self) -> str:
        from ..html import sweep_html
        exp = self.experiment
        return sweep_html(self, f"{exp.name}: {exp.replications} replications per point ({self.directory})")
