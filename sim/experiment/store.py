"""ResultsStore: an experiment's rows on disk, appended as tasks complete, resumable.

results/NAME/rows.csv holds one row per replication (a task writes all its rows in one write,
then flushes and fsyncs), results/NAME/manifest.json describes the experiment. On --resume a
torn last line is cut off and a task whose rows are incomplete is dropped, so it runs again:
nothing completed is recomputed, lost or written twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path


OUTPUTS = ("rows.csv", "manifest.json", "rows.parquet", "summary.txt", "rates.png", "outcomes.png", "demo.png")


class StoreError(Exception):
    pass


class ResultsStore:
    """The rows.csv and manifest.json of one experiment."""

    def __init__(self, directory, columns: list[str]):
        self.dir = Path(directory)
        self.columns = list(columns)
        self.rows_path = self.dir / "rows.csv"
        self.manifest_path = self.dir / "manifest.json"

    # -- opening ---------------------------------------------------------------------------
    def create(self, manifest: dict) -> None:
        if self.rows_path.exists():
            raise StoreError(f"{self.dir}: results exist already (use --resume to continue or --overwrite to start "
                             "again; from Python: resume=True or overwrite=True)")
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _write_atomically(self.rows_path, _csv_line(self.columns))

    def remove(self) -> None:
        """Delete the files a sweep writes here (and nothing else in the directory)."""
        for name in OUTPUTS:
            (self.dir / name).unlink(missing_ok=True)

    def resume(self, manifest: dict, batch_sizes: dict) -> set:
        """Repair what a kill left and return the (point, batch) keys already complete."""
        if not self.rows_path.exists() or not self.manifest_path.exists():
            raise StoreError(f"{self.dir}: nothing to resume")
        old = json.loads(self.manifest_path.read_text())
        if old.get("experiment") != manifest.get("experiment"):
            raise StoreError(f"{self.dir}: the experiment changed since these results were written")
        rows = self._read_complete_lines()
        groups: dict = {}
        for row in rows:
            groups.setdefault((int(row["point"]), int(row["batch"])), []).append(row)
        done = {key for key, members in groups.items()
                if len({int(r["rep"]) for r in members}) == batch_sizes.get(key, -1) == len(members)}
        kept = [row for row in rows if (int(row["point"]), int(row["batch"])) in done]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        _write_atomically(self.rows_path, buf.getvalue())
        return done

    def _read_complete_lines(self) -> list[dict]:
        text = self.rows_path.read_text()
        lines = text.split("\n")
        if lines and lines[-1] != "":
            lines = lines[:-1]  # a torn last line (the writer was killed mid-write)
        header = next(csv.reader([lines[0]])) if lines else []
        if header != self.columns:
            raise StoreError(f"{self.rows_path}: columns differ from this experiment's")
        rows = []
        for values in csv.reader(lines[1:]):
            if len(values) == len(self.columns):
                rows.append(dict(zip(self.columns, values, strict=True)))
        return rows

    # -- writing ------------------------------------------------------------------------------
    def append(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n", extrasaction="ignore")
        writer.writerows(rows)
        with open(self.rows_path, "a", newline="") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())

    def read(self) -> list[dict]:
        return self._read_complete_lines()


def _csv_line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
