"""Sweeps: a grid (or list) of configurations, replications per point, on any executor.

Experiment file (TOML):

    [experiment]
    name = "producer-stage"          # results go to results/<name>/
    scenario = "base.toml"           # optional base scenario, relative to this file
    replications = 20                # per point
    batch = 5                        # replications per task
    seed = 1                         # root seed (replication r of point i: spawn_key (i, r))

    [base]                           # config keys for every point ("workload.duration" = 30, faults = [...])
    [grid]                           # the cartesian product of these values ...
    "producer.acks" = ["0", "1", "all"]
    [[points]]                       # ... or an explicit list of points
    "producer.acks" = "1"
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import platform
import subprocess
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..config import ConfigError, ScenarioError, load_config
from ..progress import Progress
from .executors import InProcessExecutor, default_jobs, make_executor
from .replicate import METRICS, run_batch
from .results import SweepResult
from .store import ResultsStore, StoreError
from .summary import summarize

EXPERIMENT_KEYS = {"name", "scenario", "replications", "batch", "seed", "description", "skip_invalid"}


@dataclass
class Experiment:
    name: str
    description: str
    scenario: Path | None
    replications: int
    batch: int
    seed: int
    base: dict
    points: list[dict]
    factors: list[str]

    def spec(self) -> dict:
        return {"name": self.name, "scenario": str(self.scenario) if self.scenario else None,
                "replications": self.replications, "batch": self.batch, "seed": self.seed, "base": self.base,
                "points": self.points}

    def config(self, point: int):
        overrides = {**self.base, **self.points[point], "sim.seed": self.seed}
        return load_config(self.scenario, overrides=overrides)

    def tasks(self) -> list[tuple[int, int, range]]:
        out = []
        for point in range(len(self.points)):
            for batch, start in enumerate(range(0, self.replications, self.batch)):
                out.append((point, batch, range(start, min(start + self.batch, self.replications))))
        return out


def load_experiment(path, **overrides) -> Experiment:
    """Read and validate an experiment file (every point must be a valid configuration)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("file not found", str(path)) from None
    except IsADirectoryError:
        raise ScenarioError("a directory, not an experiment file", str(path)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror or exc}", str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text", str(path)) from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: an integer past Python's digit limit
        raise ScenarioError(f"malformed TOML: {exc}", str(path)) from None
    return experiment_from_dict(data, base_dir=path.parent, source=str(path), **overrides)


MAX_NAME = 100  # characters of an experiment name (it names the results folder)
MAX_POINTS = 10_000  # a larger grid needs confirmation (--yes; confirm=True)


def check_name(name, source: str | None = None) -> str:
    """An experiment name becomes a folder under the results directory: a plain, short file name."""
    reason = None
    if not isinstance(name, str) or not name.strip():
        reason = "a non-empty name is required"
    elif len(name) > MAX_NAME:
        reason = f"longer than {MAX_NAME} characters"
    elif not name.isprintable():
        reason = "holds a control character"
    elif any(sep in name for sep in ("/", "\\", ":")) or name in (".", "..") or name.startswith("."):
        reason = "must be a plain folder name (no '/', '\\', ':' and not starting with '.')"
    if reason:
        raise ConfigError("experiment.name", name, reason, source)
    return name


def _table(data: dict, key: str, kind, what: str, source: str | None):
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(key, value, f"must be {what}", source)
    return value


def experiment_from_dict(data: dict, base_dir=Path("."), source: str | None = None, **overrides) -> Experiment:
    unknown = set(data) - {"experiment", "base", "grid", "points"}
    if unknown:
        raise ConfigError(sorted(unknown)[0], "", "unknown table (expected experiment, base, grid, points)", source)
    confirm = overrides.pop("confirm", False)
    experiment = _table(data, "experiment", dict, "a table ([experiment])", source) or {}
    _table(data, "base", dict, "a table ([base])", source)
    _table(data, "grid", dict, "a table ([grid])", source)
    listed = _table(data, "points", list, "a list of tables ([[points]])", source)
    if listed is not None and not all(isinstance(point, dict) for point in listed):
        raise ConfigError("points", listed, "must be a list of tables ([[points]])", source)
    head = {**experiment, **{k: v for k, v in overrides.items() if v is not None}}
    for key in head:
        if key not in EXPERIMENT_KEYS:
            raise ConfigError(f"experiment.{key}", head[key], "unknown key", source)
    name = check_name(head.get("name"), source)
    for key in ("scenario", "description"):
        if head.get(key) is not None and not isinstance(head[key], str):
            raise ConfigError(f"experiment.{key}", head[key], "must be a string", source)
    reps, batch, seed = head.get("replications", 10), head.get("batch", 5), head.get("seed", 1)
    for key, value, lo in (("replications", reps, 1), ("batch", batch, 1), ("seed", seed, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < lo:
            raise ConfigError(f"experiment.{key}", value, f"must be an integer >= {lo}", source)
    scenario = head.get("scenario")
    scenario = (Path(base_dir) / scenario) if scenario else None
    base = _flatten(data.get("base", {}))
    grid, listed = data.get("grid"), data.get("points")
    if grid and listed:
        raise ConfigError("grid", "", "give either [grid] or [[points]], not both", source)
    if grid:
        keys = list(grid)
        for key in keys:
            if not isinstance(grid[key], list) or not grid[key]:
                raise ConfigError(f"grid.{key}", grid[key], "must be a non-empty list of values", source)
        count = math.prod(len(grid[k]) for k in keys)
        if count > MAX_POINTS and not confirm:
            raise ConfigError("grid", f"{count:,} points", f"more than {MAX_POINTS:,}: confirm with --yes "
                                                             "(confirm=True) to run them all", source)
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]
    elif listed:
        if len(listed) > MAX_POINTS and not confirm:
            raise ConfigError("points", f"{len(listed):,} points", f"more than {MAX_POINTS:,}: confirm with --yes "
                                                                     "(confirm=True) to run them all", source)
        points = [_flatten(p) for p in listed]
        keys = sorted({k for p in points for k in p})
    else:
        points, keys = [{}], []
    exp = Experiment(name, head.get("description", ""), scenario, reps, batch, seed, base, points, keys)
    keep = []
    for index in range(len(points)):
        try:
            exp.config(index)
            keep.append(points[index])
        except (ConfigError, ScenarioError) as err:
            if not head.get("skip_invalid"):
                raise ConfigError(f"point {index} {json.dumps(points[index])}", "", str(err), source) from None
    exp.points = keep
    return exp


def _flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def manifest(exp: Experiment) -> dict:
    spec = exp.spec()
    return {
        "experiment": spec,
        "experiment_sha256": hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
        "kafkasim_version": __version__,
        "git_revision": _git_revision(),
        "root_seed": exp.seed,
        "configs": [exp.config(i).to_dict() for i in range(len(exp.points))],
        "python": platform.python_version(),
        "packages": _versions("numpy", "simpy", "matplotlib", "scipy", "dask", "distributed", "pandas"),
    }


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions(*names) -> dict:
    from importlib import metadata
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def columns(exp: Experiment) -> list[str]:
    return ["point", "batch", "rep", "seed", *exp.factors, *METRICS]


def run_sweep(exp: Experiment, out_dir="results", jobs=None, scheduler=None, resume=False, progress=None,
              executor=None, overwrite=False) -> SweepResult:
    """Run every task not done yet, appending rows as tasks complete; returns the summary per point.
    Results already in out_dir/NAME: `resume` continues them (nothing done is run again), `overwrite`
    deletes them first; without either, the sweep refuses to start (StoreError)."""
    import concurrent.futures as cf

    if resume and overwrite:
        raise StoreError("resume and overwrite exclude each other (resume keeps the results there, overwrite "
                         "deletes them)")
    store = ResultsStore(Path(out_dir) / exp.name, columns(exp))
    tasks = exp.tasks()
    sizes = {(point, batch): len(reps) for point, batch, reps in tasks}
    if resume:
        done = store.resume(manifest(exp), sizes)
    else:
        if overwrite:
            store.remove()
        store.create(manifest(exp))
        done = set()
    todo = [t for t in tasks if (t[0], t[1]) not in done]
    configs = {point: exp.config(point) for point in range(len(exp.points))}
    bar = _progress(len(tasks), len(done), progress)

    def factor_values(point):
        """What `point` ran with for every factor, also those it leaves at the base or default value."""
        values = {}
        for factor in exp.factors:
            if factor in exp.points[point] or factor in exp.base:
                values[factor] = exp.points[point].get(factor, exp.base.get(factor))
            else:
                values[factor] = configs[point][factor] if factor in configs[point] else ""
        return values

    def run(pool, window):
        """Keep `window` tasks in flight; write each task's rows as soon as it completes."""
        pending = iter(todo)
        running: dict = {}
        while True:
            for point, batch, reps in pending:
                running[pool.submit(run_batch, configs[point], point, batch, reps)] = point
                if len(running) >= window:
                    break
            if not running:
                return
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: running[f]):
                point = running.pop(future)
                rows = future.result()
                store.append([{**row, **factor_values(point)} for row in rows])
                bar.update(1, len(rows))

    width = 1 if jobs == 1 else 2 * (jobs or default_jobs())
    try:
        if executor is not None:
            run(executor, 1 if isinstance(executor, InProcessExecutor) else 2 * default_jobs())
        else:
            with make_executor(jobs, scheduler) as pool:
                run(pool, width)
    finally:
        bar.close()
    write_parquet(store)
    return summarize_store(exp, store)


def write_parquet(store: ResultsStore) -> Path | None:
    """rows.parquet beside rows.csv when pandas and pyarrow are installed (the `data` extra)."""
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    path = store.dir / "rows.parquet"
    pd.read_csv(store.rows_path).to_parquet(path, index=False)
    return path


def summarize_store(exp: Experiment, store: ResultsStore) -> SweepResult:
    rows = store.read()
    by_point: dict[int, list] = {}
    for row in rows:
        by_point.setdefault(int(row["point"]), []).append(row)
    results = {i: {"point": exp.points[i], "estimate": summarize(by_point.get(i, []))}
               for i in range(len(exp.points)) if by_point.get(i)}
    return SweepResult(results, exp, store)


class _Progress:
    """Tasks done and replications per second (sim/progress.py: a bar on a terminal, lines otherwise)."""

    def __init__(self, total: int, initial: int, enabled):
        self.bar = Progress(total, "tasks", "kafkasim sweep", enabled, initial=initial)
        self.reps = 0

    def update(self, tasks: int, reps: int) -> None:
        self.reps += reps
        elapsed = time.monotonic() - self.bar.started
        self.bar.update(tasks, f"{self.reps / elapsed:.1f} rep/s" if elapsed > 0 else "")

    def close(self) -> None:
        self.bar.close()


def _progress(total, initial, enabled) -> _Progress:
    return _Progress(total, initial, enabled)
